// Picks the engine for a configuration: the embedded twin without REDIS_URL, Redis with it —
// one server (`redis://…`) or a Redis Cluster (`redis+cluster://host:port,…`), which
// RedisEngine.connect tells apart by the URL's scheme (engine/redis/connection.ts).
import type { Config } from "../config/index.js";
import { MemoryEngine } from "./memory-engine.js";
import { RedisEngine } from "./redis/redis-engine.js";
import type { Engine } from "./types.js";

export async function createEngine(
  config: Pick<Config, "redisUrl" | "redisPrefix">,
): Promise<Engine> {
  if (config.redisUrl === undefined) return new MemoryEngine();
  return RedisEngine.connect({ url: config.redisUrl, prefix: config.redisPrefix });
}
