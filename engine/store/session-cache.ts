// Sessions of the PostgreSQL store, cached in Redis: every request reads its session, and one
// Redis GET (sent in the turn's one write with the request's other Redis commands) costs far
// less than a PostgreSQL round trip. A logout or force offline still holds at once on every
// business instance, because they all read the one cache and revoking overwrites the entry with
// a marker before the row is deleted, while a fill never replaces anything (SET NX): a request
// that read the row just before the revocation cannot put it back. The one way around that, a
// fill sent after the marker has expired, is closed by sending no fill later than FILL_WINDOW_MS
// after the row was read (the marker lasts REVOKED_FOR_MS, far longer).
import type { UserId } from "../protocol.js";
import { eachInOneStage, type RedisClient } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";

/** What get() finds: the session's user, the revocation marker, or nothing cached. */
export type CachedSession = UserId | typeof REVOKED | null;

export interface SessionCache {
  get(sessionId: string): Promise<CachedSession>;
  /**
   * Caches a session read from the store `readAt` (performance.now()) for up to `ttlMs`;
   * leaves a cached entry or a marker as it is. A failed fill only means no cache.
   */
  fill(sessionId: string, userId: UserId, ttlMs: number, readAt: number): void;
  /** Marks the sessions revoked, on every instance at once; rejects if it could not. */
  revoke(sessionIds: readonly string[]): Promise<void>;
}

/** The marker's value (user ids are UUIDs, never this). */
export const REVOKED = "revoked";
/** How long an active session stays cached between two reads of its row (it is read again
 * after that, so an idle session's entry does not stay in Redis). */
export const CACHED_FOR_MS = 10 * 60_000;
const REVOKED_FOR_MS = 5 * 60_000;
const FILL_WINDOW_MS = 10_000;

export class RedisSessionCache implements SessionCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  get(sessionId: string): Promise<CachedSession> {
    return this.redis.get(this.keys.cachedSession(sessionId));
  }

  fill(sessionId: string, userId: UserId, ttlMs: number, readAt: number): void {
    const ms = Math.floor(Math.min(ttlMs, CACHED_FOR_MS));
    if (ms < 1 || performance.now() - readAt > FILL_WINDOW_MS) return;
    this.redis.set(this.keys.cachedSession(sessionId), userId, "PX", ms, "NX").catch(() => null);
  }

  async revoke(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    // One SET per session: on a cluster each session's key is in a slot of its own.
    await eachInOneStage(this.redis, sessionIds, (p, sessionId) =>
      p.set(this.keys.cachedSession(sessionId), REVOKED, "PX", REVOKED_FOR_MS),
    );
  }
}
