// Presence in this process's memory. Like the Redis twin, it snapshots a user's connections in
// one synchronous step and asks membership about their nodes after.
import type { Membership } from "../membership/types.js";
import type { UserId } from "../protocol.js";
import { liveNodes } from "./live-nodes.js";
import type { Presence } from "./types.js";

export class MemoryPresence implements Presence {
  /** userId → connId → nodeId */
  private readonly byUser = new Map<UserId, Map<string, string>>();

  constructor(private readonly membership: Pick<Membership, "live">) {}

  async add(userId: UserId, nodeId: string, connId: string): Promise<number> {
    let conns = this.byUser.get(userId);
    if (!conns) this.byUser.set(userId, (conns = new Map()));
    const others = [...conns].filter(([id]) => id !== connId);
    conns.set(connId, nodeId);
    if (others.length === 0) return 1;
    const live = await liveNodes(
      this.membership,
      others.map(([, node]) => node).filter((node) => node !== nodeId),
    );
    live.add(nodeId); // the caller's node holds its connections, whatever membership says
    const dead = others.filter(([, node]) => !live.has(node));
    // Lazily forget the connections of dead nodes, unless they moved meanwhile.
    for (const [id, node] of dead) if (conns.get(id) === node) conns.delete(id);
    return 1 + others.length - dead.length;
  }

  async remove(userId: UserId, nodeId: string, connId: string): Promise<boolean> {
    const conns = this.byUser.get(userId);
    if (!conns || !conns.delete(connId)) return false;
    if (conns.size === 0) this.byUser.delete(userId);
    const left = [...conns.values()];
    // The caller's node holds its other connections, whatever membership says.
    if (left.includes(nodeId)) return false;
    return (await liveNodes(this.membership, left)).size === 0;
  }

  async online(userIds: readonly UserId[]): Promise<boolean[]> {
    const nodesOf = userIds.map((id) => [...(this.byUser.get(id)?.values() ?? [])]);
    const live = await liveNodes(this.membership, nodesOf.flat());
    return nodesOf.map((nodes) => nodes.some((node) => live.has(node)));
  }

  async clearNode(nodeId: string): Promise<UserId[]> {
    // A live node holds its entries (it may just have written them again after a lapse).
    if ((await liveNodes(this.membership, [nodeId])).size > 0) return [];
    const left: [UserId, string[]][] = [];
    for (const [userId, conns] of this.byUser) {
      const before = conns.size;
      for (const [connId, node] of conns) if (node === nodeId) conns.delete(connId);
      if (conns.size === before) continue;
      if (conns.size === 0) this.byUser.delete(userId);
      left.push([userId, [...conns.values()]]);
    }
    const live = await liveNodes(
      this.membership,
      left.flatMap(([, nodes]) => nodes),
    );
    return left.filter(([, nodes]) => !nodes.some((n) => live.has(n))).map(([userId]) => userId);
  }

  async countByNode(nodeIds: readonly string[]): Promise<number[]> {
    const live = await liveNodes(this.membership, nodeIds);
    const counts = new Map<string, number>([...live].map((id) => [id, 0]));
    for (const conns of this.byUser.values())
      for (const node of conns.values()) {
        const count = counts.get(node);
        if (count !== undefined) counts.set(node, count + 1);
      }
    return nodeIds.map((id) => counts.get(id) ?? 0);
  }
}
