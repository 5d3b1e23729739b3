// Acks and receipts for every push of a node. Each push has one ack handler (socket.io calls it
// with `this` = the acking socket) and one entry in a FIFO; every deadline is now + the same
// timeout, so the FIFO is ordered by deadline and one interval per node sweeps its head: no
// timer per message. On expiry the push's ack ids are taken out of the sockets that never
// acked, so a client that never acks does not grow its socket's `acks` map.
import type { Socket } from "socket.io";
import type { ReceiptPush, UserId } from "../engine/protocol.js";
import { clearAck, setAck, type AckHandler } from "./socket-internals.js";

/** A message whose sender asked for a receipt about `to`, the recipient held by this node. */
export interface ReceiptRequest {
  messageId: string;
  from: UserId;
  to: UserId;
  /**
   * Adapter mode: this node's outcome goes to the node that fans the push out, which combines
   * every node's answer into the one receipt ("offline" then means "none here").
   */
  report?: (status: ReceiptPush["status"]) => void;
}

interface PendingReceipt extends ReceiptRequest {
  settled: boolean;
}

interface PendingPush {
  readonly id: number;
  readonly deadline: number;
  /** The sockets the push went to; emptied once all of them acked. */
  targets: readonly { readonly socket: Socket }[];
  unacked: number;
  readonly receipt: PendingReceipt | null;
  readonly ack: AckHandler;
}

export interface ReceiptTrackerDeps {
  readonly ackTimeoutMs: number;
  /** Counts one ack from a client. */
  acked(): void;
  /** The user a socket was authenticated as. */
  userOf(socket: Socket): UserId | undefined;
  /** Sends one receipt to the sender, wherever they are connected. */
  emit(from: UserId, receipt: ReceiptPush): void;
}

const NONE: readonly { readonly socket: Socket }[] = [];

export class ReceiptTracker {
  private fifo: (PendingPush | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: ReceiptTrackerDeps) {}

  /** Pending pushes (acked or not) still waiting for their deadline. */
  get pending(): number {
    return this.fifo.length - this.head;
  }

  start(): void {
    // A tenth of the timeout keeps a late `failed` within 10% of it, at most one wake-up a second.
    const every = Math.min(1_000, Math.max(10, Math.floor(this.deps.ackTimeoutMs / 10)));
    this.timer = setInterval(() => this.sweep(Date.now()), every);
    this.timer.unref();
  }

  /**
   * Sets push `id`'s ack handler on every target socket, to be called before the push is
   * written. `receipt`: the sender wants to know whether `receipt.to` got it.
   */
  track(
    id: number,
    targets: readonly { readonly socket: Socket }[],
    receipt: ReceiptRequest | null,
  ): void {
    const onAck = this.onAck;
    const entry: PendingPush = {
      id,
      deadline: Date.now() + this.deps.ackTimeoutMs,
      targets,
      unacked: targets.length,
      receipt: receipt ? { ...receipt, settled: false } : null,
      ack(this: Socket) {
        onAck(entry, this);
      },
    };
    for (let i = 0; i < targets.length; i++) setAck(targets[i]!.socket, id, entry.ack);
    this.fifo.push(entry);
  }

  /** The recipient has no connection here: the receipt is `offline` at once. */
  offline(request: ReceiptRequest): void {
    this.settle(request, "offline");
  }

  /** Settles whatever is pending as at its deadline (shutdown) and stops sweeping. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sweep(Infinity);
  }

  sweep(now: number): void {
    const fifo = this.fifo;
    let head = this.head;
    while (head < fifo.length && fifo[head]!.deadline <= now) {
      this.expire(fifo[head]!);
      fifo[head++] = undefined;
    }
    if (head === fifo.length) {
      this.fifo = [];
      this.head = 0;
    } else if (head > 1024 && head * 2 > fifo.length) {
      this.fifo = fifo.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }

  private readonly onAck = (entry: PendingPush, socket: Socket): void => {
    this.deps.acked();
    if (--entry.unacked === 0) entry.targets = NONE;
    const receipt = entry.receipt;
    if (receipt && !receipt.settled && this.deps.userOf(socket) === receipt.to) {
      receipt.settled = true;
      this.settle(receipt, "delivered");
    }
  };

  private expire(entry: PendingPush): void {
    const targets = entry.targets;
    for (let i = 0; i < targets.length; i++) clearAck(targets[i]!.socket, entry.id, entry.ack);
    entry.targets = NONE;
    const receipt = entry.receipt;
    if (receipt && !receipt.settled) {
      receipt.settled = true;
      this.settle(receipt, "failed");
    }
  }

  private settle(request: ReceiptRequest, status: ReceiptPush["status"]): void {
    if (request.report) {
      request.report(status);
      return;
    }
    this.deps.emit(request.from, {
      messageId: request.messageId,
      to: request.to,
      status,
      ts: Date.now(),
    });
  }
}
