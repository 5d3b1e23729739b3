// Who may touch which conversation: the checks every conversation endpoint shares, in the
// contract's order (unknown target 404 → permission 403), and how an item reaches its audience.
import { conversationKey } from "../../engine/ids.js";
import type { Attachment, MessageItem, StreamItem, UserId } from "../../engine/protocol.js";
import type { AppendOptions, ConversationRef, NewItem } from "../../engine/types.js";
import { DomainError } from "../errors.js";
import type { FileService } from "../files/service.js";
import { pushAfterStore, requireUser, type ServiceDeps } from "./deps.js";

/** A conversation as the API names it, from the caller's side. */
export type ConversationTarget = { peer: UserId } | { channel: string };

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

  /** 403 `not_friends` unless the DM policy lets `from` write to every one of `to`. */
  async requireDmAllowed(from: UserId, to: readonly UserId[]): Promise<void> {
    if (this.deps.config.dmPolicy !== "friends") return;
    const { store } = this.deps.engine;
    const states = await Promise.all(to.map((peer) => store.friendState(from, peer)));
    if (states.some((s) => s !== "friends"))
      throw new DomainError("not_friends", "direct messages go only between friends");
  }

  /** `channel_not_found` before `not_member` (contract order). */
  async channel(userId: UserId, name: string): Promise<ConversationRef> {
    const { store } = this.deps.engine;
    if (!(await store.channelExists(name)))
      throw new DomainError("channel_not_found", "no such channel");
    if (!(await store.isMember(name, userId)))
      throw new DomainError("not_member", "you are not a member of this channel");
    return { kind: "channel", name };
  }

  /** A DM (to read: no policy check) or a channel the caller is in. */
  of(userId: UserId, target: ConversationTarget): Promise<ConversationRef> {
    return "peer" in target
      ? this.direct(userId, target.peer)
      : this.channel(userId, target.channel);
  }

  /** As `of`, with the permission to write there (send, type). */
  writable(userId: UserId, target: ConversationTarget): Promise<ConversationRef> {
    return "peer" in target
      ? this.writableDirect(userId, target.peer)
      : this.channel(userId, target.channel);
  }

  /**
   * The item with this id in a conversation the caller is in; anything else is answered like an
   * unknown id (404 `message_not_found`), so ids of others' conversations reveal nothing.
   */
  async item(userId: UserId, id: string): Promise<{ ref: ConversationRef; item: StreamItem }> {
    const { store } = this.deps.engine;
    const found = await store.itemById(id);
    const visible =
      found !== null &&
      (found.ref.kind === "direct"
        ? found.ref.a === userId || found.ref.b === userId
        : await store.isMember(found.ref.name, userId));
    if (!visible) throw new DomainError("message_not_found", "no such message");
    return found;
  }

  /** 404 `message_not_found` unless `id` is a message of this very conversation. */
  async requireReplyTarget(ref: ConversationRef, id: string): Promise<void> {
    const found = await this.deps.engine.store.itemById(id);
    if (
      found === null ||
      found.item.kind !== "message" ||
      conversationKey(found.ref) !== conversationKey(ref)
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
        case "not_found":
          throw new DomainError("message_not_found", "no such message");
        case "recalled":
          throw new DomainError("recalled", "the message was recalled");
        case "too_many_reactions":
          throw new DomainError("too_many_reactions", "a message takes at most 20 distinct emoji");
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

function fileIdsOf(attachments: readonly Attachment[]): string[] {
  return attachments.map(({ fileId }) => fileId);
}

/** The other user of a DM, seen from `userId`. */
export function peerOf(ref: Extract<ConversationRef, { kind: "direct" }>, userId: UserId): UserId {
  return ref.a === userId ? ref.b : ref.a;
}
