// Changing a sent message: edit, recall, react. Each is a new item in the message's own
// stream, pushed to the same audience as the message, so every device folds it the same way.
import { randomUUID } from "node:crypto";
import type { MessageItem, ReactionOp, StreamItem, UserId } from "../../engine/protocol.js";
import type { ConversationRef, NewItem } from "../../engine/types.js";
import { DomainError } from "../errors.js";
import type { StorageQuota } from "../quota.js";
import { OWN_ACTIONS, standingOf } from "./channel-policy.js";
import { peerOf, type ConversationAccess } from "./conversation-access.js";
import type { ServiceDeps } from "./deps.js";

export interface Stored {
  id: string;
  seq: number;
  ts: number;
}

/**
 * Who may recall `message`: its sender within the window; a channel's owner or admin
 * (`moderator`, channel-policy.ts `recall_others`) at any time.
 */
export function mayRecall(
  userId: UserId,
  message: MessageItem,
  recallWindowMs: number,
  now: number,
  moderator = false,
): "yes" | "not_sender" | "window_passed" {
  if (moderator) return "yes";
  if (message.from !== userId) return "not_sender";
  return now - message.ts <= recallWindowMs ? "yes" : "window_passed";
}

export class MessageChangeService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: ConversationAccess,
    private readonly quota: StorageQuota,
  ) {}

  /** 404 → 400 `not_editable` → 403 `not_sender` → 409 `recalled` → 403 `window_passed`. */
  async edit(userId: UserId, id: string, content: unknown): Promise<Stored> {
    const { ref, message } = await this.message(userId, id);
    if (message.from !== userId)
      throw new DomainError("not_sender", "only its sender may edit a message");
    this.requireNotRecalled(message);
    if (Date.now() - message.ts > this.deps.config.editWindowMs)
      throw new DomainError("window_passed", "the edit window has passed");
    // An edit stores new content: it counts against the quota like a message.
    await this.quota.charge(userId, content);
    return (await this.store(ref, userId, { kind: "edit", target: id, content }))!;
  }

  /** As edit, the permission decided by mayRecall. */
  async recall(userId: UserId, id: string): Promise<Stored> {
    const { ref, message } = await this.message(userId, id);
    const moderator =
      ref.kind === "channel" &&
      OWN_ACTIONS.recall_others[
        standingOf(await this.deps.engine.store.member(ref.name, userId))
      ] === "allow";
    const allowed = mayRecall(
      userId,
      message,
      this.deps.config.recallWindowMs,
      Date.now(),
      moderator,
    );
    if (allowed === "not_sender")
      throw new DomainError("not_sender", "only its sender may recall a message");
    this.requireNotRecalled(message);
    if (allowed === "window_passed")
      throw new DomainError("window_passed", "the recall window has passed");
    const stored = (await this.store(ref, userId, { kind: "recall", target: id }))!;
    await this.access.unshareAttachments(ref, message);
    return stored;
  }

  /** Any participant; null when the reaction already was (add) or was not (remove) there. */
  async react(userId: UserId, id: string, emoji: string, op: ReactionOp): Promise<Stored | null> {
    const { ref, message } = await this.message(userId, id);
    this.requireNotRecalled(message);
    return this.store(ref, userId, { kind: "reaction", target: id, emoji, op });
  }

  private async message(
    userId: UserId,
    id: string,
  ): Promise<{ ref: ConversationRef; message: MessageItem }> {
    const { ref, item } = await this.access.item(userId, id);
    if (item.kind !== "message")
      throw new DomainError("not_editable", "only a message can be changed");
    return { ref, message: item };
  }

  private requireNotRecalled(message: MessageItem): void {
    if (message.recalled) throw new DomainError("recalled", "the message was recalled");
  }

  /** Appends the change (the store re-checks what must be atomic) and pushes it. */
  private async store(
    ref: ConversationRef,
    from: UserId,
    change:
      | { kind: "edit"; target: string; content: unknown }
      | { kind: "recall"; target: string }
      | { kind: "reaction"; target: string; emoji: string; op: ReactionOp },
  ): Promise<Stored | null> {
    const where = ref.kind === "direct" ? { to: peerOf(ref, from) } : { channel: ref.name };
    const item = { id: randomUUID(), from, ...where, ...change, ts: Date.now() } as NewItem;
    const stored = await this.access.append(ref, item);
    if (stored === null) return null;
    await this.access.pushItem(stored.item, ref);
    return idSeqTs(stored.item);
  }
}

function idSeqTs({ id, seq, ts }: StreamItem): Stored {
  return { id, seq, ts };
}
