// Partition routing: rendezvous (highest-random-weight) hashing of a user id over the live
// imServer nodes. Business and the nodes run this same function, so they agree on owners, and a
// change of the node set only moves the users of the nodes that came or went.
import { compareStrings } from "./compare.js";
import type { NodeInfo } from "./membership/types.js";

/** FNV-1a, 32 bits. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** murmur3's finaliser: spreads the combined user and node hashes over 32 bits. */
function mix(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

export class PartitionRouter {
  private nodes: readonly NodeInfo[] = [];
  private seeds: number[] = [];

  constructor(nodes: readonly NodeInfo[] = []) {
    this.setNodes(nodes);
  }

  setNodes(nodes: readonly NodeInfo[]): void {
    this.nodes = [...nodes].sort((a, b) => compareStrings(a.nodeId, b.nodeId));
    this.seeds = this.nodes.map((node) => fnv1a(node.nodeId));
  }

  get liveNodes(): readonly NodeInfo[] {
    return this.nodes;
  }

  /** The node that owns the user, or null when no node is live. */
  ownerOf(userId: string): NodeInfo | null {
    const userHash = fnv1a(userId);
    let best: NodeInfo | null = null;
    let bestWeight = -1;
    for (let i = 0; i < this.nodes.length; i++) {
      const weight = mix(userHash ^ this.seeds[i]!);
      if (weight > bestWeight) {
        bestWeight = weight;
        best = this.nodes[i]!;
      }
    }
    return best;
  }

  /** Recipients grouped by owner node id; users with no live owner are under `null`. */
  group(userIds: Iterable<string>): Map<string | null, string[]> {
    const groups = new Map<string | null, string[]>();
    for (const userId of userIds) {
      const nodeId = this.ownerOf(userId)?.nodeId ?? null;
      const list = groups.get(nodeId);
      if (list) list.push(userId);
      else groups.set(nodeId, [userId]);
    }
    return groups;
  }
}
