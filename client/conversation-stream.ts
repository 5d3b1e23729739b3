// The SDK's ordering promise: each stored message reaches the app exactly once, in seq order per
// conversation, whether it came as a push, as the sender's own 202, or from history after a gap.
import type { MessagePush } from "../engine/protocol.js";

/**
 * One page of a conversation's history: messages with seq > after, in seq order, at most `limit`.
 * null when the conversation can no longer be read (e.g. the user left the channel).
 */
export type FetchPage = (
  key: string,
  after: number,
  limit: number,
) => Promise<MessagePush[] | null>;

export interface ConversationStreamsOptions {
  fetchPage: FetchPage;
  /** Called once per message, in seq order per conversation. */
  emit: (key: string, message: MessagePush) => void;
  /** Last seq the app already has, per conversation key (persisted by the app). */
  cursors?: Record<string, number>;
  /** History page size (the API allows at most 200). */
  pageSize?: number;
  /**
   * How long a gap may stay open before history is fetched: pushes of one conversation can
   * overtake each other between two sends, and the sender's 202 can overtake a push.
   */
  gapGraceMs?: number;
  /**
   * Whether a conversation first met after the baseline starts at seq 0 (all of it is new to the
   * app: a new peer writing). Otherwise it starts where it is first met: a channel joined later
   * should not replay its whole backlog. Default: every conversation starts at 0.
   */
  startsAtZero?: (key: string) => boolean;
  /** A fill failed (network, 5xx); the buffered messages wait for the next catchUp or gap. */
  onFillError?: (key: string, error: unknown) => void;
}

interface Conversation {
  key: string;
  /** Seq of the last message emitted. */
  cursor: number;
  /** Messages past a gap, by seq, waiting for the gap to close. */
  buffer: Map<number, MessagePush>;
  /** Highest seq known to be stored (from the server's conversation list). */
  target: number;
  filling: Promise<void> | null;
  timer: ReturnType<typeof setTimeout> | null;
  /**
   * Met mid-stream through a message, nothing emitted yet: pushes can overtake each other, so
   * for the gap grace the start may still move down to the earliest message seen.
   */
  provisional: boolean;
}

/** Ids remembered for dedup beyond seq, for a server that repeats a message under a new seq. */
const RECENT_IDS = 4096;

export class ConversationStreams {
  private readonly conversations = new Map<string, Conversation>();
  private readonly recentIds = new Set<string>();
  private readonly fetchPage: FetchPage;
  private readonly emit: (key: string, message: MessagePush) => void;
  private readonly pageSize: number;
  private readonly gapGraceMs: number;
  private readonly onFillError: ((key: string, error: unknown) => void) | undefined;
  private readonly startsAtZero: (key: string) => boolean;
  private baselined = false;
  private disposed = false;

  constructor(opts: ConversationStreamsOptions) {
    this.fetchPage = opts.fetchPage;
    this.emit = opts.emit;
    this.pageSize = opts.pageSize ?? 200;
    this.gapGraceMs = opts.gapGraceMs ?? 100;
    this.onFillError = opts.onFillError;
    this.startsAtZero = opts.startsAtZero ?? (() => true);
    for (const [key, cursor] of Object.entries(opts.cursors ?? {})) {
      if (Number.isInteger(cursor) && cursor >= 0) this.create(key, cursor);
    }
    // An app restored from saved cursors already has its baseline: a direct conversation begun
    // while it was away is news to it, so it must not be skipped as "old history".
    if (opts.cursors) this.baselined = true;
  }

  /**
   * The first look at the server's conversations: those the app has no cursor for start at their
   * current lastSeq (their old history is the app's to load). Conversations that appear after
   * this start at 0, so their first messages are emitted.
   */
  baseline(conversations: readonly { key: string; lastSeq: number }[]): void {
    if (this.baselined) return;
    for (const { key, lastSeq } of conversations) {
      if (!this.conversations.has(key)) this.create(key, lastSeq);
    }
    this.baselined = true;
  }

  get isBaselined(): boolean {
    return this.baselined;
  }

  /** A message from a push or from the sender's own 202. Never throws, never waits. */
  accept(key: string, message: MessagePush): void {
    if (this.disposed) return;
    let c = this.conversations.get(key);
    if (!c) {
      c = this.create(key, this.startFor(key, message.seq - 1));
      if (this.baselined && c.cursor > 0 && this.gapGraceMs > 0) this.startProvisionally(c);
    }
    if (c.provisional) {
      if (this.recentIds.has(message.id)) return;
      c.cursor = Math.min(c.cursor, message.seq - 1);
      c.buffer.set(message.seq, message);
      return;
    }
    this.apply(c, message);
    if (c.buffer.size > 0) this.scheduleFill(key, c);
  }

  /** The server says the conversation holds up to `lastSeq`: fetch what is past the cursor. */
  catchUp(key: string, lastSeq: number): Promise<void> {
    if (this.disposed) return Promise.resolve();
    const c = this.conversations.get(key) ?? this.create(key, this.startFor(key, lastSeq));
    c.target = Math.max(c.target, lastSeq);
    if (c.cursor >= this.wanted(c)) return Promise.resolve();
    return this.fill(key, c);
  }

  /** Last seq emitted per conversation, for the app to persist. */
  cursors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, c] of this.conversations) out[key] = c.cursor;
    return out;
  }

  /** Resolves when no fill is running or waiting (bounded: fills only move cursors forward). */
  async idle(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const pending: Promise<void>[] = [];
      for (const [key, c] of this.conversations) {
        if (c.timer) this.fill(key, c);
        if (c.filling) pending.push(c.filling);
      }
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** Stops timers and ignores whatever arrives later. */
  dispose(): void {
    this.disposed = true;
    for (const c of this.conversations.values()) {
      if (c.timer) clearTimeout(c.timer);
      c.timer = null;
    }
  }

  /** The cursor of a conversation met for the first time, whose newest known seq is `now`. */
  private startFor(key: string, now: number): number {
    return this.baselined && this.startsAtZero(key) ? 0 : now;
  }

  private create(key: string, cursor: number): Conversation {
    const c: Conversation = {
      key,
      cursor: Math.max(0, cursor),
      buffer: new Map(),
      target: 0,
      filling: null,
      timer: null,
      provisional: false,
    };
    this.conversations.set(key, c);
    return c;
  }

  /** Emits `message` if it is next, buffers it if it is past a gap, drops it if already seen. */
  private apply(c: Conversation, message: MessagePush): void {
    if (message.seq <= c.cursor || this.recentIds.has(message.id)) return;
    if (message.seq !== c.cursor + 1) {
      if (!c.buffer.has(message.seq)) c.buffer.set(message.seq, message);
      return;
    }
    this.deliver(c, message);
    for (let next = c.buffer.get(c.cursor + 1); next; next = c.buffer.get(c.cursor + 1)) {
      c.buffer.delete(next.seq);
      this.deliver(c, next);
    }
  }

  /** Holds a conversation met mid-stream for the gap grace; its earliest message then starts it. */
  private startProvisionally(c: Conversation): void {
    c.provisional = true;
    c.timer = setTimeout(() => {
      c.timer = null;
      if (this.disposed || !c.provisional) return;
      c.provisional = false;
      const first = c.buffer.get(c.cursor + 1);
      if (first) {
        c.buffer.delete(first.seq);
        this.apply(c, first);
      }
      if (c.buffer.size > 0) this.scheduleFill(c.key, c);
    }, this.gapGraceMs);
  }

  private deliver(c: Conversation, message: MessagePush): void {
    c.provisional = false; // a fill (catchUp, idle) got there first
    c.cursor = message.seq;
    this.recentIds.add(message.id);
    if (this.recentIds.size > RECENT_IDS) {
      const oldest = this.recentIds.values().next().value;
      if (oldest !== undefined) this.recentIds.delete(oldest);
    }
    this.emit(c.key, message);
  }

  /** The highest seq this conversation must reach before it is caught up. */
  private wanted(c: Conversation): number {
    let want = c.target;
    for (const seq of c.buffer.keys()) if (seq > want) want = seq;
    return want;
  }

  private scheduleFill(key: string, c: Conversation): void {
    if (c.filling || c.timer) return;
    if (this.gapGraceMs <= 0) {
      void this.fill(key, c);
      return;
    }
    c.timer = setTimeout(() => {
      c.timer = null;
      if (!this.disposed && c.cursor < this.wanted(c)) void this.fill(key, c);
    }, this.gapGraceMs);
  }

  /** One fill at a time per conversation; a running fill picks up targets raised meanwhile. */
  private fill(key: string, c: Conversation): Promise<void> {
    if (c.timer) {
      clearTimeout(c.timer);
      c.timer = null;
    }
    c.filling ??= this.runFill(key, c);
    return c.filling;
  }

  private async runFill(key: string, c: Conversation): Promise<void> {
    try {
      // Bounded: every round either moves the cursor forward or ends the fill.
      while (!this.disposed && c.cursor < this.wanted(c)) {
        const before = c.cursor;
        const page = await this.fetchPage(key, c.cursor, this.pageSize);
        if (this.disposed) break;
        if (page === null) {
          this.skipGap(c);
          break;
        }
        for (const message of page) this.apply(c, message);
        // History holds nothing that closes the gap: it is the source of truth, so move past it
        // rather than hold later messages back forever.
        if (c.cursor === before) this.skipGap(c);
      }
    } catch (err) {
      this.onFillError?.(key, err);
    } finally {
      // Same synchronous step as the last check of `wanted`, so no raise of the target is lost.
      c.filling = null;
    }
  }

  private skipGap(c: Conversation): void {
    const seqs = [...c.buffer.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const message = c.buffer.get(seq)!;
      c.buffer.delete(seq);
      if (seq <= c.cursor) continue;
      c.cursor = seq - 1;
      this.apply(c, message);
    }
    c.target = Math.min(c.target, c.cursor);
  }
}
