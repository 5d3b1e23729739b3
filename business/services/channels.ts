// Channels: kept membership, member-only posting and history, one push per node on post.
import { randomUUID } from "node:crypto";
import type { StreamItem, UserId } from "../../engine/protocol.js";
import type { Readers } from "../../engine/types.js";
import { DomainError } from "../errors.js";
import type { StorageQuota } from "../quota.js";
import type { ChannelPushes } from "./channel-pushes.js";
import type { ConversationAccess } from "./conversation-access.js";
import { onlineCount, type ServiceDeps } from "./deps.js";
import type { SendOptions } from "./messages.js";

/** At most this many ids in a readers answer (CONTRACT.md "Read state"). */
const MAX_READER_IDS = 200;

export class ChannelService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: ConversationAccess,
    private readonly pushes: ChannelPushes,
    private readonly quota: StorageQuota,
  ) {}

  /** A page of channels in name order after `after`; `next` is the cursor of the next page. */
  async list(
    after: string,
    limit: number,
  ): Promise<{
    channels: { name: string; members: number; online: number }[];
    next: string | null;
  }> {
    const { store } = this.deps.engine;
    const page = await store.listChannels(after, limit + 1);
    const more = page.length > limit;
    const channels = await Promise.all(
      page.slice(0, limit).map(async ({ name, members }) => ({
        name,
        members,
        online: await onlineCount(this.deps.engine, await store.channelMembers(name)),
      })),
    );
    return { channels, next: more ? channels[channels.length - 1]!.name : null };
  }

  async join(name: string, userId: UserId): Promise<void> {
    await this.deps.engine.store.joinChannel(name, userId);
    this.pushes.changed(name);
  }

  async leave(name: string, userId: UserId): Promise<void> {
    if (!(await this.deps.engine.store.leaveChannel(name, userId)))
      throw new DomainError("channel_not_found", "no such channel");
    this.pushes.changed(name);
  }

  async info(name: string): Promise<{ name: string; members: UserId[]; online: number }> {
    await this.requireChannel(name);
    const members = await this.deps.engine.store.channelMembers(name);
    return { name, members, online: await onlineCount(this.deps.engine, members) };
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
    const ref = await this.access.channel(from, name);
    if (options.replyTo !== undefined) await this.access.requireReplyTarget(ref, options.replyTo);
    if (options.mentions !== undefined) {
      const members = await Promise.all(options.mentions.map((id) => store.isMember(name, id)));
      if (!members.every(Boolean))
        throw new DomainError("invalid_mentions", "every mention must be a member of the channel");
    }
    const attachments = await this.access.attachments(from, options.attachments);
    // Charged before storing; a repeat (clientMsgId) is given back.
    await this.quota.charge(from, content);
    const { item, duplicate } = (await this.access.append(
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
      { clientMsgId: options.clientMsgId },
    ))!;
    if (duplicate) await this.quota.refund(from, content);
    else await this.access.pushItem(item, ref);
    return item;
  }

  async history(name: string, userId: UserId, after: number, limit: number): Promise<StreamItem[]> {
    const ref = await this.access.channel(userId, name);
    return this.deps.engine.store.history(ref, after, limit, userId);
  }

  /** "Read by N": members whose cursor is at or past `seq`. */
  async readers(name: string, userId: UserId, seq: number): Promise<Readers & { seq: number }> {
    await this.access.channel(userId, name);
    return { seq, ...(await this.deps.engine.store.readers(name, seq, MAX_READER_IDS)) };
  }

  private async requireChannel(name: string): Promise<void> {
    if (!(await this.deps.engine.store.channelExists(name)))
      throw new DomainError("channel_not_found", "no such channel");
  }
}
