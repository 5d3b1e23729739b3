// Acks and receipts for every push of a node. Each push has one ack handler (socket.io calls it
// with `this` = the acking socket) and one entry in a FIFO; every deadline is now + the same
// timeout, so the FIFO is ordered by deadline and one interval per node sweeps its head: no
// timer per message. On expiry the push's ack ids are taken out of the sockets that never
// acked, so a client that never acks does not grow its socket's `acks` map.
import type { Socket } from "socket.io";
import type { ReceiptStatus, UserId } from "../engine/protocol.js";
import { clearAck, type AckHandler, type EncodedPush } from "./socket-internals.js";

/** A message whose sender asked for a receipt about `to`. */
export interface ReceiptRequest {
  readonly messageId: string;
  readonly from: UserId;
  readonly to: UserId;
}

/**
 * Where every receipt outcome this node reaches goes: `delivered` (the first ack of one of the
 * recipient's connections here), `offline` (none here), `failed` (none acked in time). The
 * routing mode decides what an outcome becomes (see server/routing-mode.ts).
 */
export interface ReceiptSink {
  settle(request: ReceiptRequest, outcome: ReceiptStatus): void;
}

interface PendingPush {
  readonly id: number;
  readonly deadline: number;
  /** The sockets the push went to; emptied once all of them acked. */
  targets: readonly { readonly socket: Socket }[];
  unacked: number;
  /** The receipt still owed for this push; null once settled, or when none was asked. */
  receipt: ReceiptRequest | null;
  readonly ack: AckHandler;
}

export interface ReceiptTrackerDeps {
  readonly ackTimeoutMs: number;
  readonly receipts: ReceiptSink;
  /** Counts one ack from a client. */
  acked(): void;
  /** The user a socket was authenticated as. */
  userOf(socket: Socket): UserId | undefined;
}

const NONE: readonly { readonly socket: Socket }[] = [];

export class ReceiptTracker {
  private fifo: (PendingPush | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: ReceiptTrackerDeps) {}

  start(): void {
    // A tenth of the timeout keeps a late `failed` within 10% of it, at most one wake-up a second.
    const every = Math.min(1_000, Math.max(10, Math.floor(this.deps.ackTimeoutMs / 10)));
    this.timer = setInterval(() => this.sweep(Date.now()), every);
    this.timer.unref();
  }

  /**
   * Gives `push` its ack handler, to be set on each target socket as the push is written.
   * `receipt`: the sender wants to know whether `receipt.to` got it.
   */
  track(
    push: EncodedPush,
    targets: readonly { readonly socket: Socket }[],
    receipt: ReceiptRequest | null,
  ): void {
    const onAck = this.onAck;
    const entry: PendingPush = {
      id: push.id,
      deadline: Date.now() + this.deps.ackTimeoutMs,
      targets,
      unacked: targets.length,
      receipt,
      ack(this: Socket) {
        onAck(entry, this);
      },
    };
    push.ack = entry.ack;
    this.fifo.push(entry);
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
    if (receipt && this.deps.userOf(socket) === receipt.to) {
      entry.receipt = null;
      this.deps.receipts.settle(receipt, "delivered");
    }
  };

  private expire(entry: PendingPush): void {
    const targets = entry.targets;
    for (let i = 0; i < targets.length; i++) clearAck(targets[i]!.socket, entry.id, entry.ack);
    entry.targets = NONE;
    const receipt = entry.receipt;
    if (receipt) {
      entry.receipt = null;
      this.deps.receipts.settle(receipt, "failed");
    }
  }
}
