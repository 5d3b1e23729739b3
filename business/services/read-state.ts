// Read state and catch-up: the caller's cursors (POST /api/read, with `read` pushes that keep
// their devices in step and are the DM read receipt), the conversation list with unread
// figures, and the one-request catch-up of POST /api/sync.
import type { StreamItem, UserId } from "../../engine/protocol.js";
import { conversationKey } from "../../engine/ids.js";
import type { ConversationSummary } from "../../engine/types.js";
import { peerOf, type ConversationAccess, type ConversationTarget } from "./conversation-access.js";
import { pushAfterStore, type ServiceDeps } from "./deps.js";

interface Counts {
  lastSeq: number;
  lastTs: number;
  readSeq: number;
  unread: number;
  mentions: number;
}

export type ConversationView =
  | ({ kind: "direct"; peer: UserId; peerReadSeq: number } & Counts)
  | ({ kind: "channel"; channel: string } & Counts);

export type SyncCursor = ConversationTarget & { seq: number };

export type SyncedConversation = ConversationView & { items?: StreamItem[]; more?: boolean };

export class ReadStateService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: ConversationAccess,
  ) {}

  /** Moves the caller's cursor; a move is pushed to their connections and a DM peer's. */
  async markRead(
    userId: UserId,
    target: ConversationTarget,
    seq: number,
  ): Promise<{ readSeq: number; unread: number }> {
    const { engine, push } = this.deps;
    const ref = await this.access.of(userId, target);
    const { readSeq, unread, moved } = await engine.store.markRead(userId, ref, seq);
    if (moved) {
      const ts = Date.now();
      await pushAfterStore(this.deps, "read", async () => {
        if (ref.kind === "channel") {
          await push.pushTo("read", { userId, channel: ref.name, seq: readSeq, ts }, [userId]);
          return;
        }
        const peer = peerOf(ref, userId);
        await Promise.all([
          push.pushTo("read", { userId, peer, seq: readSeq, ts }, [userId]),
          push.pushTo("read", { userId, peer: userId, seq: readSeq, ts }, [peer]),
        ]);
      });
    }
    return { readSeq, unread };
  }

  /** Newest first; a channel with no message yet sorts last. */
  async conversations(userId: UserId): Promise<ConversationView[]> {
    const summaries = await this.deps.engine.store.conversationsOf(userId);
    return summaries.map((summary) => view(summary, userId));
  }

  /**
   * Every conversation of the caller; those with a cursor also bring their items after it (at
   * most `limit`, `more` when others remain). Cursors of conversations the caller is not in
   * are ignored.
   */
  async sync(
    userId: UserId,
    cursors: readonly SyncCursor[],
    limit: number,
  ): Promise<SyncedConversation[]> {
    const { store } = this.deps.engine;
    const after = new Map<string, number>();
    for (const cursor of cursors) {
      const ref =
        "peer" in cursor
          ? ({ kind: "direct", a: userId, b: cursor.peer } as const)
          : ({ kind: "channel", name: cursor.channel } as const);
      after.set(conversationKey(ref), cursor.seq);
    }
    const summaries = await store.conversationsOf(userId);
    return Promise.all(
      summaries.map(async (summary): Promise<SyncedConversation> => {
        const cursor = after.get(conversationKey(summary.ref));
        const conversation = view(summary, userId);
        if (cursor === undefined) return conversation;
        // A since_join channel: nothing from before the caller joined.
        const floor =
          summary.ref.kind === "channel"
            ? ((await this.access.channelFloor(userId, summary.ref.name)) ?? 0)
            : 0;
        const items = await store.history(summary.ref, Math.max(cursor, floor), limit + 1, userId);
        return { ...conversation, items: items.slice(0, limit), more: items.length > limit };
      }),
    );
  }
}

function view(
  { ref, peerReadSeq, ...counts }: ConversationSummary,
  userId: UserId,
): ConversationView {
  return ref.kind === "channel"
    ? { kind: "channel", channel: ref.name, ...counts }
    : { kind: "direct", peer: peerOf(ref, userId), peerReadSeq: peerReadSeq ?? 0, ...counts };
}
