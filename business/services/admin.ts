// Operators (usernames in IM_ADMINS, compared as account names are): broadcast and force
// offline, which also ends the user's sessions so they must log in again.
import { randomUUID } from "node:crypto";
import type { UserId } from "../../engine/protocol.js";
import { DomainError } from "../errors.js";
import type { OperatorNames } from "../operators.js";
import { endSessionsOf, requireUser, type ServiceDeps } from "./deps.js";

export class AdminService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly operators: OperatorNames,
  ) {}

  async requireAdmin(userId: UserId): Promise<void> {
    const [user] = await this.deps.engine.store.usersById([userId]);
    if (!user || !this.operators.includes(user.username))
      throw new DomainError("forbidden", "operators only");
  }

  async broadcast(from: UserId, content: unknown): Promise<{ id: string; ts: number }> {
    await this.requireAdmin(from);
    const push = { id: randomUUID(), from, broadcast: true as const, content, ts: Date.now() };
    await this.deps.push.broadcast(push);
    return { id: push.id, ts: push.ts };
  }

  /** `user_not_found` before `forbidden`, as the contract orders them. */
  async disconnect(operator: UserId, userId: UserId): Promise<void> {
    await requireUser(this.deps.engine, userId);
    await this.requireAdmin(operator);
    // Sessions first, so the kicked client's reconnect is refused (401), not granted.
    await endSessionsOf(this.deps.engine, userId);
    await this.deps.push.forceOffline(userId, "force_offline");
  }
}
