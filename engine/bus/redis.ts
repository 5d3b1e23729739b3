// The bus over Redis pub/sub: PUBLISH/SUBSCRIBE on one server, sharded SPUBLISH/SSUBSCRIBE on a
// cluster (engine/redis/connection.ts), so a node's channel lives on one shard.
import {
  publish,
  subscriber,
  subscriberCount,
  type RedisClient,
  type Subscriber,
} from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import type { Bus, Unsubscribe } from "./types.js";

type Handler = (payload: string) => void;

interface Subscription {
  handlers: Set<Handler>;
  /** Settles when Redis acknowledged the SUBSCRIBE. */
  ready: Promise<unknown>;
}

export class RedisBus implements Bus {
  private subscriber: Subscriber | null = null;
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async publish(topic: string, payload: string): Promise<number> {
    return publish(this.redis, this.keys.channel(topic), payload);
  }

  subscribers(topic: string): Promise<number> {
    return subscriberCount(this.redis, this.keys.channel(topic));
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.claim(key), "1", "PX", ttlMs, "NX")) === "OK";
  }

  async subscribe(topic: string, handler: Handler): Promise<Unsubscribe> {
    const channel = this.keys.channel(topic);
    const subscriber = this.connection();
    let subscription = this.subscriptions.get(channel);
    if (!subscription) {
      // Commands on one connection run in order, so a SUBSCRIBE after a pending UNSUBSCRIBE of
      // the same channel leaves it subscribed.
      subscription = { handlers: new Set(), ready: subscriber.subscribe(channel) };
      this.subscriptions.set(channel, subscription);
    }
    // A wrapper per call, so the same function subscribed twice is removed once per unsubscribe.
    const own: Handler = (payload) => handler(payload);
    subscription.handlers.add(own);
    try {
      await subscription.ready;
    } catch (error) {
      subscription.handlers.delete(own);
      if (subscription.handlers.size === 0 && this.subscriptions.get(channel) === subscription)
        this.subscriptions.delete(channel);
      throw error;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      subscription.handlers.delete(own);
      if (subscription.handlers.size > 0 || this.subscriptions.get(channel) !== subscription)
        return;
      this.subscriptions.delete(channel);
      await subscriber.unsubscribe(channel);
    };
  }

  /** The subscriber connection(s), created on first use (a connection in subscribe mode can run
   * nothing else). They re-subscribe by themselves after a reconnect (./connection.ts). */
  private connection(): Subscriber {
    this.subscriber ??= subscriber(this.redis, (channel, payload) => {
      const subscription = this.subscriptions.get(channel);
      if (!subscription) return;
      for (const handler of subscription.handlers) {
        try {
          handler(payload);
        } catch (error) {
          // Surface a handler's bug as the memory twin does, without breaking the other handlers.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    });
    return this.subscriber;
  }

  async close(): Promise<void> {
    this.subscriptions.clear();
    await this.subscriber?.close();
    this.subscriber = null;
  }
}
