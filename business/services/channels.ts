// Channels: kept membership, member-only posting and history, one push per node on post.
import { randomUUID } from "node:crypto";
import type { MessagePush, UserId } from "../../engine/protocol.js";
import { DomainError } from "../errors.js";
import type { StorageQuota } from "../quota.js";
import { pushAfterStore, type ServiceDeps } from "./deps.js";

export class ChannelService {
  constructor(
    private readonly deps: ServiceDeps,
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
        online: await this.onlineCount(await store.channelMembers(name)),
      })),
    );
    return { channels, next: more ? channels[channels.length - 1]!.name : null };
  }

  async join(name: string, userId: UserId): Promise<void> {
    await this.deps.engine.store.joinChannel(name, userId);
  }

  async leave(name: string, userId: UserId): Promise<void> {
    if (!(await this.deps.engine.store.leaveChannel(name, userId)))
      throw new DomainError("channel_not_found", "no such channel");
  }

  async info(name: string): Promise<{ name: string; members: UserId[]; online: number }> {
    await this.requireChannel(name);
    const members = await this.deps.engine.store.channelMembers(name);
    return { name, members, online: await this.onlineCount(members) };
  }

  async post(name: string, from: UserId, content: unknown): Promise<MessagePush> {
    const { engine, push, metrics } = this.deps;
    await this.requireMember(name, from);
    await this.quota.charge(from, content);
    const message = await engine.store.appendMessage(
      { kind: "channel", name },
      { id: randomUUID(), from, channel: name, content, ts: Date.now() },
    );
    metrics.messagesStored.inc({ kind: "channel" });
    await pushAfterStore(this.deps, "channel message", async () =>
      push.sendChannel(message, await engine.store.channelMembers(name)),
    );
    return message;
  }

  async history(name: string, userId: UserId, after: number, limit: number) {
    await this.requireMember(name, userId);
    return this.deps.engine.store.history({ kind: "channel", name }, after, limit);
  }

  private async requireChannel(name: string): Promise<void> {
    if (!(await this.deps.engine.store.channelExists(name)))
      throw new DomainError("channel_not_found", "no such channel");
  }

  /** `channel_not_found` comes before `not_member` (contract order). */
  private async requireMember(name: string, userId: UserId): Promise<void> {
    await this.requireChannel(name);
    if (!(await this.deps.engine.store.isMember(name, userId)))
      throw new DomainError("not_member", "you are not a member of this channel");
  }

  private async onlineCount(members: UserId[]): Promise<number> {
    if (members.length === 0) return 0;
    const flags = await this.deps.engine.presence.online(members);
    return flags.filter(Boolean).length;
  }
}
