// An engine whose store is PostgreSQL: what must last on disk, the rest (bus, tokens, presence,
// membership, limits) from `base` — Redis, or the memory twins on a single node.
import type pg from "pg";
import { RedisEngine } from "../redis/redis-engine.js";
import { PostgresStore } from "../store/postgres.js";
import { RedisSessionCache } from "../store/session-cache.js";
import type { Engine } from "../types.js";
import { isPostgresFault, openPool, type PostgresOptions } from "./connection.js";

export class PostgresStoreEngine implements Engine {
  readonly store: PostgresStore;

  private constructor(
    /** The engine whose bus, tokens, presence, membership and limits this one uses. */
    readonly base: Engine,
    /** The pool the store queries through (tests and tools use it directly). */
    readonly pool: pg.Pool,
  ) {
    // Sessions are cached only where every business instance shares the cache: in Redis. The
    // memory engine serves one process, which then reads each session's row.
    this.store = new PostgresStore(
      pool,
      base instanceof RedisEngine ? new RedisSessionCache(base.redis, base.keys) : undefined,
    );
  }

  /** Opens the pool and applies the pending migrations; closes `base` if that fails. */
  static async open(base: Engine, options: PostgresOptions): Promise<PostgresStoreEngine> {
    try {
      return new PostgresStoreEngine(base, await openPool(options));
    } catch (error) {
      await base.close();
      throw error;
    }
  }

  get kind(): Engine["kind"] {
    return this.base.kind;
  }
  get bus(): Engine["bus"] {
    return this.base.bus;
  }
  get tokens(): Engine["tokens"] {
    return this.base.tokens;
  }
  get presence(): Engine["presence"] {
    return this.base.presence;
  }
  get membership(): Engine["membership"] {
    return this.base.membership;
  }
  get limits(): Engine["limits"] {
    return this.base.limits;
  }

  async ping(): Promise<void> {
    await Promise.all([this.base.ping(), this.pool.query("SELECT 1")]);
  }

  isOutage(error: unknown): boolean {
    return this.base.isOutage(error) || isPostgresFault(error);
  }

  async close(): Promise<void> {
    await this.base.close();
    await this.pool.end();
  }
}
