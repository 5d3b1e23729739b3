// The bus in this process's memory, for a single node with no Redis.
import type { Bus, Unsubscribe } from "./types.js";

export class MemoryBus implements Bus {
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  /** claim key → when it may be claimed again */
  private readonly claims = new Map<string, number>();

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if ((this.claims.get(key) ?? 0) > now) return false;
    if (this.claims.size > 10_000) {
      for (const [k, until] of this.claims) if (until <= now) this.claims.delete(k);
    }
    this.claims.set(key, now + ttlMs);
    return true;
  }

  async publish(topic: string, payload: string): Promise<number> {
    const set = this.handlers.get(topic);
    if (!set) return 0;
    // Delivered on a later tick, as over Redis: a publisher never re-enters a subscriber.
    for (const handler of set) queueMicrotask(() => handler(payload));
    // This process is one subscriber however many handlers it has, as one Redis connection is.
    return 1;
  }

  async subscribers(topic: string): Promise<number> {
    return this.handlers.has(topic) ? 1 : 0; // one process, one subscriber (as in publish)
  }

  async subscribe(topic: string, handler: (payload: string) => void): Promise<Unsubscribe> {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    const own = (payload: string) => handler(payload);
    set.add(own);
    return async () => {
      set.delete(own);
      if (set.size === 0) this.handlers.delete(topic);
    };
  }
}
