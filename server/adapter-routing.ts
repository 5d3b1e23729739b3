// Adapter mode (IM_ROUTER=adapter): the nodes share @socket.io/redis-adapter. Business hands each
// command to one live node; that node runs it on its own connections and passes the raw command
// to every other node with one serverSideEmit (one PUBLISH), where it runs through the same
// CommandDispatcher, actors and mailboxes as in partition mode. A receipt is settled by the
// node that fanned the message out: `delivered` on the first ack reported by any node,
// `offline` when no node holds the recipient, `failed` when no ack came in time.
import type { Namespace } from "socket.io";
import type { ReceiptStatus } from "../engine/protocol.js";
import type { NodeInfo, Unsubscribe } from "../engine/types.js";
import { encode, encodeBatch, topics, type NodeCommand } from "../engine/wire.js";
import { CommandDispatcher, requestsOf } from "./command-dispatcher.js";
import type { ConnectionActor } from "./connection-actor.js";
import { receiptCommand, sweepEveryMs, type ReceiptRequest } from "./receipt-tracker.js";
import type { RoutingDeps, RoutingMode } from "./routing-mode.js";
import { createSocketAdapter, type SocketAdapterHandle } from "./socket-adapter.js";
import { reportUndelivered } from "./undelivered.js";

/** Server-side events between nodes (never seen by clients). */
const COMMAND_EVENT = "herald:command";
const DELIVERED_EVENT = "herald:delivered";
/** How long past the ack timeout a fanned-out receipt waits for a late node's report. */
const REPORT_MARGIN_MS = 500;

/** An outcome this node owes (a receipt, an `undelivered` event), until some node reports an ack or the deadline passes. */
interface PendingReceipt {
  readonly key: string;
  readonly request: ReceiptRequest;
  readonly deadline: number;
}

const keyOf = (request: ReceiptRequest) => `${request.messageId} ${request.to}`;

export class AdapterRouting implements RoutingMode {
  private readonly dispatcher: CommandDispatcher;
  private readonly adapter: SocketAdapterHandle;
  private readonly nsp: Namespace;
  /** The receipts this node fanned out and not yet settled, by message id and recipient. A
   * Map iterates in insertion order and every deadline is now + the same timeout, so this is
   * also deadline order; a settled one leaves at once (a list kept until the deadline held every
   * outcome of the last timeout's worth of messages). */
  private readonly pending = new Map<string, PendingReceipt>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: Unsubscribe | null = null;

  constructor(
    private readonly deps: RoutingDeps,
    redis: { url: string; prefix: string },
  ) {
    this.dispatcher = new CommandDispatcher({ ...deps, receipts: this });
    this.adapter = createSocketAdapter(redis);
    deps.io.adapter(this.adapter.adapter);
    this.nsp = deps.io.of("/");
    this.nsp.on(COMMAND_EVENT, (raw: unknown) => {
      if (typeof raw === "string") this.dispatcher.handle(raw);
    });
    this.nsp.on(DELIVERED_EVENT, (key: unknown) => {
      if (typeof key === "string") this.finish(key, "delivered");
    });
  }

  async start(): Promise<void> {
    await this.adapter.ready();
    this.dispatcher.start();
    this.timer = setInterval(() => this.sweep(Date.now()), sweepEveryMs(this.deps.ackTimeoutMs));
    this.timer.unref();
    this.unsubscribe = await this.deps.bus.subscribe(topics.node(this.deps.nodeId), (raw) =>
      this.fromBusiness(raw),
    );
  }

  /** For other emitters on the adapter (e.g. @socket.io/redis-emitter): io.to("u:<id>"). */
  admitted(actor: ConnectionActor): void {
    void actor.socket.join(`u:${actor.userId}`);
  }

  /** Nobody moves: a user stays on the node they connected to. */
  membershipChanged(_nodes: readonly NodeInfo[]): void {}

  /**
   * An outcome on this node. For a receipt it fanned out: `delivered` settles it, `offline`
   * (none here) asks presence about the other nodes, `failed` waits for a late report until
   * the deadline. For one fanned out by another node, only an ack is reported (to every
   * node: the one holding the pending receipt settles it).
   */
  settle(request: ReceiptRequest, outcome: ReceiptStatus): void {
    const entry = this.pending.get(keyOf(request));
    if (!entry) {
      if (outcome === "delivered") this.nsp.serverSideEmit(DELIVERED_EVENT, keyOf(request));
      return;
    }
    if (outcome === "delivered") this.finish(entry.key, "delivered");
    else if (outcome === "offline") this.checkOffline(entry);
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = null;
  }

  settlePending(): void {
    this.dispatcher.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sweep(Infinity);
  }

  close(): Promise<void> {
    return this.adapter.close();
  }

  /**
   * Commands from business (one, or an envelope of several): run here and on every other node,
   * once each, with one serverSideEmit for all of them.
   */
  private fromBusiness(raw: string): void {
    const { commands, valid } = this.dispatcher.decode(raw);
    const fresh = commands.filter((command) => this.expect(command));
    if (fresh.length === 0) return;
    // Passed on as it came unless something in it was dropped here: then only what runs here.
    const forward =
      valid && fresh.length === commands.length ? raw : encodeBatch(fresh.map(encode));
    this.nsp.serverSideEmit(COMMAND_EVENT, forward);
    for (const command of fresh) this.dispatcher.run(command);
  }

  /** Registers the outcomes a command asks for; false when it was seen already (one outcome). */
  private expect(command: NodeCommand): boolean {
    const requests = requestsOf(command);
    if (requests.some((request) => this.pending.has(keyOf(request)))) return false;
    const deadline = Date.now() + this.deps.ackTimeoutMs + REPORT_MARGIN_MS;
    for (const request of requests) {
      const entry: PendingReceipt = { key: keyOf(request), request, deadline };
      this.pending.set(entry.key, entry);
    }
    return true;
  }

  /** Not held here: `offline` if the recipient holds no connection on any node. */
  private checkOffline(entry: PendingReceipt): void {
    this.deps.presence.online([entry.request.to]).then(
      ([online]) => {
        if (!online) this.finish(entry.key, "offline");
      },
      (err: unknown) => this.deps.logger.warn({ err }, "presence lookup for a receipt failed"),
    );
  }

  /**
   * The one outcome of a pending entry: an `undelivered` event if business asked; the receipt,
   * if asked, pushed to the sender wherever they are connected.
   */
  private finish(key: string, status: ReceiptStatus): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    reportUndelivered(this.deps, entry.request, status);
    if (!entry.request.receipt) return;
    this.deps.metrics.receipts.inc({ status });
    const command = receiptCommand(entry.request, status);
    this.nsp.serverSideEmit(COMMAND_EVENT, encode(command));
    this.dispatcher.run(command);
  }

  private sweep(now: number): void {
    // finish() deletes the entry just visited, which a Map's iteration allows.
    for (const entry of this.pending.values()) {
      if (entry.deadline > now) break;
      this.finish(entry.key, "failed");
    }
  }
}
