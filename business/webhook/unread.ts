// The `unreadTotal` of a webhook event: the sum of the user's conversations' `unread`, the same
// figure GET /api/conversations answers (O(1) per conversation in every store).
import type { UserId } from "../../engine/protocol.js";
import type { Store } from "../../engine/types.js";

/** The number of messages a user has not read, across their conversations. */
export type UnreadCounter = (userId: UserId) => Promise<number>;

export function unreadTotal(store: Store): UnreadCounter {
  return async (userId) =>
    (await store.conversationsOf(userId)).reduce((total, c) => total + c.unread, 0);
}
