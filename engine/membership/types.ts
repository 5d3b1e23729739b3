// The live imServer nodes: each registers with a heartbeat and a TTL. Twins: ./memory.ts, ./redis.ts.

/** Every node refreshes its entry this often (the wire format's figures)… */
export const HEARTBEAT_MS = 2_000;
/** …with this TTL, so a node that stops beating lapses within it. */
export const MEMBERSHIP_TTL_MS = 6_000;

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
  /** How long the node's entry has left before it lapses (ms); null when it is not live. */
  ttlLeft(nodeId: string): Promise<number | null>;
}
