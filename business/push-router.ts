// How the push client reaches imServer nodes, by IM_ROUTER. Business code asks "send this to
// these users" (PushClient) and never knows which of the two it runs on.
// - partition: each user has an owner node (rendezvous hashing over the live nodes); a push is
//   one command per owner node, naming only that node's users.
// - adapter: the nodes share @socket.io/redis-adapter; a push is one command to any one live node
//   (round-robin), which runs it and hands it to every other node through the adapter. Users
//   connect to the least-loaded node.
import type { NodeView } from "../engine/node-view.js";
import type { UserId } from "../engine/protocol.js";
import type { NodeInfo, Presence } from "../engine/types.js";
import { encode, type NodeCommand } from "../engine/wire.js";

export interface PushResult {
  /** Commands that reached a live node. */
  nodes: number;
  /** Recipients whose node was gone (or no node was live): they are offline for this push. */
  offline: UserId[];
}

/** Publishes one encoded command on a node's topic; false when no one listens (node gone). */
export type Publish = (nodeId: string, kind: string, payload: string) => Promise<boolean>;

export interface PushRouter {
  /** The node a user should connect to now; null when no node is live. */
  connectNode(userId: UserId): Promise<NodeInfo | null>;
  /** Runs `command(to)` for the users, once each, on whichever node(s) reach them. */
  route(userIds: Iterable<UserId>, command: (to: UserId[]) => NodeCommand): Promise<PushResult>;
  /** A command for every connection of every node (broadcast, kick). */
  routeAll(command: NodeCommand): Promise<PushResult>;
}

export interface PushRouterDeps {
  nodeView: NodeView;
  publish: Publish;
  presence: Pick<Presence, "countByNode">;
}

function kindOf(command: NodeCommand): string {
  return command.kind === "push" ? command.event : command.kind;
}

export class PartitionPushRouter implements PushRouter {
  constructor(private readonly deps: PushRouterDeps) {}

  async connectNode(userId: UserId): Promise<NodeInfo | null> {
    const { nodeView } = this.deps;
    // A node may have registered since the last refresh; look once more before giving up.
    if (!nodeView.router.ownerOf(userId)) await nodeView.refresh();
    return nodeView.router.ownerOf(userId);
  }

  /** One command per owner node; a publish nobody hears marks that node's recipients offline. */
  async route(
    userIds: Iterable<UserId>,
    command: (to: UserId[]) => NodeCommand,
  ): Promise<PushResult> {
    const { nodeView, publish } = this.deps;
    if (nodeView.router.liveNodes.length === 0) await nodeView.refresh();
    const groups = nodeView.router.group(userIds);
    const offline: UserId[] = groups.get(null) ?? [];
    let nodes = 0;
    let dead = false;
    await Promise.all(
      [...groups].map(async ([nodeId, to]) => {
        if (nodeId === null) return;
        const built = command(to);
        if (await publish(nodeId, kindOf(built), encode(built))) nodes++;
        else {
          offline.push(...to);
          dead = true;
        }
      }),
    );
    if (dead) await nodeView.refresh();
    return { nodes, offline };
  }

  /**
   * Every live node: during a rebalance a user's old connection may still sit on a node that no
   * longer owns them, and a broadcast or kick is rare enough to afford it.
   */
  async routeAll(command: NodeCommand): Promise<PushResult> {
    const { nodeView, publish } = this.deps;
    if (nodeView.router.liveNodes.length === 0) await nodeView.refresh();
    const payload = encode(command);
    const kind = kindOf(command);
    const reached = await Promise.all(
      nodeView.router.liveNodes.map((node) => publish(node.nodeId, kind, payload)),
    );
    if (reached.includes(false)) await nodeView.refresh();
    return { nodes: reached.filter(Boolean).length, offline: [] };
  }
}

/** How long a connect grant counts toward its node's load before presence shows it. */
const GRANT_WEIGHT_MS = 2_000;
/** How long a node whose topic had no subscriber is passed over, while its entry expires. */
const SUSPECT_MS = 10_000;

export class AdapterPushRouter implements PushRouter {
  private next = 0;
  /** Grants issued lately by this process, counted as load until their sockets show up. */
  private grants: { nodeId: string; at: number }[] = [];
  /** Node id → until when it is passed over (its publish reached nobody). */
  private readonly suspects = new Map<string, number>();

  constructor(private readonly deps: PushRouterDeps) {}

  /** The live node with the fewest connections (ties broken at random). */
  async connectNode(_userId: UserId): Promise<NodeInfo | null> {
    const nodes = await this.candidates();
    if (nodes.length === 0) return null;
    const counts = await this.deps.presence.countByNode(nodes.map((n) => n.nodeId));
    const now = Date.now();
    this.grants = this.grants.filter((g) => now - g.at < GRANT_WEIGHT_MS);
    let best: NodeInfo[] = [];
    let bestLoad = Infinity;
    nodes.forEach((node, i) => {
      let load = counts[i] ?? 0;
      for (const grant of this.grants) if (grant.nodeId === node.nodeId) load++;
      if (load < bestLoad) {
        bestLoad = load;
        best = [node];
      } else if (load === bestLoad) best.push(node);
    });
    const chosen = best[Math.floor(Math.random() * best.length)]!;
    this.grants.push({ nodeId: chosen.nodeId, at: now });
    return chosen;
  }

  /** The whole command to one node; the adapter takes it to every other. */
  async route(
    userIds: Iterable<UserId>,
    command: (to: UserId[]) => NodeCommand,
  ): Promise<PushResult> {
    const to = [...new Set(userIds)];
    if (to.length === 0) return { nodes: 0, offline: [] };
    return (await this.publishOnce(command(to)))
      ? { nodes: 1, offline: [] }
      : { nodes: 0, offline: to };
  }

  async routeAll(command: NodeCommand): Promise<PushResult> {
    return { nodes: (await this.publishOnce(command)) ? 1 : 0, offline: [] };
  }

  /** Round-robin over the live nodes; a node nobody hears is passed over and the next tried. */
  private async publishOnce(command: NodeCommand): Promise<boolean> {
    const payload = encode(command);
    const kind = kindOf(command);
    let nodes = await this.candidates();
    const tries = nodes.length;
    for (let attempt = 0; attempt < tries && nodes.length > 0; attempt++) {
      const node = nodes[this.next++ % nodes.length]!;
      if (await this.deps.publish(node.nodeId, kind, payload)) return true;
      this.suspects.set(node.nodeId, Date.now() + SUSPECT_MS);
      await this.deps.nodeView.refresh();
      nodes = await this.candidates();
    }
    return false;
  }

  /** Live nodes but the suspects (unless only suspects are left). */
  private async candidates(): Promise<readonly NodeInfo[]> {
    const { nodeView } = this.deps;
    if (nodeView.router.liveNodes.length === 0) await nodeView.refresh();
    const live = nodeView.router.liveNodes;
    const now = Date.now();
    for (const [nodeId, until] of this.suspects) if (until <= now) this.suspects.delete(nodeId);
    if (this.suspects.size === 0) return live;
    const trusted = live.filter((node) => !this.suspects.has(node.nodeId));
    return trusted.length > 0 ? trusted : live;
  }
}
