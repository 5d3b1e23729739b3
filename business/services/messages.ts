// Direct messages: the DM policy, idempotent store-then-push, and history.
import { randomUUID } from "node:crypto";
import type { StreamItem, UserId } from "../../engine/protocol.js";
import { DomainError, type DomainCode } from "../errors.js";
import type { StorageQuota } from "../quota.js";
import type { ConversationAccess } from "./conversation-access.js";
import { inOrder, pushAfterStore, type ServiceDeps } from "./deps.js";

export interface Accepted {
  to: UserId;
  id: string;
  seq: number;
  ts: number;
}

/** What a send may carry besides its content (CONTRACT.md "Conversation streams"). */
export interface SendOptions {
  clientMsgId?: string;
  replyTo?: string;
  mentions?: UserId[];
  /** File ids, each uploaded by the sender. */
  attachments?: string[];
}

export class MessageService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: ConversationAccess,
    private readonly quota: StorageQuota,
  ) {}

  /**
   * Checks every recipient first (unknown → `user_not_found`, then `not_friends`, then the
   * replyTo) so that nothing is sent unless all may receive it; stores each message (one
   * idempotent append per conversation, so a retry answers the same list), then pushes the new.
   */
  async sendDirect(
    from: UserId,
    to: readonly UserId[],
    content: unknown,
    receipt: boolean,
    options: SendOptions = {},
  ): Promise<Accepted[]> {
    const { engine, push } = this.deps;
    if (options.mentions !== undefined)
      throw new DomainError("invalid_mentions", "mentions are for channel messages only");
    if (to.includes(from))
      throw new DomainError("cannot_target_self", "you cannot message yourself");
    const refs = to.map((peer) => ({ kind: "direct" as const, a: from, b: peer }));
    const { replyTo } = options;
    // One recipient: blocks and the DM policy are checked in the append's own step (a message
    // racing a block lands before it or is refused), not looked up first. Several: looked up
    // first, so that nothing is stored unless every one of them may receive it.
    const asPeer =
      to.length === 1 ? { friendsOnly: this.deps.config.dmPolicy === "friends" } : undefined;
    const attaching = this.access.attachments(from, options.attachments);
    // Charged before storing; a copy that turns out a repeat (clientMsgId) is given back. The
    // charge and the checks go out at once (one round trip to Redis, not one each); a send a
    // check refuses is refused as the checks in turn would, and its charge given back.
    const [checked, charged] = await Promise.allSettled([
      inOrder([
        engine.store.usersById(to).then((users) => {
          if (users.some((u) => u === null))
            throw new DomainError("user_not_found", "no such user");
        }),
        ...(asPeer ? [] : [this.access.requireDmAllowed(from, to)]),
        ...(replyTo === undefined
          ? []
          : refs.map((ref) => this.access.requireReplyTarget(ref, replyTo))),
        attaching,
      ]),
      this.quota.charge(from, content, refs.length),
    ]);
    const failed = [checked, charged].find(
      (r): r is PromiseRejectedResult => r.status === "rejected",
    );
    if (failed) {
      const refused = failed.reason instanceof DomainError;
      if (failed === checked && charged.status === "fulfilled") {
        const refund = this.quota.refund(from, content, refs.length);
        // An outage answers 503 at once: its refund is tried, not waited for (it would wait a
        // second timeout on a hung engine).
        if (refused) await refund;
        else refund.catch(() => undefined);
      }
      // The pair's checks come before the others (contract order): look them up now, for a
      // refusal only (an outage is 503 whatever else would have refused).
      if (asPeer && refused && !isCode(failed.reason, "user_not_found"))
        await this.access.requireDmAllowed(from, to);
      throw failed.reason;
    }
    const attachments = await attaching;
    const accepted: Accepted[] = [];
    const fresh: StreamItem[] = [];
    for (const ref of refs) {
      const appended = this.access.append(
        ref,
        {
          id: randomUUID(),
          kind: "message",
          from,
          to: ref.b,
          content,
          ts: Date.now(),
          ...(options.replyTo !== undefined && { replyTo: options.replyTo }),
          ...(attachments && { attachments }),
        },
        { clientMsgId: options.clientMsgId, ...(asPeer && { asPeer }) },
      );
      const { item, duplicate } = (await appended.catch(async (error: unknown) => {
        if (isCode(error, "blocked") || isCode(error, "not_friends"))
          await this.quota.refund(from, content);
        throw error;
      }))!;
      if (duplicate) await this.quota.refund(from, content);
      else fresh.push(item);
      accepted.push({ to: ref.b, id: item.id, seq: item.seq, ts: item.ts });
    }
    await pushAfterStore(this.deps, "direct message", () =>
      Promise.all(fresh.map((message) => push.send(message, { receipt }))),
    );
    return accepted;
  }

  async history(userId: UserId, peer: UserId, after: number, limit: number): Promise<StreamItem[]> {
    const ref = await this.access.direct(userId, peer);
    return this.deps.engine.store.history(ref, after, limit, userId);
  }
}

const isCode = (error: unknown, code: DomainCode) =>
  error instanceof DomainError && error.code === code;
