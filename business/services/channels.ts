// Channels: kept membership, member-only posting and history, one push per node on post.
import { randomUUID } from "node:crypto";
import type { StreamItem, UserId } from "../../engine/protocol.js";
import type {
  ChannelHistory,
  ChannelRole,
  ChannelVisibility,
  Readers,
} from "../../engine/types.js";
import { DomainError } from "../errors.js";
import type { StorageQuota } from "../quota.js";
import { hiddenFrom } from "./channel-policy.js";
import type { ChannelPushes } from "./channel-pushes.js";
import { refusal, type ConversationAccess } from "./conversation-access.js";
import { onlineCount, type ServiceDeps } from "./deps.js";
import type { SendOptions } from "./messages.js";

/** At most this many ids in a readers answer (CONTRACT.md "Read state"). */
const MAX_READER_IDS = 200;

export interface ChannelListing {
  name: string;
  title: string;
  visibility: ChannelVisibility;
  members: number;
  online: number;
}

/** GET /api/channels/:name: v1's fields and the record's, with the caller's role. */
export interface ChannelView {
  name: string;
  members: UserId[];
  online: number;
  title: string;
  visibility: ChannelVisibility;
  history: ChannelHistory;
  owner: UserId | null;
  /** null: the caller is not a member. */
  role: ChannelRole | null;
}

export class ChannelService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: ConversationAccess,
    private readonly pushes: ChannelPushes,
    private readonly quota: StorageQuota,
  ) {}

  /**
   * A page of the channels `viewer` may see (public ones and the private ones they are in) in
   * name order after `after`; `next` is the cursor of the next page.
   */
  async list(
    viewer: UserId,
    after: string,
    limit: number,
  ): Promise<{ channels: ChannelListing[]; next: string | null }> {
    const { store } = this.deps.engine;
    const page = await store.listChannels(after, limit + 1, viewer);
    const more = page.length > limit;
    const channels = await Promise.all(
      page.slice(0, limit).map(async ({ name, members, title, visibility }) => ({
        name,
        title,
        visibility,
        members,
        online: await onlineCount(this.deps.engine, await store.channelMembers(name)),
      })),
    );
    return { channels, next: more ? channels[channels.length - 1]!.name : null };
  }

  /** v1's join: idempotent; an unknown name is created, the joiner its owner. */
  async join(name: string, userId: UserId): Promise<void> {
    const result = await this.deps.engine.store.joinChannel(
      name,
      userId,
      this.deps.config.channelMaxMembers,
    );
    if ("refused" in result) {
      if (result.refused === "channel_full")
        throw new DomainError("channel_full", "the channel has as many members as it may");
      if (result.refused === "invite_required")
        throw new DomainError("invite_required", "this channel is private: it needs an invite");
      throw refusal(result.refused);
    }
    if (result.outcome === "joined") this.pushes.changed(name);
  }

  /** Also when not a member; an owner leaving hands ownership on, and the heir is told. */
  async leave(name: string, userId: UserId): Promise<void> {
    const { store } = this.deps.engine;
    const result = await store.leaveChannel(name, userId);
    if (result === null) throw new DomainError("channel_not_found", "no such channel");
    if (!result.left) return;
    this.pushes.changed(name);
    if (result.heir !== null) {
      const heir = (await store.member(name, result.heir))?.member;
      if (heir) await this.pushes.memberState(name, heir);
    }
  }

  /** Anyone may see a public channel; a private one only its members (else 404). */
  async info(name: string, userId: UserId): Promise<ChannelView> {
    const { store } = this.deps.engine;
    const [lookup, record] = await Promise.all([
      store.member(name, userId),
      store.channelInfo(name),
    ]);
    if (lookup === null || record === null || hiddenFrom(lookup))
      throw new DomainError("channel_not_found", "no such channel");
    const members = await store.channelMembers(name);
    return {
      name,
      members,
      online: await onlineCount(this.deps.engine, members),
      title: record.title,
      visibility: record.visibility,
      history: record.history,
      owner: record.owner,
      role: lookup.member?.role ?? null,
    };
  }

  /**
   * Judged in order: the channel (404), membership (403), replyTo (404), mentions (400: only
   * after membership, so that a non-member learns nothing of who is in), attachments (400).
   */
  async post(
    name: string,
    from: UserId,
    content: unknown,
    options: SendOptions = {},
  ): Promise<StreamItem> {
    const { store } = this.deps.engine;
    const { ref } = await this.access.writableChannel(from, name);
    if (options.replyTo !== undefined) await this.access.requireReplyTarget(ref, options.replyTo);
    if (options.mentions !== undefined) {
      const members = await Promise.all(options.mentions.map((id) => store.isMember(name, id)));
      if (!members.every(Boolean))
        throw new DomainError("invalid_mentions", "every mention must be a member of the channel");
    }
    const attachments = await this.access.attachments(from, options.attachments);
    // Charged before storing; a repeat (clientMsgId) is given back.
    await this.quota.charge(from, content);
    const { item, duplicate } = (await this.access
      .append(
        ref,
        {
          id: randomUUID(),
          kind: "message",
          from,
          channel: name,
          content,
          ts: Date.now(),
          ...(options.replyTo !== undefined && { replyTo: options.replyTo }),
          ...(options.mentions !== undefined && { mentions: options.mentions }),
          ...(attachments && { attachments }),
        },
        // Membership and mute again, in the append's own step: a kick or mute that was
        // answered before it wins.
        { clientMsgId: options.clientMsgId, asMember: { now: Date.now() } },
      )
      .catch(async (err: unknown) => {
        if (err instanceof DomainError) await this.quota.refund(from, content);
        throw err;
      }))!;
    if (duplicate) await this.quota.refund(from, content);
    else await this.access.pushItem(item, ref);
    return item;
  }

  /** In a since_join channel, only the items after the member's join seq. */
  async history(name: string, userId: UserId, after: number, limit: number): Promise<StreamItem[]> {
    const { ref, floor } = await this.access.seat(userId, name);
    return this.deps.engine.store.history(ref, Math.max(after, floor), limit, userId);
  }

  /** "Read by N": members whose cursor is at or past `seq`; nothing for an item the caller
   * does not see (since_join). */
  async readers(name: string, userId: UserId, seq: number): Promise<Readers & { seq: number }> {
    const { floor } = await this.access.seat(userId, name);
    if (seq <= floor) return { seq, count: 0, userIds: [] };
    return { seq, ...(await this.deps.engine.store.readers(name, seq, MAX_READER_IDS)) };
  }
}
