// Partition mode (IM_ROUTER=partition): business sends each node only its own users' commands,
// on the node's own bus topic. A receipt goes to the node that owns the sender (this one, or
// over the bus); a change of the node set kicks the users who moved (server/rebalance.ts).
import type { ReceiptStatus } from "../engine/protocol.js";
import type { NodeInfo, Unsubscribe } from "../engine/types.js";
import { PublishBatcher } from "../engine/publish-batcher.js";
import { encode, topics } from "../engine/wire.js";
import { CommandDispatcher } from "./command-dispatcher.js";
import type { ConnectionActor } from "./connection-actor.js";
import { Rebalance } from "./rebalance.js";
import { receiptCommand, type ReceiptRequest } from "./receipt-tracker.js";
import type { RoutingDeps, RoutingMode } from "./routing-mode.js";
import { reportUndelivered } from "./undelivered.js";

export class PartitionRouting implements RoutingMode {
  private readonly dispatcher: CommandDispatcher;
  private readonly rebalance: Rebalance;
  private unsubscribe: Unsubscribe | null = null;
  /** Receipts for other nodes' senders: one PUBLISH per node per turn. */
  private readonly receiptBatcher: PublishBatcher;

  constructor(private readonly deps: RoutingDeps) {
    this.dispatcher = new CommandDispatcher({ ...deps, receipts: this });
    this.rebalance = new Rebalance(deps);
    this.receiptBatcher = new PublishBatcher((nodeId, payload) =>
      deps.bus.publish(topics.node(nodeId), payload),
    );
  }

  async start(): Promise<void> {
    this.dispatcher.start();
    this.unsubscribe = await this.deps.bus.subscribe(topics.node(this.deps.nodeId), (raw) =>
      this.dispatcher.handle(raw),
    );
  }

  admitted(actor: ConnectionActor): void {
    this.rebalance.admitted(actor);
  }

  membershipChanged(_nodes: readonly NodeInfo[]): void {
    this.rebalance.membershipChanged();
  }

  /**
   * An `undelivered` event if business asked (./undelivered.ts); the one receipt, if asked, goes
   * to the sender's owner node: here directly, elsewhere over the bus.
   */
  settle(request: ReceiptRequest, outcome: ReceiptStatus): void {
    const { deps } = this;
    reportUndelivered(deps, request, outcome);
    if (!request.receipt) return;
    deps.metrics.receipts.inc({ status: outcome });
    const command = receiptCommand(request, outcome);
    const owner = deps.owners.ownerOf(request.from);
    if (!owner || owner.nodeId === deps.nodeId) {
      this.dispatcher.run(command);
      return;
    }
    this.receiptBatcher.publish(owner.nodeId, encode(command)).catch((err: unknown) => {
      deps.logger.warn({ err, owner: owner.nodeId }, "receipt not published");
    });
  }

  async stop(): Promise<void> {
    this.rebalance.stop();
    await this.unsubscribe?.();
    this.unsubscribe = null;
  }

  settlePending(): void {
    this.dispatcher.stop();
  }

  async close(): Promise<void> {}
}
