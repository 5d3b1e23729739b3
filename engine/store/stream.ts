// What both store twins share about a conversation stream: its limits, and how a stored message
// and its state (edited, recalled, reactions) read as the item history shows.
import type { MessageItem, ReactionCount, StreamItem } from "../protocol.js";
import type { AppendOptions, ConversationRef, NewItem } from "./types.js";

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

/** An item as the Redis and PostgreSQL twins store it: the envelope, and its content (with a
 * message's replyTo, mentions, attachments) in the body, which a recall deletes. */
export function splitItem(
  item: NewItem,
  clientMsgId: string | undefined,
): { envelope: string; body?: string } {
  switch (item.kind) {
    case "message": {
      const { content, replyTo, mentions, attachments, ...envelope } = item;
      const body: Record<string, unknown> = { content };
      if (replyTo !== undefined) body.replyTo = replyTo;
      if (mentions !== undefined) body.mentions = mentions;
      if (attachments !== undefined) body.attachments = attachments;
      return {
        envelope: JSON.stringify(
          clientMsgId === undefined ? envelope : { ...envelope, clientMsgId },
        ),
        body: JSON.stringify(body),
      };
    }
    case "edit": {
      const { content, ...envelope } = item;
      return { envelope: JSON.stringify(envelope), body: JSON.stringify({ content }) };
    }
    default:
      return { envelope: JSON.stringify(item) };
  }
}

/** A stored item as splitItem wrote it, with its message's state. */
export interface StoredItem {
  seq: number;
  envelope: string;
  body: string | null;
  /** The last edit's body (JSON `{content}`) and ts, when edited and not recalled. */
  editBody: string | null;
  editTs: number | null;
  recalled: boolean;
  reactions: readonly ReactionCount[];
}

/** A stored item → the item in its current state. */
export function readStored(stored: StoredItem): StreamItem {
  const item = {
    ...JSON.parse(stored.envelope),
    seq: stored.seq,
    ...(stored.body === null ? {} : JSON.parse(stored.body)),
  } as StreamItem;
  if (item.kind !== "message") return item;
  const edit =
    stored.editBody === null
      ? undefined
      : {
          content: (JSON.parse(stored.editBody) as { content: unknown }).content,
          ts: Number(stored.editTs),
        };
  return present(item, { recalled: stored.recalled, ...(edit && { edit }) }, stored.reactions);
}

/**
 * The sender's standing an append checks in its own step (AppendOptions): "member", "peer",
 * "friend" or "" (nothing), as the Redis script and the PostgreSQL function take it.
 */
export function standingChecked(ref: ConversationRef, options: AppendOptions): string {
  if (ref.kind === "channel") return options.asMember ? "member" : "";
  if (!options.asPeer) return "";
  return options.asPeer.friendsOnly ? "friend" : "peer";
}
