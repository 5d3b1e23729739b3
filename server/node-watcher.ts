// What every node does when another node vanishes from the live set (drained, or SIGKILLed and
// its membership expired): it leaves presence entries behind, so they are cleared and the users
// it held reported offline. Every survivor does it; clearNode is idempotent and returns a user
// only to the first caller. (What a change of the set means for routing: RoutingMode.)
import type { Logger } from "../config/logger.js";
import type { UserId } from "../engine/protocol.js";
import type { NodeInfo, Presence } from "../engine/types.js";

export interface NodeWatcherDeps {
  readonly nodeId: string;
  readonly presence: Pick<Presence, "clearNode">;
  /** Publishes a presence event (offline) for a user the vanished node held. */
  publishOffline(userId: UserId): Promise<void>;
  /** Tells the other views (business's above all) the set changed, so none waits for its timer. */
  notifyMembership(nodeId: string): Promise<unknown>;
  readonly logger: Logger;
}

export class NodeWatcher {
  private known = new Set<string>();
  private stopped = false;

  constructor(private readonly deps: NodeWatcherDeps) {}

  /** The NodeView's listener: `nodes` is the new live set. */
  onChange(nodes: readonly NodeInfo[]): void {
    if (this.stopped) return;
    const live = new Set(nodes.map((node) => node.nodeId));
    const vanished = [...this.known].filter((id) => !live.has(id) && id !== this.deps.nodeId);
    this.known = live;
    for (const nodeId of vanished) void this.reap(nodeId);
  }

  stop(): void {
    this.stopped = true;
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
