// Pub/sub between the roles (Centrifuge's Broker). Twins: ./memory.ts, ./redis.ts.

export type Unsubscribe = () => Promise<void>;

/**
 * Topics are logical names (see engine/wire.ts); the Redis twin maps them to channels through
 * engine/redis/keys.ts.
 */
export interface Bus {
  /** Resolves to the number of subscribers that received it (0: nobody listens, e.g. a dead node). */
  publish(topic: string, payload: string): Promise<number>;
  /** Resolves once the subscription is live: a publish after that reaches `handler`. */
  subscribe(topic: string, handler: (payload: string) => void): Promise<Unsubscribe>;
  /**
   * True for the first caller of `key` within `ttlMs`, false for every other: lets several
   * subscribers of one topic (business instances) share its work instead of each doing it.
   */
  claim(key: string, ttlMs: number): Promise<boolean>;
  /** How many subscribers `topic` has now, without publishing (0: a node's topic whose node is gone). */
  subscribers(topic: string): Promise<number>;
}
