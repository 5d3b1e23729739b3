// Membership in this process's memory; expiry by this process's clock.
import type { Bus } from "../bus/types.js";
import { compareStrings } from "../compare.js";
import { topics } from "../wire.js";
import type { Membership, NodeInfo } from "./types.js";

export class MemoryMembership implements Membership {
  private readonly nodes = new Map<string, { node: NodeInfo; expiresAt: number }>();

  constructor(private readonly bus: Bus) {}

  async register(node: NodeInfo, ttlMs: number): Promise<void> {
    this.nodes.set(node.nodeId, { node: { ...node }, expiresAt: Date.now() + ttlMs });
    await this.bus.publish(topics.membership, node.nodeId);
  }

  async heartbeat(node: NodeInfo, ttlMs: number): Promise<boolean> {
    const known = this.isLive(node.nodeId, Date.now());
    this.nodes.set(node.nodeId, { node: { ...node }, expiresAt: Date.now() + ttlMs });
    if (!known) await this.bus.publish(topics.membership, node.nodeId);
    return !known;
  }

  async deregister(nodeId: string): Promise<void> {
    if (this.nodes.delete(nodeId)) await this.bus.publish(topics.membership, nodeId);
  }

  async live(nodeIds: readonly string[]): Promise<boolean[]> {
    const now = Date.now();
    return nodeIds.map((id) => this.isLive(id, now));
  }

  async ttlLeft(nodeId: string): Promise<number | null> {
    const left = (this.nodes.get(nodeId)?.expiresAt ?? 0) - Date.now();
    return left > 0 ? left : null;
  }

  private isLive(nodeId: string, now: number): boolean {
    return (this.nodes.get(nodeId)?.expiresAt ?? 0) > now;
  }

  async list(): Promise<NodeInfo[]> {
    const now = Date.now();
    const live: NodeInfo[] = [];
    for (const [id, entry] of this.nodes) {
      if (entry.expiresAt <= now) this.nodes.delete(id);
      else live.push({ ...entry.node });
    }
    return live.sort((a, b) => compareStrings(a.nodeId, b.nodeId));
  }
}
