// A rate-limiter-flexible limiter (memory or Redis) as a Limiter: a refusal is a verdict, a store
// failure (Redis down) is thrown as it came.
import { RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Limiter, Verdict } from "./types.js";

export class FlexibleLimiter implements Limiter {
  constructor(private readonly limiter: RateLimiterAbstract) {}

  async take(key: string, points = 1): Promise<Verdict> {
    try {
      await this.limiter.consume(key, points);
      return { ok: true };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return { ok: false, retryAfterS: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
    }
  }

  async giveBack(key: string, points = 1): Promise<void> {
    await this.limiter.reward(key, points);
  }
}
