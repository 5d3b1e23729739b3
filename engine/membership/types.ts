// The live imServer nodes: each registers with a heartbeat and a TTL. Twins: ./memory.ts, ./redis.ts.

export interface NodeInfo {
  nodeId: string;
  url: string;
}

export interface Membership {
  register(node: NodeInfo, ttlMs: number): Promise<void>;
  /**
   * Refreshes the TTL; registers again if the entry had expired. Resolves to true when it had to
   * register again: survivors may have cleared this node's presence meanwhile, so the node writes
   * it again.
   */
  heartbeat(node: NodeInfo, ttlMs: number): Promise<boolean>;
  deregister(nodeId: string): Promise<void>;
  /** Live nodes, sorted by nodeId. */
  list(): Promise<NodeInfo[]>;
  /** Whether each asked node is live (registered, TTL not run out), in the same order. */
  live(nodeIds: readonly string[]): Promise<boolean[]>;
}
