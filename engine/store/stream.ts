// What both store twins share about a conversation stream: its limits, and how a stored message
// and its state (edited, recalled, reactions) read as the item history shows.
import type { MessageItem, ReactionCount, StreamItem } from "../protocol.js";

/** Distinct emoji a message takes (CONTRACT.md "Conversation streams"). */
export const MAX_EMOJI_PER_MESSAGE = 20;

/** How long a (conversation, sender, clientMsgId) stays taken: the contract's "at least 24 h". */
export const CLIENT_MSG_ID_TTL_S = 24 * 60 * 60;

/** What became of a stored message after it was sent. */
export interface MessageState {
  /** The last edit's content and ts, when edited and not recalled. */
  edit?: { content: unknown; ts: number };
  recalled: boolean;
}

/** The item as history shows it: a message in its current state, `reactions` when it has any. */
export function present(
  item: StreamItem,
  state: MessageState | null,
  reactions: readonly ReactionCount[] = [],
): StreamItem {
  if (item.kind !== "message" || state === null) return { ...item };
  // A recall deleted the content, replyTo, mentions and attachments from storage already.
  if (state.recalled) return { ...item, recalled: true };
  const current: MessageItem = { ...item };
  if (state.edit) {
    current.content = state.edit.content;
    current.editedAt = state.edit.ts;
  }
  if (reactions.length > 0) current.reactions = reactions.map((r) => ({ ...r }));
  return current;
}
