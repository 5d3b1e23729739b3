// The webhook queue on Redis: durable, shared by every business instance, judged by Redis'
// clock. Each step is one Lua script over the queue's keys (all of the {webhook} tag, so it
// runs on a cluster too): an event is in `due` (by due time) or in `leased` (by lease
// deadline), its record in `events`. A claim moves due events, and those whose lease ran out,
// into `leased`; a retry moves one back to `due` only if its lease is still the caller's.
import type { Result } from "ioredis";
import type { RedisClient } from "../../engine/redis/connection.js";
import type { RedisKeys } from "../../engine/redis/keys.js";
import { DONE_RETENTION_MS, type Claimed, type WebhookQueue } from "./queue.js";

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const scripts = {
  /** KEYS events, due, done · ARGV id, body → 1 queued, 0 already queued or done lately. */
  heraldWebhookAdd: {
    numberOfKeys: 3,
    lua: `${NOW}
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', now) .. ' ' .. ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
return 1`,
  },
  /**
   * KEYS due, leased, events, attempts · ARGV max, leaseMs → [now, lease, id, record, attempts,
   * …]: first the events whose lease ran out (their holder died or hung) are due again.
   */
  heraldWebhookClaim: {
    numberOfKeys: 4,
    lua: `${NOW}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], now, id)
end
local lease = now + tonumber(ARGV[2])
local out = {now, lease}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))) do
  redis.call('ZREM', KEYS[1], id)
  local record = redis.call('HGET', KEYS[3], id)
  if record then
    redis.call('ZADD', KEYS[2], lease, id)
    out[#out + 1] = id
    out[#out + 1] = record
    out[#out + 1] = redis.call('HINCRBY', KEYS[4], id, 1)
  end
end
return out`,
  },
  /** KEYS leased, due · ARGV id, lease, delayMs → 1, or 0 when the lease is no longer this one. */
  heraldWebhookRetry: {
    numberOfKeys: 2,
    lua: `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1`,
  },
  /** KEYS leased, due, events, attempts, done · ARGV id, retentionMs: forgets it, remembers it done. */
  heraldWebhookFinish: {
    numberOfKeys: 5,
    lua: `${NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[5], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[2]))
return 1`,
  },
} as const;

// ioredis' documented way to type commands added by defineCommand.
declare module "ioredis" {
  interface RedisCommander<Context> {
    heraldWebhookAdd(
      events: string,
      due: string,
      done: string,
      id: string,
      body: string,
    ): Result<number, Context>;
    heraldWebhookClaim(
      due: string,
      leased: string,
      events: string,
      attempts: string,
      max: number,
      leaseMs: number,
    ): Result<(number | string)[], Context>;
    heraldWebhookRetry(
      leased: string,
      due: string,
      id: string,
      lease: number,
      delayMs: number,
    ): Result<number, Context>;
    heraldWebhookFinish(
      leased: string,
      due: string,
      events: string,
      attempts: string,
      done: string,
      id: string,
      retentionMs: number,
    ): Result<number, Context>;
  }
}

export class RedisWebhookQueue implements WebhookQueue {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    for (const [name, { numberOfKeys, lua }] of Object.entries(scripts))
      redis.defineCommand(name, { numberOfKeys, lua });
  }

  async add(id: string, body: string): Promise<boolean> {
    const k = this.keys;
    const added = await this.redis.heraldWebhookAdd(
      k.webhook("events"),
      k.webhook("due"),
      k.webhook("done"),
      id,
      body,
    );
    return added === 1;
  }

  async claim(max: number, leaseMs: number): Promise<Claimed[]> {
    const k = this.keys;
    const [now, lease, ...flat] = await this.redis.heraldWebhookClaim(
      k.webhook("due"),
      k.webhook("leased"),
      k.webhook("events"),
      k.webhook("attempts"),
      max,
      leaseMs,
    );
    const claimed: Claimed[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const record = String(flat[i + 1]);
      const space = record.indexOf(" ");
      claimed.push({
        id: String(flat[i]),
        body: record.slice(space + 1),
        queuedAt: Number(record.slice(0, space)),
        claimedAt: Number(now),
        attempts: Number(flat[i + 2]),
        lease: Number(lease),
      });
    }
    return claimed;
  }

  async retry(event: Claimed, delayMs: number): Promise<boolean> {
    const k = this.keys;
    const moved = await this.redis.heraldWebhookRetry(
      k.webhook("leased"),
      k.webhook("due"),
      event.id,
      event.lease,
      Math.round(delayMs),
    );
    return moved === 1;
  }

  async finish(id: string): Promise<void> {
    const k = this.keys;
    await this.redis.heraldWebhookFinish(
      k.webhook("leased"),
      k.webhook("due"),
      k.webhook("events"),
      k.webhook("attempts"),
      k.webhook("done"),
      id,
      DONE_RETENTION_MS,
    );
  }

  depth(): Promise<number> {
    return this.redis.hlen(this.keys.webhook("events"));
  }
}
