// The `unreadTotal` of a webhook event. SEAM: the conversation-state work keeps read cursors,
// and its unreadTotal (the sum of the user's conversations' `unread`, as GET /api/conversations
// answers) replaces this interim count by being passed as the Webhook's `unreadTotal`.
import type { UserId } from "../../engine/protocol.js";
import type { Store } from "../../engine/types.js";

/** The number of messages a user has not read, across their conversations. */
export type UnreadCounter = (userId: UserId) => Promise<number>;

/** How far back each conversation is read: the interim count is at most this per conversation. */
const LOOK_BACK = 50;

/**
 * Until there are read cursors: in each conversation, the messages from others since the user's
 * own last message (replying is the one sign of reading the store keeps), counting at most
 * LOOK_BACK of the newest.
 */
export function interimUnreadTotal(store: Store): UnreadCounter {
  return async (userId) => {
    let total = 0;
    for (const { ref, lastSeq } of await store.conversationsOf(userId)) {
      const newest = await store.history(ref, Math.max(0, lastSeq - LOOK_BACK), LOOK_BACK);
      let unread = 0;
      for (const message of newest) unread = message.from === userId ? 0 : unread + 1;
      total += unread;
    }
    return total;
  };
}
