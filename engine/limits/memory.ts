// Limits in this process's memory (the embedded engine: one process, so they hold everywhere).
import { RateLimiterMemory } from "rate-limiter-flexible";
import { FlexibleLimiter } from "./flexible.js";
import type { LimitRule, Limiter, Limits } from "./types.js";

export class MemoryLimits implements Limits {
  limiter(name: string, { points, durationS }: LimitRule): Limiter {
    return new FlexibleLimiter(
      new RateLimiterMemory({ keyPrefix: name, points, duration: durationS }),
    );
  }
}
