// Partition mode's answer to a change of the node set: connections of users another live node
// now owns are closed with kicked{reason:"rebalance"}, each after a random delay within a short
// window so the movers do not all reconnect at the same instant; the SDK reconnects through
// /api/connect and syncs. A node that is not live itself (its heartbeats fail) kicks nobody.
import type { UserId } from "../engine/protocol.js";
import type { PartitionRouter } from "../engine/router.js";
import type { ConnectionActor } from "./connection-actor.js";
import type { ConnectionIndex } from "./connection-index.js";

/** Rebalance kicks are spread uniformly over this window. */
export const REBALANCE_WINDOW_MS = 1_000;

export interface RebalanceDeps {
  readonly nodeId: string;
  /** The live view's user → node hash. */
  readonly owners: PartitionRouter;
  readonly index: Pick<ConnectionIndex, "all">;
  /** Re-reads the live node set now (NodeView.refresh). */
  refresh(): Promise<void>;
  readonly windowMs?: number;
}

export class Rebalance {
  private readonly timers = new Map<ConnectionActor, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly deps: RebalanceDeps) {}

  /** The node set changed: every connection whose user moved away is scheduled for a kick. */
  membershipChanged(): void {
    for (const actor of this.deps.index.all()) this.check(actor);
  }

  /**
   * A connection just came online: a token issued by a business whose view was newer than ours
   * (a node came or went) is right, so our view is refreshed before any kick.
   */
  admitted(actor: ConnectionActor): void {
    if (this.stopped || !this.movesAway(actor.userId)) return;
    this.deps.refresh().then(
      () => this.check(actor),
      () => undefined,
    );
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private check(actor: ConnectionActor): void {
    if (this.stopped || !actor.accepting || this.timers.has(actor)) return;
    if (!this.movesAway(actor.userId)) return;
    const delay = Math.random() * (this.deps.windowMs ?? REBALANCE_WINDOW_MS);
    const timer = setTimeout(() => {
      this.timers.delete(actor);
      // The set may have changed back meanwhile.
      if (!this.stopped && this.movesAway(actor.userId)) actor.kick("rebalance");
    }, delay);
    timer.unref();
    this.timers.set(actor, timer);
  }

  /** True when this node is live and another live node owns the user. */
  private movesAway(userId: UserId): boolean {
    const { owners, nodeId } = this.deps;
    if (!owners.liveNodes.some((node) => node.nodeId === nodeId)) return false;
    const owner = owners.ownerOf(userId);
    return owner !== null && owner.nodeId !== nodeId;
  }
}
