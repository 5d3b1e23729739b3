// Acks and receipts for every push of a node. Each push has one ack handler (socket.io calls it
// with `this` = the acking socket) and one entry in an insertion-ordered set; every deadline is
// now + the same timeout, so the set is ordered by deadline and one interval per node sweeps its
// oldest entries: no timer per message. A push leaves the set as soon as it is settled (every
// target acked, no outcome owed), so what the node holds is what is in flight, not the last
// timeout's worth of pushes (at 20,000 deliveries/s, 200,000 entries that outlived every
// scavenge, were promoted and made the old generation grow). On expiry the push's ack ids are
// taken out of the sockets that never acked, so a client that never acks does not grow its
// socket's `acks` map.
import type { Socket } from "socket.io";
import type { ReceiptStatus, UserId } from "../engine/protocol.js";
import type { MessageRef, PushCommand } from "../engine/wire.js";
import { clearAck, type AckHandler, type EncodedPush } from "./socket-internals.js";

/** How often a node sweeps its ack deadlines: a tenth of the timeout keeps a late `failed`
 * within 10% of it, at most one wake-up a second. */
export function sweepEveryMs(ackTimeoutMs: number): number {
  return Math.min(1_000, Math.max(10, Math.floor(ackTimeoutMs / 10)));
}

/** The receipt command that tells `request.from` the outcome for `request.to`. */
export function receiptCommand(request: ReceiptRequest, status: ReceiptStatus): PushCommand {
  return {
    v: 1,
    kind: "push",
    event: "receipt",
    to: [request.from],
    data: { messageId: request.messageId, to: request.to, status, ts: Date.now() },
  };
}

/**
 * An outcome wanted for `to` about a message: the sender's receipt, business's `undelivered`
 * event (wire `notify`), or both.
 */
export interface ReceiptRequest {
  readonly messageId: string;
  readonly from: UserId;
  readonly to: UserId;
  /** The sender asked for a receipt. */
  readonly receipt: boolean;
  /** Business asked to hear `offline` / `failed`: the message the event names. */
  readonly notify: MessageRef | null;
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
  /** The outcomes still owed for this push (usually none or one); each leaves once settled. */
  requests: ReceiptRequest[];
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
/** Shared by every push that wants no outcome; never written to. */
const NO_REQUESTS: ReceiptRequest[] = [];

export class ReceiptTracker {
  /** The pushes not yet settled, oldest (earliest deadline) first. */
  private readonly pending = new Set<PendingPush>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: ReceiptTrackerDeps) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(Date.now()), sweepEveryMs(this.deps.ackTimeoutMs));
    this.timer.unref();
  }

  /**
   * Gives `push` its ack handler, to be set on each target socket as the push is written.
   * `requests`: the outcomes wanted, one per recipient (each reaching a target here).
   */
  track(
    push: EncodedPush,
    targets: readonly { readonly socket: Socket }[],
    requests: readonly ReceiptRequest[],
  ): void {
    const onAck = this.onAck;
    const entry: PendingPush = {
      id: push.id,
      deadline: Date.now() + this.deps.ackTimeoutMs,
      targets,
      unacked: targets.length,
      requests: requests.length === 0 ? NO_REQUESTS : [...requests],
      ack(this: Socket) {
        onAck(entry, this);
      },
    };
    push.ack = entry.ack;
    this.pending.add(entry);
  }

  /** How many pushes are not yet settled: what the node holds. */
  get size(): number {
    return this.pending.size;
  }

  /** Settles whatever is pending as at its deadline (shutdown) and stops sweeping. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sweep(Infinity);
  }

  sweep(now: number): void {
    // A Set iterates in insertion order, and deleting the entry just visited is safe.
    for (const entry of this.pending) {
      if (entry.deadline > now) break;
      this.pending.delete(entry);
      this.expire(entry);
    }
  }

  private readonly onAck = (entry: PendingPush, socket: Socket): void => {
    this.deps.acked();
    if (--entry.unacked === 0) entry.targets = NONE;
    const requests = entry.requests;
    if (requests.length > 0) {
      const userId = this.deps.userOf(socket);
      const i = requests.findIndex((request) => request.to === userId);
      if (i !== -1) {
        const [request] = requests.splice(i, 1);
        this.deps.receipts.settle(request!, "delivered");
      }
    }
    // Settled: nothing left to clear at the deadline, nothing owed.
    if (entry.unacked <= 0 && entry.requests.length === 0) this.pending.delete(entry);
  };

  private expire(entry: PendingPush): void {
    const targets = entry.targets;
    for (let i = 0; i < targets.length; i++) clearAck(targets[i]!.socket, entry.id, entry.ack);
    entry.targets = NONE;
    const requests = entry.requests;
    entry.requests = NO_REQUESTS;
    for (const request of requests) this.deps.receipts.settle(request, "failed");
  }
}
