// How commands reach this node's connections and how receipts travel back, by IM_ROUTER (the
// nodes' half of business's PushRouter). Built once per node; the dispatcher, the actors and the
// mailboxes are the same in both modes.
// - partition (server/partition-routing.ts): each node takes only its own users' commands, on
//   its own bus topic; a receipt goes to the sender's owner node; a change of the node set moves
//   users (rebalance kicks).
// - adapter (server/adapter-routing.ts): the nodes share @socket.io/redis-adapter; whichever
//   node business picked runs a command and hands it to every other; receipts are settled by
//   that node; nobody moves when the node set changes.
import type { Server, Socket } from "socket.io";
import type { Config } from "../config/index.js";
import type { Logger } from "../config/logger.js";
import type { UserId } from "../engine/protocol.js";
import type { PartitionRouter } from "../engine/router.js";
import type { Bus, NodeInfo, Presence } from "../engine/types.js";
import { AdapterRouting } from "./adapter-routing.js";
import type { ActorHost, ConnectionActor } from "./connection-actor.js";
import type { ConnectionIndex } from "./connection-index.js";
import type { ImMetrics } from "./metrics.js";
import { PartitionRouting } from "./partition-routing.js";
import type { ReceiptSink } from "./receipt-tracker.js";

export interface RoutingMode extends ReceiptSink {
  /** Starts taking commands; resolves once a command published now reaches this node. */
  start(): Promise<void>;
  /** A connection completed its handshake. */
  admitted(actor: ConnectionActor): void;
  /** The live node set changed (NodeView.onChange). */
  membershipChanged(nodes: readonly NodeInfo[]): void;
  /** Takes no more commands (the first step of a shutdown). */
  stop(): Promise<void>;
  /** Once the connections are closed, before io.close(): settles every receipt still pending. */
  settlePending(): void;
  /** After io.close(): releases what the mode holds (the adapter's Redis connections). */
  close(): Promise<void>;
}

export interface RoutingDeps {
  readonly nodeId: string;
  readonly io: Server;
  readonly bus: Bus;
  readonly presence: Pick<Presence, "online">;
  /** The live view's user → node hash (NodeView.router). */
  readonly owners: PartitionRouter;
  /** Re-reads the live node set now (NodeView.refresh). */
  refresh(): Promise<void>;
  readonly host: Pick<ActorHost, "writer">;
  readonly index: ConnectionIndex;
  readonly metrics: ImMetrics;
  readonly logger: Logger;
  readonly ackTimeoutMs: number;
  userOf(socket: Socket): UserId | undefined;
}

/** The memory engine is one process, one node: the partition path does it all there. */
export function createRoutingMode(
  config: Pick<Config, "router" | "redisUrl" | "redisPrefix">,
  deps: RoutingDeps,
): RoutingMode {
  if (config.router === "adapter" && config.redisUrl !== undefined)
    return new AdapterRouting(deps, { url: config.redisUrl, prefix: config.redisPrefix });
  return new PartitionRouting(deps);
}
