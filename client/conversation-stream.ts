// The SDK's ordering promise and its fold: every stored item reaches the SDK exactly once, in seq
// order per conversation, whether it came as a push, as the sender's own 202, or from history
// after a gap; the app then sees each message once, and edits, recalls and reactions only for
// messages it has (CONTRACT.md "Conversation streams").
import type {
  EditItem,
  MessageItem,
  ReactionCount,
  RecallItem,
  ReactionItem,
  StreamItem,
  UserId,
} from "../engine/protocol.js";

/** A reaction as the app sees it: the item, and the target's reactions after it. */
export interface ReactionEvent extends ReactionItem {
  reactions: ReactionCount[];
}

/** What the fold hands the app, told apart by `kind`. */
export type FoldedItem = MessageItem | EditItem | RecallItem | ReactionEvent;

/**
 * One page of a conversation's history: items with seq > after, in seq order, at most `limit`.
 * null when the conversation can no longer be read (e.g. the user left the channel).
 */
export type FetchPage = (key: string, after: number, limit: number) => Promise<StreamItem[] | null>;

export interface ConversationStreamsOptions {
  fetchPage: FetchPage;
  /** Called once per message, then per edit, recall or reaction of a message the app has. */
  emit: (key: string, item: FoldedItem) => void;
  /** Called for every item, once, in seq order, whether or not the app hears of it. */
  ordered?: (key: string, item: StreamItem) => void;
  /** The caller, for the `me` of reactions. */
  me?: () => UserId | undefined;
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
  /** A fill failed (network, 5xx); the buffered items wait for the next catchUp or gap. */
  onFillError?: (key: string, error: unknown) => void;
}

/** An item waiting past a gap, with the seq its state is current as of (see KnownMessage). */
interface Waiting {
  item: StreamItem;
  asOf: number;
}

interface Conversation {
  key: string;
  /** Seq of the last item passed on. */
  cursor: number;
  /** Items past a gap, by seq, waiting for the gap to close. */
  buffer: Map<number, Waiting>;
  /** Highest seq known to be stored (from the server's conversation list). */
  target: number;
  filling: Promise<void> | null;
  timer: ReturnType<typeof setTimeout> | null;
  /**
   * Met mid-stream through an item, nothing passed on yet: pushes can overtake each other, so
   * for the gap grace the start may still move down to the earliest item seen.
   */
  provisional: boolean;
}

/**
 * A message the app has. `asOf`: the highest seq already folded into this state — a pushed
 * message is as sent (its own seq); history shows the current state, which already holds every
 * item stored before the read (bounded below by what was known then: a change stored during the
 * read itself may still be folded twice, the one race left).
 */
interface KnownMessage {
  key: string;
  asOf: number;
  recalled: boolean;
  reactions: ReactionCount[];
}

/** Messages remembered for dedup and folding; beyond it the oldest stop getting events. */
const KNOWN_MESSAGES = 4096;

export class ConversationStreams {
  private readonly conversations = new Map<string, Conversation>();
  private readonly known = new Map<string, KnownMessage>();
  private readonly opts: ConversationStreamsOptions;
  private readonly pageSize: number;
  private readonly gapGraceMs: number;
  private readonly startsAtZero: (key: string) => boolean;
  private baselined = false;
  private disposed = false;

  constructor(opts: ConversationStreamsOptions) {
    this.opts = opts;
    this.pageSize = opts.pageSize ?? 200;
    this.gapGraceMs = opts.gapGraceMs ?? 100;
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

  /** An item from a push or from the sender's own 202. Never throws, never waits. */
  accept(key: string, item: StreamItem): void {
    if (this.disposed) return;
    let c = this.conversations.get(key);
    if (!c) {
      c = this.create(key, this.startFor(key, item.seq - 1));
      if (this.baselined && c.cursor > 0 && this.gapGraceMs > 0) this.startProvisionally(c);
    }
    if (c.provisional) {
      c.cursor = Math.min(c.cursor, item.seq - 1);
      c.buffer.set(item.seq, { item, asOf: item.seq });
      return;
    }
    this.apply(c, { item, asOf: item.seq });
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

  /** Items the server sent after this conversation's cursor (a sync); catchUp fetches the rest. */
  synced(key: string, items: readonly StreamItem[]): void {
    const c = this.conversations.get(key);
    if (c && !this.disposed) this.applyPage(c, items);
  }

  /**
   * Messages the app read from history itself: later edits, recalls and reactions fold onto
   * them, and their pushes are not emitted again.
   */
  loaded(key: string, items: readonly StreamItem[]): void {
    if (this.disposed) return;
    const c = this.conversations.get(key);
    const asOf = this.pageAsOf(c, items);
    for (const item of items) {
      if (item.kind !== "message") continue;
      const had = this.known.get(item.id);
      if (!had || had.asOf < asOf) this.remember(key, item, asOf);
    }
  }

  /** The conversation of a message the app has. */
  keyOf(messageId: string): string | undefined {
    return this.known.get(messageId)?.key;
  }

  /** Last seq passed on per conversation, for the app to persist. */
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

  /** Passes `w` on if it is next, buffers it if it is past a gap, drops it if already passed. */
  private apply(c: Conversation, w: Waiting): void {
    const { item } = w;
    if (item.seq <= c.cursor) return;
    if (item.seq !== c.cursor + 1) {
      if (!c.buffer.has(item.seq)) c.buffer.set(item.seq, w);
      return;
    }
    this.deliver(c, w);
    for (let next = c.buffer.get(c.cursor + 1); next; next = c.buffer.get(c.cursor + 1)) {
      c.buffer.delete(next.item.seq);
      this.deliver(c, next);
    }
  }

  /** History items, in current state: as of at least the end of what was known at the read. */
  private applyPage(c: Conversation, items: readonly StreamItem[]): void {
    const asOf = this.pageAsOf(c, items);
    for (const item of items) this.apply(c, { item, asOf });
  }

  private pageAsOf(c: Conversation | undefined, items: readonly StreamItem[]): number {
    let asOf = c ? Math.max(c.cursor, this.wanted(c)) : 0;
    for (const item of items) asOf = Math.max(asOf, item.seq);
    return asOf;
  }

  /** Holds a conversation met mid-stream for the gap grace; its earliest item then starts it. */
  private startProvisionally(c: Conversation): void {
    c.provisional = true;
    c.timer = setTimeout(() => {
      c.timer = null;
      if (this.disposed || !c.provisional) return;
      c.provisional = false;
      const first = c.buffer.get(c.cursor + 1);
      if (first) {
        c.buffer.delete(first.item.seq);
        this.apply(c, first);
      }
      if (c.buffer.size > 0) this.scheduleFill(c.key, c);
    }, this.gapGraceMs);
  }

  private deliver(c: Conversation, { item, asOf }: Waiting): void {
    c.provisional = false; // a fill (catchUp, idle) got there first
    c.cursor = item.seq;
    this.opts.ordered?.(c.key, item);
    if (item.kind === "message") {
      // Known already: the app loaded it from history (or a server repeated it under a new seq).
      if (this.known.has(item.id)) return;
      this.remember(c.key, item, Math.max(asOf, item.seq));
      this.opts.emit(c.key, item);
      return;
    }
    const folded = this.fold(c.key, item);
    if (folded) this.opts.emit(c.key, folded);
  }

  private remember(key: string, item: MessageItem, asOf: number): void {
    this.known.delete(item.id); // re-inserted last: the bound drops the oldest first
    this.known.set(item.id, {
      key,
      asOf,
      recalled: item.recalled === true,
      reactions: (item.reactions ?? []).map((r) => ({ ...r })),
    });
    if (this.known.size > KNOWN_MESSAGES) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }

  /** The change to a message the app has, or null: unknown target, already folded, or moot. */
  private fold(key: string, item: EditItem | RecallItem | ReactionItem): FoldedItem | null {
    const target = this.known.get(item.target);
    if (!target || target.key !== key || item.seq <= target.asOf || target.recalled) return null;
    target.asOf = item.seq;
    switch (item.kind) {
      case "edit":
        return item;
      case "recall":
        target.recalled = true;
        target.reactions = [];
        return item;
      case "reaction":
        target.reactions = react(target.reactions, item, item.from === this.opts.me?.());
        return { ...item, reactions: target.reactions.map((r) => ({ ...r })) };
    }
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
        const page = await this.opts.fetchPage(key, c.cursor, this.pageSize);
        if (this.disposed) break;
        if (page === null) {
          this.skipGap(c);
          break;
        }
        this.applyPage(c, page);
        // History holds nothing that closes the gap: it is the source of truth, so move past it
        // rather than hold later items back forever.
        if (c.cursor === before) this.skipGap(c);
      }
    } catch (err) {
      this.opts.onFillError?.(key, err);
    } finally {
      // Same synchronous step as the last check of `wanted`, so no raise of the target is lost.
      c.filling = null;
    }
  }

  private skipGap(c: Conversation): void {
    const seqs = [...c.buffer.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const w = c.buffer.get(seq)!;
      c.buffer.delete(seq);
      if (seq <= c.cursor) continue;
      c.cursor = seq - 1;
      this.apply(c, w);
    }
    c.target = Math.min(c.target, c.cursor);
  }
}

/** A message's reactions after one add or remove (`mine`: the caller made it). */
function react(current: readonly ReactionCount[], item: ReactionItem, mine: boolean) {
  const next = current.map((r) => ({ ...r }));
  const at = next.findIndex((r) => r.emoji === item.emoji);
  if (item.op === "add") {
    if (at < 0) next.push({ emoji: item.emoji, count: 1, me: mine });
    else next[at] = { ...next[at]!, count: next[at]!.count + 1, me: next[at]!.me || mine };
    return next;
  }
  if (at < 0) return next;
  const count = next[at]!.count - 1;
  if (count <= 0) next.splice(at, 1);
  else next[at] = { ...next[at]!, count, me: mine ? false : next[at]!.me };
  return next;
}
