// Limits in Redis, shared by every business instance. One key per counter (no hash tag needed:
// rate-limiter-flexible's script touches only that key), so it runs unchanged on a cluster.
import { RateLimiterRedis } from "rate-limiter-flexible";
import type { RedisClient } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import { FlexibleLimiter } from "./flexible.js";
import type { LimitRule, Limiter, Limits } from "./types.js";

export class RedisLimits implements Limits {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  limiter(name: string, { points, durationS }: LimitRule): Limiter {
    return new FlexibleLimiter(
      new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: this.keys.limit(name),
        points,
        duration: durationS,
      }),
    );
  }
}
