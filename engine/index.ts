// Picks the engine for a configuration: the embedded twin without REDIS_URL, Redis with it —
// one server (`redis://…`) or a Redis Cluster (`redis+cluster://host:port,…`), which
// RedisEngine.connect tells apart by the URL's scheme (engine/redis/connection.ts). With
// DATABASE_URL the store is PostgreSQL over either (engine/postgres/).
import type { Config } from "../config/index.js";
import { MemoryEngine } from "./memory-engine.js";
import { PostgresStoreEngine } from "./postgres/postgres-engine.js";
import { RedisEngine } from "./redis/redis-engine.js";
import type { Engine } from "./types.js";

export async function createEngine(
  config: Pick<Config, "redisUrl" | "redisPrefix" | "databaseUrl" | "databasePoolSize">,
): Promise<Engine> {
  const base =
    config.redisUrl === undefined
      ? new MemoryEngine()
      : await RedisEngine.connect({ url: config.redisUrl, prefix: config.redisPrefix });
  if (config.databaseUrl === undefined) return base;
  return PostgresStoreEngine.open(base, {
    url: config.databaseUrl,
    poolSize: config.databasePoolSize,
  });
}
