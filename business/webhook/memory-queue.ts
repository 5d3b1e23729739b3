// The webhook queue in process memory, for the embedded engine: the same behaviour as the Redis
// twin within one process, and nothing survives a restart (the embedded engine keeps nothing).
import { DONE_RETENTION_MS, type Claimed, type WebhookQueue } from "./queue.js";

interface Entry {
  body: string;
  queuedAt: number;
  attempts: number;
  /** When it is due, or (while leased) when the lease ends. */
  at: number;
  /** The lease deadline while claimed, else null. */
  lease: number | null;
}

export class MemoryWebhookQueue implements WebhookQueue {
  private readonly entries = new Map<string, Entry>();
  /** Finished ids → when. */
  private readonly done = new Map<string, number>();

  constructor(private readonly clock: () => number = Date.now) {}

  async add(id: string, body: string): Promise<boolean> {
    if (this.entries.has(id) || this.done.has(id)) return false;
    const now = this.clock();
    this.entries.set(id, { body, queuedAt: now, attempts: 0, at: now, lease: null });
    return true;
  }

  async claim(max: number, leaseMs: number): Promise<Claimed[]> {
    const now = this.clock();
    const due = [...this.entries]
      .filter(([, entry]) => entry.at <= now)
      .sort(([, a], [, b]) => a.at - b.at)
      .slice(0, max);
    return due.map(([id, entry]) => {
      entry.attempts++;
      entry.at = entry.lease = now + leaseMs;
      const { body, queuedAt, attempts, lease } = entry;
      return { id, body, queuedAt, claimedAt: now, attempts, lease };
    });
  }

  async retry(event: Claimed, delayMs: number): Promise<boolean> {
    const entry = this.entries.get(event.id);
    if (!entry || entry.lease !== event.lease) return false;
    entry.lease = null;
    entry.at = this.clock() + delayMs;
    return true;
  }

  async finish(id: string): Promise<void> {
    const now = this.clock();
    this.entries.delete(id);
    this.done.delete(id);
    this.done.set(id, now);
    // Insertion order is finish order: the oldest are first.
    for (const [old, at] of this.done) {
      if (at > now - DONE_RETENTION_MS) break;
      this.done.delete(old);
    }
  }

  async depth(): Promise<number> {
    return this.entries.size;
  }
}
