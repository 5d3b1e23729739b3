// Running a channel (CONTRACT.md "Channels with owners"): create, members, roles, ownership,
// invites, kick / ban / unban, mutes. Each step is judged by the one table (channel-policy.ts)
// and applied by the store only while actor and target still stand where the table saw them;
// when either changed in between (another admin acted), it is judged again on the new state.
import type { UserId } from "../../engine/protocol.js";
import type {
  ChannelHistory,
  ChannelMember,
  ChannelRole,
  ChannelVisibility,
  MemberChange,
  MemberChangeGuard,
} from "../../engine/types.js";
import { DomainError } from "../errors.js";
import { hiddenFrom, MEMBER_ACTIONS, standingOf, type MemberAction } from "./channel-policy.js";
import type { ChannelPushes } from "./channel-pushes.js";
import type { ChannelService, ChannelView } from "./channels.js";
import { refusal, type ConversationAccess } from "./conversation-access.js";
import { pushAfterStore, requireUser, type ServiceDeps } from "./deps.js";

export interface NewChannelInput {
  name: string;
  visibility: ChannelVisibility;
  title: string;
  history: ChannelHistory;
}

export interface MemberView {
  userId: UserId;
  username: string;
  role: ChannelRole;
  /** ms; only while a mute stands. */
  mutedUntil?: number;
}

/** Judging again after a change that raced another: far more than two admins ever need. */
const MAX_ATTEMPTS = 10;

export class ChannelAdminService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: ConversationAccess,
    private readonly channels: ChannelService,
    private readonly pushes: ChannelPushes,
  ) {}

  /** 409 `channel_exists` when the name is taken (also by a channel everyone left). */
  async create(owner: UserId, input: NewChannelInput): Promise<ChannelView> {
    const created = await this.deps.engine.store.createChannel({
      ...input,
      owner,
      created: Date.now(),
    });
    if (created === null) throw new DomainError("channel_exists", "a channel has this name");
    return this.channels.info(input.name, owner);
  }

  /** Members only; in join order, `next` the cursor of the next page. */
  async members(
    userId: UserId,
    name: string,
    after: number,
    limit: number,
  ): Promise<{ members: MemberView[]; next: number | null }> {
    await this.access.seat(userId, name);
    const page = await this.deps.engine.store.membersPage(name, after, limit + 1);
    const more = page.length > limit;
    const members = await this.views(page.slice(0, limit));
    return { members, next: more ? page[limit - 1]!.joinOrder : null };
  }

  async invite(actor: UserId, name: string, target: UserId): Promise<void> {
    const done = await this.moderate(actor, name, target, "invite", { kind: "invite" });
    if (!done) return;
    await pushAfterStore(this.deps, "invited", () =>
      this.deps.push.pushTo("invited", { channel: name, by: actor, ts: Date.now() }, [target]),
    );
  }

  /** Kicks (and bans, with `ban`); kicking someone who is not in changes nothing but a ban. */
  async kick(actor: UserId, name: string, target: UserId, ban: boolean): Promise<void> {
    const done = await this.moderate(actor, name, target, ban ? "ban" : "kick", {
      kind: "kick",
      ban,
    });
    if (!done || done.targetStanding === "outsider" || done.targetStanding === "banned") return;
    this.pushes.changed(name);
    await pushAfterStore(this.deps, "removed", () =>
      this.deps.push.pushTo(
        "removed",
        { channel: name, reason: ban ? "banned" : "kicked", ts: Date.now() },
        [target],
      ),
    );
  }

  async unban(actor: UserId, name: string, target: UserId): Promise<void> {
    await this.moderate(actor, name, target, "unban", { kind: "unban" });
  }

  async mute(actor: UserId, name: string, target: UserId, seconds: number): Promise<MemberView> {
    const until = Date.now() + seconds * 1000;
    await this.changeState(actor, name, target, "mute", { kind: "mute", until });
    return this.view(name, target);
  }

  async unmute(actor: UserId, name: string, target: UserId): Promise<void> {
    await this.changeState(actor, name, target, "unmute", { kind: "unmute" });
  }

  /** Owner only. */
  async setRole(
    actor: UserId,
    name: string,
    target: UserId,
    role: "admin" | "member",
  ): Promise<MemberView> {
    await this.changeState(actor, name, target, "set_role", { kind: "role", role });
    return this.view(name, target);
  }

  /** Owner only: the target becomes owner, the old owner an admin; both are told. */
  async transferOwner(actor: UserId, name: string, target: UserId): Promise<MemberView> {
    if (await this.changeState(actor, name, target, "transfer_owner", { kind: "owner" }))
      await this.tellState(name, actor);
    return this.view(name, target);
  }

  /** A change of the target's own state, which they are told of (a `conversation` push). */
  private async changeState(
    actor: UserId,
    name: string,
    target: UserId,
    action: MemberAction,
    change: MemberChange,
  ): Promise<boolean> {
    const done = await this.moderate(actor, name, target, action, change);
    if (done) await this.tellState(name, target);
    return done !== null;
  }

  private async tellState(name: string, userId: UserId): Promise<void> {
    const member = (await this.deps.engine.store.member(name, userId))?.member;
    if (member) await this.pushes.memberState(name, member);
  }

  /**
   * Judges and applies one step, in the contract's order: the channel (404, also a private one
   * the actor is not in), the target user (404), then the table (403 / 404 member_not_found).
   * Resolves to the guard it was applied under, or null when it changed nothing.
   */
  private async moderate(
    actor: UserId,
    name: string,
    target: UserId,
    action: MemberAction,
    change: MemberChange,
  ): Promise<MemberChangeGuard | null> {
    if (actor === target) throw refusal("cannot_target_self");
    const { engine } = this.deps;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const [mine, theirs] = await Promise.all([
        engine.store.member(name, actor),
        engine.store.member(name, target),
      ]);
      if (mine === null || hiddenFrom(mine))
        throw new DomainError("channel_not_found", "no such channel");
      if (attempt === 1) await requireUser(engine, target);
      const guard: MemberChangeGuard = {
        actor,
        actorStanding: standingOf(mine),
        target,
        targetStanding: standingOf(theirs),
      };
      const verdict = MEMBER_ACTIONS[action][guard.actorStanding][guard.targetStanding];
      if (verdict !== "allow") throw refusal(verdict);
      const result = await engine.store.changeMember(name, guard, change);
      if (result.outcome === "done") return guard;
      if (result.outcome === "noop") return null;
    }
    throw new DomainError("unavailable", "the channel kept changing; try again");
  }

  private async view(name: string, userId: UserId): Promise<MemberView> {
    const member = (await this.deps.engine.store.member(name, userId))?.member;
    if (!member) throw refusal("member_not_found");
    return (await this.views([member]))[0]!;
  }

  private async views(members: readonly ChannelMember[]): Promise<MemberView[]> {
    const users = await this.deps.engine.store.usersById(members.map((m) => m.userId));
    const now = Date.now();
    return members.map((m, i) => ({
      userId: m.userId,
      username: users[i]?.username ?? "",
      role: m.role,
      ...(m.mutedUntil > now && { mutedUntil: m.mutedUntil }),
    }));
  }
}
