// Which users are connected where (Centrifuge's PresenceManager). Twins: ./memory.ts, ./redis.ts.
import type { UserId } from "../protocol.js";

/**
 * A user may hold several connections (devices). A connection counts only while its node is live
 * in membership (its heartbeat keeps it): the presence of a node that vanished lapses with its
 * membership entry, even if no survivor ever clears it, and counts again if the node registers
 * again. Entries of dead nodes are cleaned lazily (clearNode, or the user's next add). To add and
 * remove, the calling node counts as live: it holds those connections, even while its own entry
 * has lapsed (a Redis outage) or is gone (a drain).
 */
export interface Presence {
  /**
   * Records a connection; resolves to the user's live connections, this one included, as they
   * were the moment it went in (1: the user came online). Concurrent adds of one user each see
   * those before them, so a cap on the count lets exactly the first ones through.
   */
  add(userId: UserId, nodeId: string, connId: string): Promise<number>;
  /** Removes a connection; true when none is left on a live node (the user went offline). */
  remove(userId: UserId, nodeId: string, connId: string): Promise<boolean>;
  /** Online flag per asked id, in the same order. */
  online(userIds: readonly UserId[]): Promise<boolean[]>;
  /**
   * Forgets every connection held by a node that is not live (dead, drained, or its entry
   * lapsed); resolves to the users left with no connection on a live node. Does nothing while
   * the node's membership entry is live: a node that registered again writes its presence again,
   * and a survivor's late clear must not erase that. Idempotent: only the first of concurrent
   * callers gets the users.
   */
  clearNode(nodeId: string): Promise<UserId[]>;
  /** Connections held by each asked node, in the same order; 0 for a node that is not live. */
  countByNode(nodeIds: readonly string[]): Promise<number[]>;
}
