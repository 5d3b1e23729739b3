// What a node does when the live node set changes (NodeView.onChange):
// - a node that vanished (drained, or SIGKILLed and its membership expired) leaves presence
//   entries behind: they are cleared and the users it held reported offline. Every survivor
//   does it; clearNode is idempotent and returns a user only to the first caller.
// - partition mode: connections of users this node no longer owns are closed with
//   kicked{reason:"rebalance"}, each after a random delay within a short window so the movers do
//   not all reconnect at the same instant; the SDK reconnects through /api/connect and syncs.
import type { Logger } from "../config/logger.js";
import type { UserId } from "../engine/protocol.js";
import type { PartitionRouter } from "../engine/router.js";
import type { NodeInfo, Presence } from "../engine/types.js";
import type { ConnectionActor } from "./connection-actor.js";
import type { ConnectionIndex } from "./connection-index.js";

/** Rebalance kicks are spread uniformly over this window. */
export const REBALANCE_WINDOW_MS = 1_000;

export interface NodeWatcherDeps {
  readonly nodeId: string;
  readonly router: "partition" | "adapter";
  readonly owners: PartitionRouter;
  readonly index: ConnectionIndex;
  readonly presence: Pick<Presence, "clearNode">;
  /** Publishes a presence event (offline) for a user the vanished node held. */
  publishOffline(userId: UserId): Promise<void>;
  /** Tells the other views (business's above all) the set changed, so none waits for its timer. */
  notifyMembership(nodeId: string): Promise<unknown>;
  /**
   * This node is back in the live set after its entry had lapsed (e.g. Redis was unreachable
   * for longer than the TTL): survivors may have cleared its presence, so it is written again.
   */
  restorePresence(): void;
  /** Re-reads the live node set now (NodeView.refresh); onChange follows if it changed. */
  refresh(): Promise<void>;
  readonly logger: Logger;
  readonly windowMs?: number;
}

export class NodeWatcher {
  private known = new Set<string>();
  /** null until this node first sees itself live (its own registration). */
  private wasLive: boolean | null = null;
  private readonly timers = new Map<ConnectionActor, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly deps: NodeWatcherDeps) {}

  /** The NodeView's listener: `nodes` is the new live set. */
  onChange(nodes: readonly NodeInfo[]): void {
    if (this.stopped) return;
    const live = new Set(nodes.map((node) => node.nodeId));
    const vanished = [...this.known].filter((id) => !live.has(id) && id !== this.deps.nodeId);
    const self = this.deps.nodeId;
    if (live.has(self) && this.wasLive === false) this.deps.restorePresence();
    if (live.has(self)) this.wasLive = true;
    else if (this.wasLive) this.wasLive = false;
    this.known = live;
    for (const nodeId of vanished) void this.reap(nodeId);
    if (this.deps.router === "partition" && live.has(this.deps.nodeId))
      for (const actor of this.deps.index.all()) this.check(actor);
  }

  /**
   * Partition mode, a connection just came online: a token issued by a business whose view was
   * newer than ours (a node came or went) is right, so our view is refreshed before any kick.
   */
  admitted(actor: ConnectionActor): void {
    if (this.stopped || this.deps.router !== "partition" || !this.movesAway(actor.userId)) return;
    this.deps.refresh().then(
      () => this.check(actor),
      () => undefined,
    );
  }

  /** Partition mode: schedules the kick of a connection whose user another live node owns. */
  check(actor: ConnectionActor): void {
    if (this.stopped || this.deps.router !== "partition") return;
    if (!actor.accepting || this.timers.has(actor) || !this.movesAway(actor.userId)) return;
    const delay = Math.random() * (this.deps.windowMs ?? REBALANCE_WINDOW_MS);
    const timer = setTimeout(() => {
      this.timers.delete(actor);
      // The set may have changed back meanwhile.
      if (!this.stopped && this.movesAway(actor.userId)) actor.kick("rebalance");
    }, delay);
    timer.unref();
    this.timers.set(actor, timer);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** True when this node is live and another live node owns the user. */
  private movesAway(userId: UserId): boolean {
    if (!this.known.has(this.deps.nodeId)) return false; // we are not live: keep what we hold
    const owner = this.deps.owners.ownerOf(userId);
    return owner !== null && owner.nodeId !== this.deps.nodeId;
  }

  private async reap(nodeId: string): Promise<void> {
    try {
      await this.deps.notifyMembership(nodeId);
      const users = await this.deps.presence.clearNode(nodeId);
      for (const userId of users) await this.deps.publishOffline(userId);
      if (users.length > 0)
        this.deps.logger.info({ node: nodeId, users: users.length }, "cleared a vanished node");
    } catch (err) {
      this.deps.logger.warn({ err, node: nodeId }, "could not clear a vanished node");
    }
  }
}
