// Executes the commands that arrive on this node's bus topic. Each payload is decoded once and
// each push is encoded once, whatever the number of local connections it reaches.
import type { Server } from "socket.io";
import type { Logger } from "../config/logger.js";
import type { BroadcastPush, KickReason, ReceiptPush, UserId } from "../engine/protocol.js";
import type { PartitionRouter } from "../engine/router.js";
import type { Bus } from "../engine/types.js";
import {
  decodeCommand,
  encode,
  topics,
  type NodeCommand,
  type PushCommand,
} from "../engine/wire.js";
import type { ConnectionActor } from "./connection-actor.js";
import type { ConnectionIndex } from "./connection-index.js";
import type { ImMetrics, PushEvent } from "./metrics.js";
import type { ReceiptRequest, ReceiptTracker } from "./receipt-tracker.js";
import { encodePush } from "./socket-internals.js";
import { ThrottledWarn } from "./throttled-warn.js";

/** Where a node's own receipt outcome goes in adapter mode (see CommandDispatcher.execute). */
export type ReceiptReport = (status: ReceiptPush["status"]) => void;

/** A direct message whose sender asked for a receipt about a recipient listed in `to` (the wire
 * allows `receipt` only on `kind: "message"` items). */
export function wantsReceipt(command: NodeCommand): boolean {
  return (
    command.kind === "push" &&
    command.event === "message" &&
    command.receipt === true &&
    command.data.to !== undefined &&
    command.to.includes(command.data.to)
  );
}

export interface CommandDispatcherDeps {
  readonly nodeId: string;
  readonly io: Server;
  readonly bus: Bus;
  readonly router: PartitionRouter;
  readonly index: ConnectionIndex;
  readonly metrics: ImMetrics;
  readonly logger: Logger;
}

export class CommandDispatcher {
  /** Numbers each push, so an actor reached twice by one command (a user listed twice) is skipped. */
  private pushNo = 0;
  private tracker: ReceiptTracker | null = null;
  /** Adapter mode: receipts go out through the adapter fan-out instead of a node's bus topic. */
  private receiptRoute: ((from: UserId, receipt: ReceiptPush) => void) | null = null;
  private readonly droppedWarn: ThrottledWarn;

  constructor(private readonly deps: CommandDispatcherDeps) {
    this.droppedWarn = new ThrottledWarn(deps.logger, "dropped an invalid bus command");
  }

  /** The tracker and the dispatcher need each other: receipts are pushes too. */
  useTracker(tracker: ReceiptTracker): void {
    this.tracker = tracker;
  }

  /** Sends every receipt this node settles through `route` (adapter mode). */
  routeReceiptsWith(route: (from: UserId, receipt: ReceiptPush) => void): void {
    this.receiptRoute = route;
  }

  /** A raw bus payload, decoded once; anything invalid is counted and dropped (null). */
  decode(raw: string): NodeCommand | null {
    const command = decodeCommand(raw);
    if (!command) {
      this.deps.metrics.droppedCommands.inc();
      this.droppedWarn.warn({ bytes: raw.length });
    }
    return command;
  }

  /** A raw bus payload: decoded once and executed. `report`: see execute. */
  handle(raw: string, report?: ReceiptReport): void {
    const command = this.decode(raw);
    if (command) this.run(command, report);
    else report?.("offline");
  }

  /** execute, with a bug in one command logged instead of taking the node down. */
  run(command: NodeCommand, report?: ReceiptReport): void {
    try {
      this.execute(command, report);
    } catch (err) {
      // A bug must not take the node down with every connection on it.
      this.deps.logger.error({ err, kind: command.kind }, "command failed");
    }
  }

  /**
   * `report` (adapter mode): this node's receipt outcome for the command goes there instead of
   * to the sender, exactly once ("offline": the recipient has no connection here).
   */
  execute(command: NodeCommand, report?: ReceiptReport): void {
    if (report && !wantsReceipt(command)) report("offline");
    switch (command.kind) {
      case "push":
        this.push(command, report);
        return;
      case "broadcast":
        this.broadcast(command.data);
        return;
      case "kick":
        this.kick(command.userId, command.reason, command.sessionId);
        return;
    }
  }

  /** Sends kicked{reason} to the user's connections here (only `sessionId`'s, if given) and closes them. */
  kick(userId: UserId, reason: KickReason, sessionId?: string): number {
    const actors = this.deps.index.ofUser(userId);
    if (!actors) return 0;
    const targets = [...actors].filter(
      (actor) => actor.accepting && (sessionId === undefined || actor.sessionId === sessionId),
    );
    if (targets.length === 0) return 0;
    this.deps.metrics.pushes.inc({ event: "kicked" });
    const kicked = encodePush(this.deps.io, "kicked", { reason });
    for (const actor of targets) actor.kick(reason, kicked);
    this.deps.logger.info({ userId, reason, connections: targets.length }, "kicked");
    return targets.length;
  }

  /** Sends a receipt to the sender's owner node: here directly, elsewhere over the bus. */
  emitReceipt(from: UserId, receipt: ReceiptPush): void {
    this.deps.metrics.receipts.inc({ status: receipt.status });
    if (this.receiptRoute) {
      this.receiptRoute(from, receipt);
      return;
    }
    const owner = this.deps.router.ownerOf(from);
    if (!owner || owner.nodeId === this.deps.nodeId) {
      this.deliver("receipt", [from], receipt, null);
      return;
    }
    const command: PushCommand = {
      v: 1,
      kind: "push",
      event: "receipt",
      to: [from],
      data: receipt,
    };
    this.deps.bus.publish(topics.node(owner.nodeId), encode(command)).catch((err: unknown) => {
      this.deps.logger.warn({ err, owner: owner.nodeId }, "receipt not published");
    });
  }

  private push(command: PushCommand, report?: ReceiptReport): void {
    if (command.event !== "message") {
      this.deliver(command.event, command.to, command.data, null);
      return;
    }
    const { data } = command;
    let receipt: ReceiptRequest | null = null;
    // `to` also lists the sender (their other devices); only the recipient, if held here, counts.
    if (wantsReceipt(command)) {
      receipt = { messageId: data.id, from: data.from, to: data.to!, ...(report && { report }) };
      if (!this.deps.index.reaches(receipt.to)) {
        this.tracker!.offline(receipt);
        receipt = null;
      }
    }
    this.deliver("message", command.to, data, receipt);
  }

  private broadcast(data: BroadcastPush): void {
    const targets: ConnectionActor[] = [];
    for (const actor of this.deps.index.all()) if (actor.accepting) targets.push(actor);
    this.send("broadcast", "message", data, targets, null);
  }

  private deliver(
    event: PushCommand["event"],
    userIds: readonly UserId[],
    data: PushCommand["data"],
    receipt: ReceiptRequest | null,
  ): void {
    const no = ++this.pushNo;
    const targets: ConnectionActor[] = [];
    for (let i = 0; i < userIds.length; i++) {
      const actors = this.deps.index.ofUser(userIds[i]!);
      if (!actors) continue;
      for (const actor of actors) {
        if (!actor.accepting || actor.lastPush === no) continue;
        actor.lastPush = no;
        targets.push(actor);
      }
    }
    this.send(event, event, data, targets, receipt);
  }

  private send(
    label: PushEvent,
    event: string,
    data: unknown,
    targets: ConnectionActor[],
    receipt: ReceiptRequest | null,
  ): void {
    this.deps.metrics.pushes.inc({ event: label });
    if (targets.length === 0) return;
    const push = encodePush(this.deps.io, event, data);
    this.tracker!.track(push.id, targets, receipt);
    for (let i = 0; i < targets.length; i++) targets[i]!.deliver(push);
  }
}
