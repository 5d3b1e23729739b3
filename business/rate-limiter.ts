// Two small in-process limiters: a token bucket per session, and a failure counter per username
// for logins. Both take a clock so tests can move time without sleeping, and both forget idle
// keys so their maps stay bounded by the active population.

export type Clock = () => number;

/** How many keys a limiter holds before it sweeps out the idle ones. */
const SWEEP_AT = 10_000;

export interface BucketOptions {
  /** Requests allowed at once after a quiet spell. */
  burst: number;
  /** Tokens refilled per second: the sustained rate. */
  perSecond: number;
}

export type Verdict = { ok: true } | { ok: false; retryAfterS: number };

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly options: BucketOptions,
    private readonly clock: Clock = Date.now,
  ) {}

  take(key: string): Verdict {
    const now = this.clock();
    const { burst, perSecond } = this.options;
    const bucket = this.buckets.get(key);
    let tokens = burst;
    if (bucket) tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    else if (this.buckets.size >= SWEEP_AT) this.sweep(now);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    return { ok: true };
  }

  /** A bucket that would be full again is the same as no bucket. */
  private sweep(now: number): void {
    const refillMs = (this.options.burst / this.options.perSecond) * 1000;
    for (const [key, bucket] of this.buckets)
      if (now - bucket.at >= refillMs) this.buckets.delete(key);
  }
}

export interface FailureOptions {
  /** Failures allowed within the window; the next attempt is refused. */
  max: number;
  windowMs: number;
}

export class FailureLimiter {
  /** key → failure times, oldest first, at most `max` kept. */
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly options: FailureOptions,
    private readonly clock: Clock = Date.now,
  ) {}

  check(key: string): Verdict {
    const now = this.clock();
    const recent = this.recent(key, now);
    if (recent.length < this.options.max) return { ok: true };
    const retryAfterMs = recent[0]! + this.options.windowMs - now;
    return { ok: false, retryAfterS: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
  }

  fail(key: string): void {
    const now = this.clock();
    if (!this.failures.has(key) && this.failures.size >= SWEEP_AT) this.sweep(now);
    const recent = this.recent(key, now);
    recent.push(now);
    if (recent.length > this.options.max) recent.shift();
    this.failures.set(key, recent);
  }

  /** Takes back the newest failure of `key`: the attempt that recorded it succeeded. */
  forgive(key: string): void {
    const times = this.failures.get(key);
    times?.pop();
    if (times?.length === 0) this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    const times = this.failures.get(key) ?? [];
    const cutoff = now - this.options.windowMs;
    while (times.length > 0 && times[0]! <= cutoff) times.shift();
    return times;
  }

  private sweep(now: number): void {
    const cutoff = now - this.options.windowMs;
    for (const [key, times] of this.failures)
      if (times.length === 0 || times[times.length - 1]! <= cutoff) this.failures.delete(key);
  }
}
