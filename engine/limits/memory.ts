// Limits in this process's memory (the embedded engine: one process, so they hold everywhere).
// One limiter per name, as Redis keeps one count per name, whoever asks for it.
import { RateLimiterMemory } from "rate-limiter-flexible";
import { FlexibleLimiter } from "./flexible.js";
import type { LimitRule, Limiter, Limits } from "./types.js";

export class MemoryLimits implements Limits {
  private readonly limiters = new Map<string, Limiter>();

  limiter(name: string, { points, durationS }: LimitRule): Limiter {
    const key = `${name} ${points}/${durationS}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      const counts = new RateLimiterMemory({ keyPrefix: name, points, duration: durationS });
      this.limiters.set(key, (limiter = new FlexibleLimiter(counts)));
    }
    return limiter;
  }
}
