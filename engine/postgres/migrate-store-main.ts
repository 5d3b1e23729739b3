// `npm run migrate-store`: copies the Redis store named by REDIS_URL / REDIS_PREFIX into the
// PostgreSQL of DATABASE_URL (engine/postgres/migrate-store.ts). Safe to run again.
import { loadConfig } from "../../config/index.js";
import { RedisEngine } from "../redis/redis-engine.js";
import { migrateStore } from "./migrate-store.js";
import { PostgresStoreEngine } from "./postgres-engine.js";
import { MemoryEngine } from "../memory-engine.js";

const config = loadConfig();
if (config.redisUrl === undefined || config.databaseUrl === undefined) {
  console.error("migrate-store needs REDIS_URL (the source) and DATABASE_URL (the target)");
  process.exit(2);
}
const source = await RedisEngine.connect({ url: config.redisUrl, prefix: config.redisPrefix });
const target = await PostgresStoreEngine.open(new MemoryEngine(), {
  url: config.databaseUrl,
  poolSize: config.databasePoolSize,
  queryTimeoutMs: 60_000,
});
try {
  const counts = await migrateStore(source, target);
  console.log(`copied (rows new to PostgreSQL): ${JSON.stringify(counts)}`);
} finally {
  await source.close();
  await target.close();
}
