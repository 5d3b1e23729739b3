// The webhook queue: every undelivered-message event is stored here before it is tried, and
// stays until it is answered (or given up). Twins: ./redis-queue.ts (durable, shared by every
// business instance) and ./memory-queue.ts (the embedded engine: one process, nothing survives
// a restart). A claimed event is leased: no other instance can claim it until the lease ends,
// so two instances never send one event at once, and the event of one that died comes back.
/** An event taken from the queue, leased to the caller until `lease`. */
export interface Claimed {
  id: string;
  /** The raw JSON body, the same on every try (so is its signature). */
  body: string;
  /** When it was queued (the queue's clock, ms). */
  queuedAt: number;
  /** When this claim was made (the queue's clock, ms). */
  claimedAt: number;
  /** Tries so far, this one included. */
  attempts: number;
  /** The lease deadline; it also tells this claim from a later one of the same event. */
  lease: number;
}

export interface WebhookQueue {
  /** Queues an event, due now; false when `id` is queued already or was finished lately. */
  add(id: string, body: string): Promise<boolean>;
  /** Leases up to `max` due events (and those whose lease ran out) for `leaseMs`. */
  claim(max: number, leaseMs: number): Promise<Claimed[]>;
  /** Due again in `delayMs`; false when the lease was lost (another claim has it). */
  retry(event: Claimed, delayMs: number): Promise<boolean>;
  /** Sent or dropped: gone from the queue, and remembered a while as done. */
  finish(id: string): Promise<void>;
  /** Events queued, leased ones included. */
  depth(): Promise<number>;
}

/** How long a finished id is remembered: longer than any business instance takes to hear a node event. */
export const DONE_RETENTION_MS = 10 * 60_000;
