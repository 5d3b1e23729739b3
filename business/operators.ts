// Operators: the accounts named in IM_ADMINS. Those names are reserved (nobody registers them),
// and their accounts are created or reset only on the server (`npm run admin -- create`, or
// IM_ADMIN_PASSWORD at start on the embedded engine), so nobody gains operator rights by
// registering a name first.
import type { Engine, User } from "../engine/types.js";
import { normalizeUsername, usernameKey } from "../engine/usernames.js";
import { hashPassword, type ScryptCost } from "./passwords.js";
import { endSessionsOf } from "./services/deps.js";

export class OperatorNames {
  private readonly keys: Set<string>;

  constructor(names: readonly string[]) {
    this.keys = new Set(names.map(usernameKey));
  }

  /** Compared as account names are (engine/usernames.ts), so `R00t` is reserved with `root`. */
  includes(username: string): boolean {
    return this.keys.has(usernameKey(username));
  }
}

/**
 * Creates the operator's account, or resets its password if it exists (ending its sessions, so a
 * reset locks out whoever knew the old one).
 */
export async function createOperator(
  engine: Engine,
  username: string,
  password: string,
  cost: ScryptCost,
): Promise<User & { created: boolean }> {
  const name = normalizeUsername(username);
  const hash = await hashPassword(password, cost);
  const created = await engine.store.createUser(name, hash);
  if (created) return { ...created, created: true };
  const existing = await engine.store.userByName(name);
  if (!existing) throw new Error(`the account ${name} vanished while being reset`);
  await engine.store.setPasswordHash(existing.userId, hash);
  await endSessionsOf(engine, existing.userId);
  return { userId: existing.userId, username: existing.username, created: false };
}
