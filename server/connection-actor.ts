// One connection, one actor: an explicit state, a bounded ordered mailbox of pushes already
// encoded for every recipient, and one close reason. Per-connection memory is a few fields and
// the queue; nothing here allocates a closure or a timer per message.
import type { Socket } from "socket.io";
import type { UserId, KickReason } from "../engine/protocol.js";
import type { CloseReason } from "./metrics.js";
import type { EncodedPush, SocketWriter } from "./socket-internals.js";

export type ActorState = "authenticating" | "online" | "closing" | "closed";

/** What an actor needs from its node: shared by every actor, so none holds its own copies. */
export interface ActorHost {
  /** Packets a mailbox may hold. */
  readonly mailboxMax: number;
  /** Bytes a mailbox may hold (the sum of its pushes' encoded sizes). */
  readonly mailboxMaxBytes: number;
  /** How pushes reach sockets; read at each write, since a node may fall back at a handshake. */
  readonly writer: SocketWriter;
  /** How long a closing connection may take to flush before it is dropped. */
  readonly closeGraceMs: number;
  /** Counts `count` packets written to a connection. */
  delivered(count: number): void;
  /** Encodes kicked{reason} (with its own ack id). */
  encodeKicked(reason: KickReason): EncodedPush;
  /** Counts a kicked message handed to a connection. */
  kicked(reason: KickReason): void;
  overflowed(actor: ConnectionActor): void;
  /** Asks for `actor.flush()` once the commands being handled now are all handled. */
  schedule(actor: ConnectionActor): void;
  /** Every transition to closing or closed, once each, with the actor's one reason. */
  transitioned(actor: ConnectionActor, from: ActorState): void;
}

export class ConnectionActor {
  state: ActorState = "authenticating";
  reason: CloseReason | null = null;
  /** The last push number delivered, so a user listed twice in one command gets it once. */
  lastPush = 0;
  private queue: EncodedPush[] = [];
  private queuedBytes = 0;
  /** A flush is scheduled: more mail before it joins the same write. */
  private scheduled = false;
  /** Flushes when the transport can take writes again (the one closure an actor holds). */
  private readonly writable = (): void => this.flush();
  private graceTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly socket: Socket,
    readonly userId: UserId,
    readonly sessionId: string,
    private readonly host: ActorHost,
  ) {
    host.writer.watchWritable(socket, this.writable);
  }

  get connId(): string {
    return this.socket.id;
  }

  /** Authenticating or online: mail is accepted (queued until online). */
  get accepting(): boolean {
    return this.state === "authenticating" || this.state === "online";
  }

  /** The handshake is complete (socket.io sent CONNECT): what was queued goes out now. */
  goOnline(): void {
    if (this.state !== "authenticating") return;
    this.state = "online";
    this.flush();
  }

  /**
   * Takes one push into the mailbox. The write happens once the commands being handled now are
   * all handled (FlushQueue), so what one read from the bus brings for this connection leaves in
   * one write to the kernel, however many commands it was.
   */
  deliver(push: EncodedPush): void {
    if (!this.accepting) return;
    const queue = this.queue;
    // One push into an empty mailbox always fits, however large, so a low byte bound cannot
    // refuse every message.
    if (
      queue.length >= this.host.mailboxMax ||
      (queue.length > 0 && this.queuedBytes + push.bytes > this.host.mailboxMaxBytes)
    ) {
      this.host.overflowed(this);
      this.kick("slow_consumer");
      return;
    }
    queue.push(push);
    this.queuedBytes += push.bytes;
    if (this.state === "online" && !this.scheduled) {
      this.scheduled = true;
      this.host.schedule(this);
    }
  }

  /** Writes everything queued in one go, when online and the transport is writable. */
  flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    const writer = this.host.writer;
    if (this.state !== "online" || queue.length === 0 || !writer.isWritable(this.socket)) return;
    // If the TCP socket then needs draining, the next flush waits for its "drain" (or for the
    // transport's "ready" when engine.io took some of them).
    if (queue.length === 1) writer.write(this.socket, queue[0]!);
    else writer.writeAll(this.socket, queue);
    this.host.delivered(queue.length);
    queue.length = 0;
    this.queuedBytes = 0;
  }

  /**
   * Sends kicked{reason} and closes. A slow consumer's queue is dropped and the kick bypasses
   * it; any other kick first hands the queue to engine.io (bounded by the mailbox size).
   * `kicked` is the packet when the caller encoded it once for several connections.
   */
  kick(reason: KickReason, kicked?: EncodedPush): void {
    if (!this.accepting) return;
    if (this.state === "online") {
      const writer = this.host.writer;
      if (reason !== "slow_consumer") {
        writer.writeAll(this.socket, this.queue);
        this.host.delivered(this.queue.length);
      }
      writer.write(this.socket, kicked ?? this.host.encodeKicked(reason));
      this.host.kicked(reason);
    }
    this.close(reason);
  }

  /** Closes without a kicked message (the client will see a plain disconnect). */
  close(reason: CloseReason): void {
    if (!this.accepting) return;
    const from = this.state;
    this.state = "closing";
    this.reason = reason;
    this.queue = [];
    this.queuedBytes = 0;
    this.host.transitioned(this, from);
    const conn = this.socket.conn;
    if (this.socket.connected) this.socket.disconnect(true);
    else conn.close(); // still authenticating: socket.io will drop it when the middleware ends
    // engine.io closes once its buffer is flushed, ws once the client answers its close frame; a
    // client that stopped reading does neither, so the TCP socket is dropped after the grace.
    const writer = this.host.writer;
    this.graceTimer = setTimeout(() => writer.terminate(this.socket), this.host.closeGraceMs);
    this.graceTimer.unref();
    writer.onClosed(this.socket, () => this.released());
  }

  /** The connection is gone (socket.io "disconnect" or the transport closed): final state. */
  gone(): boolean {
    if (this.state === "closed") return false;
    const from = this.state;
    this.state = "closed";
    this.reason ??= "client_gone";
    this.queue = [];
    this.queuedBytes = 0;
    this.host.writer.unwatchWritable(this.socket, this.writable);
    this.host.transitioned(this, from);
    return true;
  }

  /** The TCP socket has closed: nothing left to wait for. */
  released(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }
}

/**
 * The actors with mail to write, flushed together in a microtask: after the bus handler has
 * dispatched every command of the current read, before any I/O. One queue per node.
 */
export class FlushQueue {
  private pending: ConnectionActor[] = [];
  private scheduled = false;

  add(actor: ConnectionActor): void {
    this.pending.push(actor);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.run);
  }

  private readonly run = (): void => {
    const actors = this.pending;
    this.pending = [];
    this.scheduled = false;
    for (let i = 0; i < actors.length; i++) actors[i]!.flush();
  };
}
