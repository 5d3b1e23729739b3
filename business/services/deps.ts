// What every service is built from: no globals, so each app (and each test) has its own.
import type { Config } from "../../config/index.js";
import type { Logger } from "../../config/logger.js";
import type { UserId } from "../../engine/protocol.js";
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

/**
 * Awaits checks run at once and fails as running them one after another would: with the first
 * failure in the order given, not the first in time. Concurrent checks share round trips.
 */
export async function inOrder(checks: readonly Promise<unknown>[]): Promise<void> {
  for (const settled of await Promise.allSettled(checks))
    if (settled.status === "rejected") throw settled.reason;
}

/** Ends every session of the user and spends their unused connect tokens. */
export async function endSessionsOf(engine: Engine, userId: string): Promise<void> {
  for (const sessionId of await engine.store.deleteSessionsOf(userId))
    await engine.tokens.revokeSession(sessionId);
}

/** How many of `members` have a connection. */
export async function onlineCount(engine: Engine, members: readonly UserId[]): Promise<number> {
  if (members.length === 0) return 0;
  const flags = await engine.presence.online(members);
  return flags.filter(Boolean).length;
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
