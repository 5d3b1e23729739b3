// Presence: answers /api/presence for the caller and their friends, and turns the nodes'
// presence events into `presence` pushes to the user's friends (one command per node).
import type { UserId } from "../../engine/protocol.js";
import type { Unsubscribe } from "../../engine/types.js";
import type { PresenceEvent } from "../../engine/wire.js";
import type { ServiceDeps } from "./deps.js";

/** Long enough for every business instance to have heard the event. */
const CLAIM_TTL_MS = 60_000;

export class PresenceService {
  private unsubscribe: Unsubscribe | null = null;

  constructor(private readonly deps: ServiceDeps) {}

  /** Online flags for the asked ids that are the caller or a friend; others are left out. */
  async lookup(callerId: UserId, ids: readonly UserId[]): Promise<Record<UserId, boolean>> {
    const { friends } = await this.deps.engine.store.friendLists(callerId);
    const visible = new Set([callerId, ...friends]);
    const asked = [...new Set(ids)].filter((id) => visible.has(id));
    const online = await this.deps.push.isOnline(asked);
    // No prototype, so an id can never collide with an Object.prototype name.
    const answer: Record<UserId, boolean> = Object.create(null) as Record<UserId, boolean>;
    for (const id of asked) answer[id] = online.get(id) === true;
    return answer;
  }

  /** Starts forwarding node presence events to friends. */
  async start(): Promise<void> {
    this.unsubscribe ??= await this.deps.push.onPresence((event) => this.forward(event));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private async forward(event: PresenceEvent): Promise<void> {
    // Every business instance hears every event; the first to claim it does the fan-out.
    const key = `presence:${event.nodeId}:${event.userId}:${event.online}:${event.ts}`;
    if (!(await this.deps.engine.bus.claim(key, CLAIM_TTL_MS))) return;
    const { friends } = await this.deps.engine.store.friendLists(event.userId);
    if (friends.length === 0) return;
    await this.deps.push.sendPresence(
      { userId: event.userId, online: event.online, ts: event.ts },
      friends,
    );
  }
}
