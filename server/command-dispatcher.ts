// Command → local actors: executes the commands that reach this node (however its routing mode
// brings them) on the connections it holds. Each payload is decoded once and each push is
// encoded once, whatever the number of local connections it reaches. Every receipt outcome goes
// to the one ReceiptSink it was built with.
import type { Socket } from "socket.io";
import type { Logger } from "../config/logger.js";
import type { BroadcastPush, KickReason, UserId } from "../engine/protocol.js";
import { decodePayload, messageRef, type NodeCommand, type PushCommand } from "../engine/wire.js";
import type { ActorHost, ConnectionActor } from "./connection-actor.js";
import type { ConnectionIndex } from "./connection-index.js";
import type { ImMetrics, PushEvent } from "./metrics.js";
import { ReceiptTracker, type ReceiptRequest, type ReceiptSink } from "./receipt-tracker.js";
import { ThrottledWarn } from "./throttled-warn.js";

/**
 * The outcomes a message push asks for, one per recipient listed in `to`: a receipt for a
 * direct message's recipient (`receipt`), an `undelivered` event for each of `notify`.
 */
export function requestsOf(command: NodeCommand): ReceiptRequest[] {
  // Only a message item asks for outcomes (the wire refuses `receipt` on edits and the like).
  if (command.kind !== "push" || command.event !== "message") return [];
  const { data } = command;
  if (data.kind !== "message") return [];
  const receiptFor = command.receipt === true ? data.to : undefined;
  if (receiptFor === undefined && command.notify === undefined) return [];
  const notify = new Set(command.notify);
  const wanted = new Set(notify);
  if (receiptFor !== undefined) wanted.add(receiptFor);
  const requests: ReceiptRequest[] = [];
  for (const to of wanted) {
    if (!command.to.includes(to)) continue;
    requests.push({
      messageId: data.id,
      from: data.from,
      to,
      receipt: to === receiptFor,
      notify: notify.has(to) ? messageRef(data) : null,
    });
  }
  return requests;
}

export interface CommandDispatcherDeps {
  readonly host: Pick<ActorHost, "writer">;
  readonly index: ConnectionIndex;
  readonly metrics: ImMetrics;
  readonly logger: Logger;
  readonly ackTimeoutMs: number;
  readonly receipts: ReceiptSink;
  /** The user a socket was authenticated as. */
  userOf(socket: Socket): UserId | undefined;
}

export class CommandDispatcher {
  /** Numbers each push, so an actor reached twice by one command (a user listed twice) is skipped. */
  private pushNo = 0;
  private readonly tracker: ReceiptTracker;
  private readonly droppedWarn: ThrottledWarn;

  constructor(private readonly deps: CommandDispatcherDeps) {
    this.droppedWarn = new ThrottledWarn(deps.logger, "dropped an invalid bus command");
    const metrics = deps.metrics;
    this.tracker = new ReceiptTracker({
      ackTimeoutMs: deps.ackTimeoutMs,
      receipts: deps.receipts,
      acked: () => metrics.acks++,
      userOf: deps.userOf,
    });
  }

  /** Starts sweeping ack deadlines. */
  start(): void {
    this.tracker.start();
  }

  /** Settles every pending receipt as at its deadline (shutdown). */
  stop(): void {
    this.tracker.stop();
  }

  /**
   * A raw bus payload (one command or an envelope of several), decoded once; anything invalid
   * is counted and dropped. `valid`: false when something was dropped.
   */
  decode(raw: string): { commands: NodeCommand[]; valid: boolean } {
    const { commands, dropped } = decodePayload(raw);
    if (dropped > 0) {
      this.deps.metrics.droppedCommands.inc(dropped);
      this.droppedWarn.warn({ bytes: raw.length, dropped });
    }
    return { commands, valid: dropped === 0 };
  }

  /** A raw bus payload: decoded once, its commands run in order. */
  handle(raw: string): void {
    const { commands } = this.decode(raw);
    for (let i = 0; i < commands.length; i++) this.run(commands[i]!);
  }

  /** Executes a command on the local connections; a bug in one is logged, not fatal. */
  run(command: NodeCommand): void {
    try {
      switch (command.kind) {
        case "push":
          this.push(command);
          return;
        case "broadcast":
          this.broadcast(command.data);
          return;
        case "kick":
          this.kick(command.userId, command.reason, command.sessionId);
          return;
      }
    } catch (err) {
      // A bug must not take the node down with every connection on it.
      this.deps.logger.error({ err, kind: command.kind }, "command failed");
    }
  }

  /** Sends kicked{reason} to the user's connections here (only `sessionId`'s, if given) and closes them. */
  private kick(userId: UserId, reason: KickReason, sessionId?: string): void {
    const actors = this.deps.index.ofUser(userId);
    if (!actors) return;
    const targets = actors.filter(
      (actor) => actor.accepting && (sessionId === undefined || actor.sessionId === sessionId),
    );
    if (targets.length === 0) return;
    this.deps.metrics.pushes.inc({ event: "kicked" });
    const kicked = this.deps.host.writer.encode("kicked", { reason });
    for (const actor of targets) actor.kick(reason, kicked);
    this.deps.logger.info({ userId, reason, connections: targets.length }, "kicked");
  }

  private push(command: PushCommand): void {
    // A recipient whose outcome is wanted but who has no connection here is `offline` at once.
    const requests = requestsOf(command).filter((request) => {
      if (this.deps.index.reaches(request.to)) return true;
      this.deps.receipts.settle(request, "offline");
      return false;
    });
    this.deliver(command.event, command.to, command.data, requests);
  }

  private broadcast(data: BroadcastPush): void {
    const targets: ConnectionActor[] = [];
    for (const actor of this.deps.index.all()) if (actor.accepting) targets.push(actor);
    this.send("broadcast", "message", data, targets, []);
  }

  private deliver(
    event: PushCommand["event"],
    userIds: readonly UserId[],
    data: PushCommand["data"],
    requests: readonly ReceiptRequest[],
  ): void {
    const no = ++this.pushNo;
    const targets: ConnectionActor[] = [];
    for (let i = 0; i < userIds.length; i++) {
      const actors = this.deps.index.ofUser(userIds[i]!);
      if (!actors) continue;
      for (let j = 0; j < actors.length; j++) {
        const actor = actors[j]!;
        if (!actor.accepting || actor.lastPush === no) continue;
        actor.lastPush = no;
        targets.push(actor);
      }
    }
    this.send(event, event, data, targets, requests);
  }

  private send(
    label: PushEvent,
    event: string,
    data: unknown,
    targets: ConnectionActor[],
    requests: readonly ReceiptRequest[],
  ): void {
    this.deps.metrics.pushes.inc({ event: label });
    if (targets.length === 0) return;
    const push = this.deps.host.writer.encode(event, data);
    this.tracker.track(push, targets, requests);
    for (let i = 0; i < targets.length; i++) targets[i]!.deliver(push);
  }
}
