// The per-user upload limits: uploads per minute, and bytes per day (a window of 24 h from a
// user's first upload in it). Kept where every business instance sees them — Redis when there
// is one — on rate-limiter-flexible. The shape is the hardening work's `Limiter`
// (engine/limits), so these can move there unchanged.
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from "rate-limiter-flexible";
import type { FilesConfig } from "../../config/index.js";
import { RedisEngine } from "../../engine/redis/redis-engine.js";
import type { Engine } from "../../engine/types.js";

export type Verdict = { ok: true } | { ok: false; retryAfterS: number };

export interface Limiter {
  /** Counts `points` against the key; refused once the window's total passes the rule. */
  take(key: string, points?: number): Promise<Verdict>;
  /** Takes back points counted by `take` (an attempt that turned out not to count). */
  giveBack(key: string, points?: number): Promise<void>;
}

export interface UploadLimits {
  uploads: Limiter;
  bytes: Limiter;
}

class FlexibleLimiter implements Limiter {
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

export function uploadLimits(
  engine: Engine,
  config: Pick<FilesConfig, "uploadsPerMin" | "quotaBytesPerDay">,
): UploadLimits {
  const make = (name: string, points: number, duration: number): Limiter =>
    new FlexibleLimiter(
      engine instanceof RedisEngine
        ? new RateLimiterRedis({
            storeClient: engine.redis,
            keyPrefix: engine.keys.limit(name),
            points,
            duration,
          })
        : new RateLimiterMemory({ keyPrefix: name, points, duration }),
    );
  return {
    uploads: make("file-uploads", config.uploadsPerMin, 60),
    bytes: make("file-bytes", config.quotaBytesPerDay, 24 * 3600),
  };
}
