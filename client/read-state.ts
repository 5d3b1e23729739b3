// The caller's unread figures per conversation, kept exact between the server's summaries by
// the stream's items (in seq order) and read cursor moves (CONTRACT.md "Read state").
import type { StreamItem, UserId } from "../engine/protocol.js";

export interface ReadFigures {
  /** The caller's read cursor. */
  readSeq: number;
  /** Messages from others after readSeq. */
  unread: number;
  /** Of those, the ones that mention the caller. */
  mentions: number;
  /** Direct conversations: how far the peer has read. */
  peerReadSeq?: number;
}

/** A conversation's figures as the server summarises them, as of its `lastSeq`. */
export interface ReadSummary extends ReadFigures {
  lastSeq: number;
}

interface Tracked extends ReadFigures {
  /** Every item up to here is in the figures (from a summary, or passed in order since). */
  countedTo: number;
  /** Unread messages after this one are all in `seen`; those before it were only counted. */
  exactFrom: number;
  /** Unread messages from others past exactFrom, in seq order. */
  seen: { seq: number; mention: boolean }[];
}

export class ReadState {
  private readonly tracked = new Map<string, Tracked>();

  /**
   * @param onStale the figures of `key` cannot be worked out locally (a cursor moved into the
   *   part only the server counted): a fresh summary is wanted.
   */
  constructor(
    private readonly me: () => UserId | undefined,
    private readonly onStale: (key: string) => void,
  ) {}

  figures(key: string): ReadFigures | undefined {
    const t = this.tracked.get(key);
    if (!t) return undefined;
    const out: ReadFigures = { readSeq: t.readSeq, unread: t.unread, mentions: t.mentions };
    if (t.peerReadSeq !== undefined) out.peerReadSeq = t.peerReadSeq;
    return out;
  }

  /** The server's figures; an older snapshot than what is already counted changes only peerReadSeq. */
  summary(key: string, s: ReadSummary): void {
    const t = this.tracked.get(key);
    const peerReadSeq = maxOf(t?.peerReadSeq, s.peerReadSeq);
    if (t && (s.lastSeq < t.countedTo || s.readSeq < t.readSeq)) {
      t.peerReadSeq = peerReadSeq;
      return;
    }
    this.tracked.set(key, {
      readSeq: s.readSeq,
      unread: s.unread,
      mentions: s.mentions,
      peerReadSeq,
      countedTo: s.lastSeq,
      exactFrom: s.lastSeq,
      seen: [],
    });
  }

  /** Every stored item once, in seq order: a message from others counts, one of mine reads. */
  item(key: string, item: StreamItem): void {
    let t = this.tracked.get(key);
    if (!t) {
      // Met without a summary: exact only when seen from the very start.
      t = this.start(key, item.seq - 1);
      if (item.seq > 1) this.onStale(key);
    }
    if (item.seq <= t.countedTo) return;
    t.countedTo = item.seq;
    if (item.kind !== "message") return;
    if (item.from === this.me()) {
      // Sending moves the sender's cursor to the message.
      Object.assign(t, { readSeq: item.seq, unread: 0, mentions: 0, seen: [] });
      t.exactFrom = item.seq;
    } else if (item.seq > t.readSeq) {
      const mention = item.mentions?.includes(this.me() ?? "") ?? false;
      t.seen.push({ seq: item.seq, mention });
      t.unread++;
      if (mention) t.mentions++;
    }
  }

  /** The caller's cursor moved to `seq` (on any device); false when it was there already. */
  read(key: string, seq: number): boolean {
    const t = this.tracked.get(key) ?? this.start(key, 0);
    if (seq <= t.readSeq) return false;
    const hidden = t.unread - t.seen.length;
    const hiddenMentions = t.mentions - t.seen.filter((m) => m.mention).length;
    t.readSeq = seq;
    t.seen = t.seen.filter((m) => m.seq > seq);
    const seenMentions = t.seen.filter((m) => m.mention).length;
    if (seq >= t.exactFrom || hidden === 0) {
      t.unread = t.seen.length;
      t.mentions = seenMentions;
      t.exactFrom = Math.max(t.exactFrom, Math.min(seq, t.countedTo));
    } else {
      // Some of the messages only the server counted are now read: how many, it alone knows.
      t.unread = hidden + t.seen.length;
      t.mentions = hiddenMentions + seenMentions;
      this.onStale(key);
    }
    return true;
  }

  /** The DM's peer read up to `seq`; false when nothing changed. */
  peerRead(key: string, seq: number): boolean {
    const t = this.tracked.get(key) ?? this.start(key, 0);
    if (t.peerReadSeq !== undefined && seq <= t.peerReadSeq) return false;
    t.peerReadSeq = seq;
    return true;
  }

  private start(key: string, countedTo: number): Tracked {
    const t: Tracked = {
      readSeq: 0,
      unread: 0,
      mentions: 0,
      countedTo,
      exactFrom: countedTo,
      seen: [],
    };
    this.tracked.set(key, t);
    return t;
  }
}

function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
