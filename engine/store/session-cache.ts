// Sessions of the PostgreSQL store, cached in Redis: every request reads its session, and a
// Redis GET (written together with the other requests' Redis commands of the turn) costs far
// less than a PostgreSQL round trip. A logout or force offline still holds at once on every
// business instance, because they all read the one cache and revoking overwrites the entry with
// a marker before the row is deleted, while a fill never replaces anything (SET NX). Both carry
// absolute expiry times taken from the session's row: a fill expires by the session's expiry at
// the latest, and a marker lasts past it, so a fill from a read made before a revocation (however
// late it reaches Redis) either finds the marker or expires on arrival.
import type { UserId } from "../protocol.js";
import { eachInOneStage, type RedisClient } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";

/** What get() finds: the session's user, the revocation marker, or nothing cached. */
export type CachedSession = UserId | typeof REVOKED | null;

/** A session as its row has it: `expiresAt` in ms since the epoch. */
export interface SessionExpiry {
  sessionId: string;
  expiresAt: number;
}

export interface SessionCache {
  get(sessionId: string): Promise<CachedSession>;
  /** Caches a session read from its row; leaves a cached entry or a marker as it is. A failed
   * fill only means no cache. */
  fill(session: SessionExpiry, userId: UserId): void;
  /** Marks the sessions revoked, on every instance at once; rejects if it could not. */
  revoke(sessions: readonly SessionExpiry[]): Promise<void>;
}

/** The marker's value (user ids are UUIDs, never this). */
export const REVOKED = "revoked";
/**
 * How long a session stays cached before its row is read again. Short, because Redis can lose
 * a marker (a failover to a replica that had not got it, a restore from an older snapshot,
 * eviction): a session revoked then would be back for at most this long.
 */
export const CACHED_FOR_MS = 60_000;
/** A marker outlives its session's expiry by this much (clocks of the processes differ). */
const MARKER_MARGIN_MS = 60_000;

export class RedisSessionCache implements SessionCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  get(sessionId: string): Promise<CachedSession> {
    return this.redis.get(this.keys.cachedSession(sessionId));
  }

  fill({ sessionId, expiresAt }: SessionExpiry, userId: UserId): void {
    const until = Math.floor(Math.min(expiresAt, Date.now() + CACHED_FOR_MS));
    this.redis
      .set(this.keys.cachedSession(sessionId), userId, "PXAT", until, "NX")
      .catch(() => null);
  }

  async revoke(sessions: readonly SessionExpiry[]): Promise<void> {
    if (sessions.length === 0) return;
    // One SET per session: on a cluster each session's key is in a slot of its own.
    await eachInOneStage(this.redis, sessions, (p, { sessionId, expiresAt }) =>
      p.set(
        this.keys.cachedSession(sessionId),
        REVOKED,
        "PXAT",
        Math.ceil(expiresAt + MARKER_MARGIN_MS),
      ),
    );
  }
}
