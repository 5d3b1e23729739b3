// `conversation` pushes: a channel's latest counts to its connected members after joins and
// leaves, at most one per channel per window. Windows are aligned to the clock, so business
// instances agree on them: the first change in a window claims it (Bus.claim) and pushes the
// counts as they are when the window ends, which covers every change made in it.
import type { ChannelMember } from "../../engine/types.js";
import { onlineCount, pushAfterStore, type ServiceDeps } from "./deps.js";

/** CONTRACT.md: at most one `conversation` push per channel every 2 s. */
export const CONVERSATION_PUSH_WINDOW_MS = 2_000;

export class ChannelPushes {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly windowMs = CONVERSATION_PUSH_WINDOW_MS,
  ) {}

  /** A member joined or left `channel` (already stored). Never throws: a lost push is logged. */
  changed(channel: string): void {
    void this.schedule(channel).catch((err: unknown) =>
      this.deps.logger.warn({ err, channel }, "conversation push not scheduled"),
    );
  }

  /** Cancels the pushes not sent yet (business shutting down). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async schedule(channel: string): Promise<void> {
    const now = Date.now();
    const window = Math.floor(now / this.windowMs);
    const claimed = await this.deps.engine.bus.claim(
      `conversation:${channel}:${window}`,
      2 * this.windowMs,
    );
    if (!claimed || this.stopped) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        void this.pushCounts(channel);
      },
      (window + 1) * this.windowMs - now,
    );
    this.timers.add(timer);
  }

  /**
   * Tells a member their own new state (a role or mute change, or ownership handed to them):
   * a `conversation` push with the counts, `role` and, while muted, `mutedUntil`. At once, not
   * coalesced: it is one user's, and rare.
   */
  async memberState(channel: string, member: ChannelMember): Promise<void> {
    await pushAfterStore(this.deps, "conversation", async () => {
      const { members, online } = await this.counts(channel);
      await this.deps.push.pushTo(
        "conversation",
        {
          channel,
          members: members.length,
          online,
          ts: Date.now(),
          role: member.role,
          ...(member.mutedUntil > Date.now() && { mutedUntil: member.mutedUntil }),
        },
        [member.userId],
      );
    });
  }

  private async counts(channel: string): Promise<{ members: string[]; online: number }> {
    const members = await this.deps.engine.store.channelMembers(channel);
    return { members, online: await onlineCount(this.deps.engine, members) };
  }

  private async pushCounts(channel: string): Promise<void> {
    const { push, logger } = this.deps;
    try {
      const { members, online } = await this.counts(channel);
      await push.pushTo(
        "conversation",
        { channel, members: members.length, online, ts: Date.now() },
        members,
      );
    } catch (err) {
      logger.warn({ err, channel }, "conversation push failed");
    }
  }
}
