// Counters for rate limits and quotas, kept where every business instance sees them (Redis when
// there is one). Twins: ./memory.ts, ./redis.ts, both on rate-limiter-flexible (./flexible.ts).

/** At most `points` per fixed window of `durationS` seconds, per key. */
export interface LimitRule {
  points: number;
  durationS: number;
}

export type Verdict = { ok: true } | { ok: false; retryAfterS: number };

export interface Limiter {
  /** Counts `points` against the key; refused once the window's total passes the rule. */
  take(key: string, points?: number): Promise<Verdict>;
  /** Takes back points counted by `take` (an attempt that turned out not to count). */
  giveBack(key: string, points?: number): Promise<void>;
}

export interface Limits {
  /** The limiter of that name: every holder of a name (and rule) shares its counts, across
   * processes when the twin is shared; different names never share a count. */
  limiter(name: string, rule: LimitRule): Limiter;
}
