// Single-use connect tokens (the seed's PrevConnectServer). Twins: ./memory.ts, ./redis.ts.
import type { UserId } from "../protocol.js";

export interface ConnectGrant {
  userId: UserId;
  sessionId: string;
  nodeId: string;
}

export type TakeResult =
  { status: "ok"; grant: ConnectGrant } | { status: "invalid" } | { status: "expired" };

export interface Tokens {
  /** A random token (>= 128 bits, base64url) bound to the grant, valid for `ttlMs`. */
  issue(grant: ConnectGrant, ttlMs: number): Promise<string>;
  /** Atomically spends the token: the first call wins, every later one answers `invalid`. */
  take(token: string): Promise<TakeResult>;
  /** Spends every unused token issued for this session (logout). */
  revokeSession(sessionId: string): Promise<void>;
}

/** How long past its expiry a token is remembered, to tell `expired` from `invalid`. */
export const TOKEN_MEMORY_MS = 5 * 60_000;
