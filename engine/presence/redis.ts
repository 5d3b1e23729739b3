// Presence in Redis: a hash per user (connId → nodeId), the unit of atomicity, and a set per node
// (its index for clearNode). Whether a node is live is membership's answer, asked in a second
// step: on a cluster a script may touch only one slot, and the user's and the nodes' keys differ.
import type { Membership } from "../membership/types.js";
import type { UserId } from "../protocol.js";
import {
  eachInOneStage,
  inStages,
  replies,
  type RedisClient,
  type Step,
} from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import { liveNodes } from "./live-nodes.js";
import type { Presence } from "./types.js";

export class RedisPresence implements Presence {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly membership: Pick<Membership, "live">,
  ) {}

  async add(userId: UserId, nodeId: string, connId: string): Promise<number> {
    // The node's index first, so clearNode never misses a connection that exists.
    const [, flat] = (await inStages(this.redis, [
      [(p) => p.sadd(this.keys.nodeConnections(nodeId), nodeEntry(userId, connId))],
      [(p) => p.heraldPresenceAdd(this.keys.userConnections(userId), connId, nodeId)],
    ])) as [number, string[]];
    if (flat.length === 0) return 1;
    const others: [string, string][] = [];
    for (let i = 0; i < flat.length; i += 2) others.push([flat[i]!, flat[i + 1]!]);
    const live = await liveNodes(
      this.membership,
      others.map(([, node]) => node).filter((node) => node !== nodeId),
    );
    live.add(nodeId); // the caller's node holds its connections, whatever membership says
    const dead = others.filter(([, node]) => !live.has(node));
    if (dead.length > 0) await this.forget(userId, dead);
    return 1 + others.length - dead.length;
  }

  async remove(userId: UserId, nodeId: string, connId: string): Promise<boolean> {
    const [left] = (await inStages(this.redis, [
      [(p) => p.heraldPresenceRemove(this.keys.userConnections(userId), connId)],
      [(p) => p.srem(this.keys.nodeConnections(nodeId), nodeEntry(userId, connId))],
    ])) as [string[] | null, number];
    if (left === null) return false;
    // The caller's node holds its other connections, whatever membership says.
    if (left.includes(nodeId)) return false;
    return (await liveNodes(this.membership, left)).size === 0;
  }

  async online(userIds: readonly UserId[]): Promise<boolean[]> {
    if (userIds.length === 0) return [];
    const nodesOf = await eachInOneStage<UserId, string[]>(this.redis, userIds, (p, userId) =>
      p.hvals(this.keys.userConnections(userId)),
    );
    const live = await liveNodes(this.membership, nodesOf.flat());
    return nodesOf.map((nodes) => nodes.some((node) => live.has(node)));
  }

  async clearNode(nodeId: string): Promise<UserId[]> {
    // A live node holds its entries (it may just have written them again after a lapse). Its
    // membership and its index are in different slots, so this is a check, then the drain: a
    // node re-registering between the two (within a round trip) loses its rewritten entries
    // until its next lapse.
    if ((await liveNodes(this.membership, [nodeId])).size > 0) return [];
    // Drained atomically: of concurrent callers, only the first gets the entries.
    const set = this.keys.nodeConnections(nodeId);
    const [entries] = replies<[string[], number]>(
      await this.redis.multi().smembers(set).del(set).exec(),
    );
    if (entries.length === 0) return [];
    const conns = entries.map((entry) => {
      const space = entry.lastIndexOf(" ");
      return { userId: entry.slice(0, space), connId: entry.slice(space + 1) };
    });
    // Only if the connection is still this node's: each user's hash decides alone.
    const lefts = await eachInOneStage<(typeof conns)[number], string[] | null>(
      this.redis,
      conns,
      (p, { userId, connId }) =>
        p.heraldPresenceRemove(this.keys.userConnections(userId), connId, nodeId),
    );
    const live = await liveNodes(
      this.membership,
      lefts.flatMap((left) => left ?? []),
    );
    const offline = conns.filter((_, i) => {
      const left = lefts[i];
      return left != null && !left.some((node) => live.has(node));
    });
    return [...new Set(offline.map(({ userId }) => userId))];
  }

  async countByNode(nodeIds: readonly string[]): Promise<number[]> {
    const live = await liveNodes(this.membership, nodeIds);
    // One SCARD per live node (each node's set is its own key, so this also holds on a cluster).
    return Promise.all(
      nodeIds.map((id) => (live.has(id) ? this.redis.scard(this.keys.nodeConnections(id)) : 0)),
    );
  }

  /** Drops a user's connections held by dead nodes (unless they moved meanwhile), then the
   * nodes' index entries, in the order remove() uses. */
  private async forget(userId: UserId, dead: [string, string][]): Promise<void> {
    await inStages(this.redis, [
      dead.map(
        ([connId, node]): Step =>
          (p) =>
            p.heraldPresenceRemove(this.keys.userConnections(userId), connId, node),
      ),
      dead.map(
        ([connId, node]): Step =>
          (p) =>
            p.srem(this.keys.nodeConnections(node), nodeEntry(userId, connId)),
      ),
    ]);
  }
}

/** A node's index entry; a connection id (socket.io's) holds no space, a user id might. */
function nodeEntry(userId: UserId, connId: string): string {
  return `${userId} ${connId}`;
}
