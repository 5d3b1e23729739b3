// What every service is built from: no globals, so each app (and each test) has its own.
import type { Config } from "../../config/index.js";
import type { Logger } from "../../config/logger.js";
import type { Engine, User } from "../../engine/types.js";
import { DomainError } from "../errors.js";
import type { BusinessMetrics } from "../metrics.js";
import type { PushClient } from "../push-client.js";

export interface ServiceDeps {
  config: Config;
  engine: Engine;
  push: PushClient;
  metrics: BusinessMetrics;
  logger: Logger;
}

/** The user, or `user_not_found`. */
export async function requireUser(engine: Engine, userId: string): Promise<User> {
  const [user] = await engine.store.usersById([userId]);
  if (!user) throw new DomainError("user_not_found", "no such user");
  return user;
}

/** Ends every session of the user and spends their unused connect tokens. */
export async function endSessionsOf(engine: Engine, userId: string): Promise<void> {
  for (const sessionId of await engine.store.deleteSessionsOf(userId))
    await engine.tokens.revokeSession(sessionId);
}

/**
 * Runs a push after its message is stored. A failed push loses nothing (the message is in
 * history, which the SDK reads on reconnect), so it is logged and counted, never thrown.
 */
export async function pushAfterStore(
  deps: ServiceDeps,
  what: string,
  push: () => Promise<unknown>,
) {
  try {
    await push();
  } catch (err) {
    deps.metrics.pushFailures.inc();
    deps.logger.error({ err, what }, "push failed; the message stays in history");
  }
}
