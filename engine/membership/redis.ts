// Membership in Redis: one key per node with the node's TTL (Redis' clock judges expiry), and the
// set of ids that registered, pruned as entries expire. All under one tag ({nodes}): the node set
// is small and read whole.
import type { Bus } from "../bus/types.js";
import { compareStrings } from "../compare.js";
import { replies, type RedisClient } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import { topics } from "../wire.js";
import type { Membership, NodeInfo } from "./types.js";

export class RedisMembership implements Membership {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly bus: Bus,
  ) {}

  async register(node: NodeInfo, ttlMs: number): Promise<void> {
    await this.write(node, ttlMs);
    await this.bus.publish(topics.membership, node.nodeId);
  }

  async heartbeat(node: NodeInfo, ttlMs: number): Promise<boolean> {
    const previous = await this.write(node, ttlMs);
    if (previous === null) await this.bus.publish(topics.membership, node.nodeId);
    return previous === null;
  }

  async deregister(nodeId: string): Promise<void> {
    const [deleted] = replies<[number, number]>(
      await this.redis.multi().del(this.keys.node(nodeId)).srem(this.keys.nodeIds(), nodeId).exec(),
    );
    if (deleted === 1) await this.bus.publish(topics.membership, nodeId);
  }

  async live(nodeIds: readonly string[]): Promise<boolean[]> {
    if (nodeIds.length === 0) return [];
    // One MGET: every node key is in the {nodes} slot.
    const urls = await this.redis.mget(...nodeIds.map((id) => this.keys.node(id)));
    return urls.map((url) => url !== null);
  }

  async ttlLeft(nodeId: string): Promise<number | null> {
    const left = await this.redis.pttl(this.keys.node(nodeId));
    return left > 0 ? left : null; // -2: no such key (-1, no TTL, never happens here)
  }

  async list(): Promise<NodeInfo[]> {
    const ids = await this.redis.smembers(this.keys.nodeIds());
    if (ids.length === 0) return [];
    const urls = await this.redis.mget(...ids.map((id) => this.keys.node(id)));
    const live: NodeInfo[] = [];
    const dead: string[] = [];
    ids.forEach((nodeId, i) => {
      const url = urls[i];
      if (url == null) dead.push(nodeId);
      else live.push({ nodeId, url });
    });
    if (dead.length > 0) {
      // The script re-checks each entry, so a node that registers meanwhile is not dropped.
      const keys = [this.keys.nodeIds(), ...dead.map((id) => this.keys.node(id))];
      await this.redis.heraldPruneNodes(keys.length, ...keys, ...dead);
    }
    return live.sort((a, b) => compareStrings(a.nodeId, b.nodeId));
  }

  /** Writes the entry with its TTL; resolves to the URL it replaced (null: it was not there). */
  private async write(node: NodeInfo, ttlMs: number): Promise<string | null> {
    const [previous] = replies<[string | null, number]>(
      await this.redis
        .multi()
        .set(this.keys.node(node.nodeId), node.url, "PX", Math.max(1, Math.ceil(ttlMs)), "GET")
        .sadd(this.keys.nodeIds(), node.nodeId)
        .exec(),
    );
    return previous;
  }
}
