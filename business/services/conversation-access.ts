// Who may touch which conversation: the checks every conversation endpoint shares, in the
// contract's order (unknown target 404 → permission 403), and how an item reaches its audience.
import { conversationKey } from "../../engine/ids.js";
import type { Attachment, MessageItem, StreamItem, UserId } from "../../engine/protocol.js";
import type {
  AppendOptions,
  ChannelMember,
  ConversationRef,
  MemberLookup,
  NewItem,
  Store,
} from "../../engine/types.js";
import { DomainError } from "../errors.js";
import type { FileService } from "../files/service.js";
import {
  hiddenFrom,
  historyFloor,
  mayPost,
  OWN_ACTIONS,
  standingOf,
  type Verdict,
} from "./channel-policy.js";
import { pushAfterStore, requireUser, type ServiceDeps } from "./deps.js";

/** A conversation as the API names it, from the caller's side. */
export type ConversationTarget = { peer: UserId } | { channel: string };

/** A channel the caller is in, and what of it they see. */
export interface ChannelSeat {
  ref: Extract<ConversationRef, { kind: "channel" }>;
  member: ChannelMember;
  lookup: MemberLookup;
  /** Items with seq ≤ floor are hidden from them (since_join); 0: none. */
  floor: number;
}

/** The error of a policy verdict other than "allow". */
export function refusal(verdict: Exclude<Verdict, "allow">, mutedUntil?: number): DomainError {
  switch (verdict) {
    case "not_member":
      return new DomainError(verdict, "you are not a member of this channel");
    case "muted":
      return new DomainError(
        verdict,
        `you are muted in this channel until ${new Date(mutedUntil ?? 0).toISOString()}`,
        undefined,
        { mutedUntil: mutedUntil ?? 0 },
      );
    case "not_sender":
      return new DomainError(verdict, "only its sender (or an owner or admin) may do this");
    case "banned":
      return new DomainError(verdict, "you are banned from this channel");
    case "member_not_found":
      return new DomainError(verdict, "that user is not a member of this channel");
    case "cannot_target_self":
      return new DomainError(verdict, "you cannot do this to yourself");
    default:
      return new DomainError(verdict, "you may not do this in this channel");
  }
}

export class ConversationAccess {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly files: FileService,
  ) {}

  /** The caller's DM with `peer`: yourself → 400, an unknown user → 404. */
  async direct(userId: UserId, peer: UserId): Promise<ConversationRef> {
    if (peer === userId)
      throw new DomainError("cannot_target_self", "there is no conversation with yourself");
    await requireUser(this.deps.engine, peer);
    return { kind: "direct", a: userId, b: peer };
  }

  /** As `direct`, and the DM policy allows messages between them (403 `not_friends`). */
  async writableDirect(userId: UserId, peer: UserId): Promise<ConversationRef> {
    const ref = await this.direct(userId, peer);
    await this.requireDmAllowed(userId, [peer]);
    return ref;
  }

  /**
   * 403 `blocked` when either blocks the other (whatever the DM policy), then 403
   * `not_friends` unless the DM policy lets `from` write to every one of `to`.
   */
  async requireDmAllowed(from: UserId, to: readonly UserId[]): Promise<void> {
    const { store } = this.deps.engine;
    await this.requireNotBlocked(from, to);
    if (this.deps.config.dmPolicy !== "friends") return;
    const states = await Promise.all(to.map((peer) => store.friendState(from, peer)));
    if (states.some((s) => s !== "friends")) throw NOT_FRIENDS();
  }

  /** 403 `blocked` when either of `from` and one of `to` blocks the other. */
  async requireNotBlocked(from: UserId, to: readonly UserId[]): Promise<void> {
    const { store } = this.deps.engine;
    const blocked = await Promise.all(to.map((peer) => store.blockedBetween(from, peer)));
    if (blocked.some(Boolean)) throw BLOCKED();
  }

  /**
   * The caller's seat in a channel, from one O(1) lookup: `channel_not_found` (also for a
   * private channel they are not in) before `not_member` (contract order).
   */
  async seat(userId: UserId, name: string): Promise<ChannelSeat> {
    const lookup = await this.deps.engine.store.member(name, userId);
    if (lookup === null || hiddenFrom(lookup))
      throw new DomainError("channel_not_found", "no such channel");
    const verdict = OWN_ACTIONS.read[standingOf(lookup)];
    if (verdict !== "allow") throw refusal(verdict);
    const member = lookup.member!;
    return {
      ref: { kind: "channel", name },
      member,
      lookup,
      floor: historyFloor({ ...lookup, member }),
    };
  }

  /** A channel the caller is in (to read). */
  async channel(userId: UserId, name: string): Promise<ConversationRef> {
    return (await this.seat(userId, name)).ref;
  }

  /** As `seat`, and the caller may post there now (403 `muted`, with when it ends). */
  async writableChannel(userId: UserId, name: string): Promise<ChannelSeat> {
    const seat = await this.seat(userId, name);
    const verdict = mayPost(seat.member, Date.now());
    if (verdict !== "allow") throw refusal(verdict, seat.member.mutedUntil);
    return seat;
  }

  /** The floor below which the caller sees nothing of a channel (since_join); null: not theirs. */
  channelFloor(userId: UserId, name: string): Promise<number | null> {
    return channelFloor(this.deps.engine.store, userId, name);
  }

  /** A DM (to read: no policy check) or a channel the caller is in. */
  of(userId: UserId, target: ConversationTarget): Promise<ConversationRef> {
    return "peer" in target
      ? this.direct(userId, target.peer)
      : this.channel(userId, target.channel);
  }

  /** As `of`, with the permission to write there (send, type). */
  async writable(userId: UserId, target: ConversationTarget): Promise<ConversationRef> {
    return "peer" in target
      ? this.writableDirect(userId, target.peer)
      : (await this.writableChannel(userId, target.channel)).ref;
  }

  /**
   * The item with this id in a conversation the caller is in; anything else is answered like an
   * unknown id (404 `message_not_found`), so ids of others' conversations reveal nothing.
   */
  async item(userId: UserId, id: string): Promise<{ ref: ConversationRef; item: StreamItem }> {
    const { store } = this.deps.engine;
    const found = await store.itemById(id);
    if (found === null || !(await this.sees(userId, found.ref, found.item.seq)))
      throw new DomainError("message_not_found", "no such message");
    return found;
  }

  sees(userId: UserId, ref: ConversationRef, seq: number): Promise<boolean> {
    return sees(this.deps.engine.store, userId, ref, seq);
  }

  /**
   * 404 `message_not_found` unless `id` is a message of this very conversation that the
   * sender sees (after `floor`: their join seq in a since_join channel).
   */
  async requireReplyTarget(ref: ConversationRef, id: string, floor = 0): Promise<void> {
    const found = await this.deps.engine.store.itemById(id);
    if (
      found === null ||
      found.item.kind !== "message" ||
      conversationKey(found.ref) !== conversationKey(ref) ||
      found.item.seq <= floor
    )
      throw new DomainError("message_not_found", "replyTo names no message of this conversation");
  }

  /** What a message will carry for these file ids (none: undefined), or `invalid_attachments`. */
  async attachments(
    sender: UserId,
    fileIds: readonly string[] | undefined,
  ): Promise<Attachment[] | undefined> {
    if (fileIds === undefined || fileIds.length === 0) return undefined;
    return this.files.attachments(sender, fileIds);
  }

  /** After `message` is recalled: its files are no longer shared through it. */
  async unshareAttachments(ref: ConversationRef, message: MessageItem): Promise<void> {
    if (message.attachments)
      await this.files.unshare(ref, message.seq, fileIdsOf(message.attachments));
  }

  /**
   * Appends and counts a new item (a new message shares its files in the conversation); a refusal becomes its error (`not_found` → 404, `recalled`
   * and `too_many_reactions` → 409), except `noop`: null (a reaction already there, or not).
   */
  async append(
    ref: ConversationRef,
    item: NewItem,
    options?: AppendOptions,
  ): Promise<{ item: StreamItem; duplicate: boolean } | null> {
    const result = await this.deps.engine.store.append(ref, item, options);
    if ("refused" in result) {
      switch (result.refused) {
        case "noop":
          return null;
        case "not_member":
        case "muted":
          // Kicked or muted between the check and the append (asMember).
          throw refusal(result.refused, result.mutedUntil);
        case "not_found":
          throw new DomainError("message_not_found", "no such message");
        case "recalled":
          throw new DomainError("recalled", "the message was recalled");
        case "too_many_reactions":
          throw new DomainError("too_many_reactions", "a message takes at most 20 distinct emoji");
        case "blocked":
          throw BLOCKED();
        case "not_friends":
          throw NOT_FRIENDS();
      }
    }
    if (!result.duplicate && item.kind === "message") {
      this.deps.metrics.messagesStored.inc({ kind: ref.kind });
      if (item.attachments)
        await this.files.share(ref, result.item.seq, fileIdsOf(item.attachments));
    }
    return result;
  }

  /** Pushes a stored item to everyone it concerns: both users of a DM, a channel's members. */
  async pushItem(item: StreamItem, ref: ConversationRef, receipt = false): Promise<void> {
    const { engine, push } = this.deps;
    await pushAfterStore(this.deps, `${item.kind} item`, async () =>
      ref.kind === "direct"
        ? push.send(item, { receipt })
        : push.sendChannel(item, await engine.store.channelMembers(ref.name), {
            // Mentioned members who miss it go to the webhook (CONTRACT.md "Webhook").
            ...(item.kind === "message" && item.mentions && { notify: item.mentions }),
          }),
    );
  }
}

async function channelFloor(store: Store, userId: UserId, name: string): Promise<number | null> {
  const lookup = await store.member(name, userId);
  return lookup?.member ? historyFloor({ ...lookup, member: lookup.member }) : null;
}

/** Whether the user sees the item at `seq` of `ref`: a DM's two users; a channel's members,
 * from their floor on (since_join). Also what decides who may read a shared file. */
export async function sees(
  store: Store,
  userId: UserId,
  ref: ConversationRef,
  seq: number,
): Promise<boolean> {
  if (ref.kind === "direct") return ref.a === userId || ref.b === userId;
  const floor = await channelFloor(store, userId, ref.name);
  return floor !== null && seq > floor;
}

function fileIdsOf(attachments: readonly Attachment[]): string[] {
  return attachments.map(({ fileId }) => fileId);
}

/** The other user of a DM, seen from `userId`. */
export function peerOf(ref: Extract<ConversationRef, { kind: "direct" }>, userId: UserId): UserId {
  return ref.a === userId ? ref.b : ref.a;
}

const BLOCKED = () => new DomainError("blocked", "one of you blocks the other");
const NOT_FRIENDS = () => new DomainError("not_friends", "direct messages go only between friends");
