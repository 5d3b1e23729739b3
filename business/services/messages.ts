// Direct messages: the DM policy, store-then-push, history and the conversation list.
import { randomUUID } from "node:crypto";
import type { MessagePush, UserId } from "../../engine/protocol.js";
import { DomainError } from "../errors.js";
import type { StorageQuota } from "../quota.js";
import { pushAfterStore, requireUser, type ServiceDeps } from "./deps.js";

export interface Accepted {
  to: UserId;
  id: string;
  seq: number;
  ts: number;
}

export type ConversationView =
  | { kind: "direct"; peer: UserId; lastSeq: number; lastTs: number }
  | { kind: "channel"; channel: string; lastSeq: number; lastTs: number };

export class MessageService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly quota: StorageQuota,
  ) {}

  /**
   * Checks every recipient first (unknown → `user_not_found`, then `not_friends`) so that
   * nothing is sent unless all may receive it; stores each message, then pushes.
   */
  async sendDirect(
    from: UserId,
    to: readonly UserId[],
    content: unknown,
    receipt: boolean,
  ): Promise<Accepted[]> {
    const { engine, config, push, metrics } = this.deps;
    if (to.includes(from))
      throw new DomainError("cannot_target_self", "you cannot message yourself");
    const users = await engine.store.usersById(to);
    if (users.some((u) => u === null)) throw new DomainError("user_not_found", "no such user");
    if (config.dmPolicy === "friends") {
      const states = await Promise.all(to.map((peer) => engine.store.friendState(from, peer)));
      if (states.some((s) => s !== "friends"))
        throw new DomainError("not_friends", "direct messages go only between friends");
    }
    await this.quota.charge(from, content, to.length);
    const stored: MessagePush[] = [];
    for (const peer of to) {
      const message = await engine.store.appendMessage(
        { kind: "direct", a: from, b: peer },
        { id: randomUUID(), from, to: peer, content, ts: Date.now() },
      );
      metrics.messagesStored.inc({ kind: "direct" });
      stored.push(message);
    }
    await pushAfterStore(this.deps, "direct message", () =>
      Promise.all(stored.map((message) => push.send(message, { receipt }))),
    );
    return stored.map((m) => ({ to: m.to!, id: m.id, seq: m.seq, ts: m.ts }));
  }

  async history(
    userId: UserId,
    peer: UserId,
    after: number,
    limit: number,
  ): Promise<MessagePush[]> {
    if (peer === userId)
      throw new DomainError("cannot_target_self", "there is no conversation with yourself");
    await requireUser(this.deps.engine, peer);
    return this.deps.engine.store.history({ kind: "direct", a: userId, b: peer }, after, limit);
  }

  /** Newest first; a channel with no message yet sorts last. */
  async conversations(userId: UserId): Promise<ConversationView[]> {
    const summaries = await this.deps.engine.store.conversationsOf(userId);
    return summaries
      .map(({ ref, lastSeq, lastTs }): ConversationView =>
        ref.kind === "channel"
          ? { kind: "channel", channel: ref.name, lastSeq, lastTs }
          : { kind: "direct", peer: ref.a === userId ? ref.b : ref.a, lastSeq, lastTs },
      )
      .sort((x, y) => y.lastTs - x.lastTs);
  }
}
