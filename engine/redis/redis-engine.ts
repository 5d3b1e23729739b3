// The Redis engine: every concern's Redis twin over one connection (ioredis 5), state that
// outlives a process and is shared by every business and imServer process. Key and channel
// names come from ./keys.ts only, Lua from ./scripts.ts; expiry is judged by Redis' clock, never
// a process's. One server or a Redis Cluster: what differs is in ./connection.ts.
import { RedisBus } from "../bus/redis.js";
import { RedisLimits } from "../limits/redis.js";
import { RedisMembership } from "../membership/redis.js";
import { RedisPresence } from "../presence/redis.js";
import { RedisStore } from "../store/redis.js";
import { RedisTokens } from "../tokens/redis.js";
import type { Engine } from "../types.js";
import {
  connectError,
  createClient,
  isCluster,
  isRedisFault,
  parseRedisUrl,
  quit,
  redactUrl,
  type RedisClient,
} from "./connection.js";
import { RedisKeys } from "./keys.js";
import { defineScripts } from "./scripts.js";

export class RedisEngine implements Engine {
  readonly kind = "redis";
  /** True over a Redis Cluster (`redis+cluster://…`). */
  readonly cluster: boolean;
  readonly keys: RedisKeys;
  readonly bus: RedisBus;
  readonly tokens: RedisTokens;
  readonly presence: RedisPresence;
  readonly store: RedisStore;
  readonly membership: RedisMembership;
  readonly limits: RedisLimits;

  private constructor(
    /** The command connection (a Cluster over a cluster); `duplicate()` it for anything needing
     * its own connection. */
    readonly redis: RedisClient,
    prefix: string,
  ) {
    this.cluster = isCluster(redis);
    this.keys = new RedisKeys(prefix);
    this.bus = new RedisBus(redis, this.keys);
    this.tokens = new RedisTokens(redis, this.keys);
    this.store = new RedisStore(redis, this.keys);
    this.membership = new RedisMembership(redis, this.keys, this.bus);
    this.presence = new RedisPresence(redis, this.keys, this.membership);
    this.limits = new RedisLimits(redis, this.keys);
  }

  /**
   * Connects and PINGs; rejects with a clear error (and leaves nothing running) if it cannot.
   * `url` is `redis://…` (one server) or `redis+cluster://host:port,host:port…` (a cluster).
   */
  static async connect(options: { url: string; prefix: string }): Promise<RedisEngine> {
    const redis = createClient(parseRedisUrl(options.url));
    // Reconnects on its own; failures surface as rejections. The first socket error names the
    // cause ("ECONNREFUSED") better than connect()'s "Connection is closed".
    let socketError: Error | null = null;
    redis.on("error", (error: unknown) => (socketError ??= connectError(error)));
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      const cause = socketError ?? connectError(error) ?? error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new Error(`cannot reach Redis at ${redactUrl(options.url)}: ${reason}`, {
        cause: error,
      });
    }
    defineScripts(redis);
    return new RedisEngine(redis, options.prefix);
  }

  async ping(): Promise<void> {
    // Fail at once while disconnected instead of queueing until a reconnect.
    if (this.redis.status !== "ready") throw new Error(`redis is ${this.redis.status}`);
    await this.redis.ping();
  }

  isOutage(error: unknown): boolean {
    return isRedisFault(error);
  }

  async close(): Promise<void> {
    await this.bus.close();
    await quit(this.redis);
  }
}
