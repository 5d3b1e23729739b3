// What a client's transport may do, from its first byte (before any token): frames of at most
// MAX_FRAME_BYTES (engine.io's maxHttpBufferSize, which it hands to ws as maxPayload), text only
// (clients send nothing but acks, so a binary attachment is never needed, and socket.io would
// buffer attachments until the last arrives), and the token handshake done within
// HANDSHAKE_TIMEOUT_MS; until then, only socket.io's CONNECT may come (after it, a frame that
// does not decode is counted by admission's socket error listener). Each breach closes the
// connection and is counted by reason.
import type { Server, Socket } from "socket.io";
import { perEmitter } from "./emitter-listener.js";
import type { ImMetrics, RefusalReason } from "./metrics.js";

export const MAX_FRAME_BYTES = 4 * 1024;
export const HANDSHAKE_TIMEOUT_MS = 5_000;

/** The engine.io connection under a socket.io socket (its `conn`). */
export type Transport = Socket["conn"];

/** What follows the guard on each connection: the text frames it let through, and the close. */
export interface TransportFollower {
  frame(conn: Transport, data: string): void;
  closed(conn: Transport): void;
}

interface Packet {
  type: string;
  data?: unknown;
}

/** socket.io packet types 5 and 6 (BINARY_EVENT, BINARY_ACK) announce attachments to follow. */
const ANNOUNCES_ATTACHMENTS = /^[56]/;
/** socket.io's CONNECT: "0", an optional namespace ("/name,"), an optional JSON object (auth). */
const CONNECT = /^0(\/[^,]*,)?(\{.*\})?$/s;

export class TransportGuard {
  private readonly pending = new WeakMap<Transport, NodeJS.Timeout>();

  constructor(
    private readonly metrics: Pick<ImMetrics, "refusals">,
    private readonly next: TransportFollower,
  ) {}

  /** Watches every engine.io connection of `io` from its opening. */
  attach(io: Server): void {
    io.engine.on("connection", (conn: Transport) => this.watch(conn));
  }

  /** The connection completed its handshake (socket.io's "connection"): no deadline any more. */
  admitted(conn: Transport): void {
    clearTimeout(this.pending.get(conn));
    this.pending.delete(conn);
  }

  private watch(conn: Transport): void {
    const timer = setTimeout(this.expire, HANDSHAKE_TIMEOUT_MS, conn);
    timer.unref();
    this.pending.set(conn, timer);
    conn.on("packet", this.onPacket);
    conn.on("close", this.onClose); // engine.io emits it once
  }

  private readonly expire = (conn: Transport): void => this.refuse(conn, "handshake_timeout");

  private readonly onPacket = perEmitter((conn: Transport, packet: Packet) => {
    if (packet.type !== "message") return;
    const data = packet.data;
    if (typeof data !== "string" || ANNOUNCES_ATTACHMENTS.test(data))
      this.refuse(conn, "binary_frame");
    else if (this.pending.has(conn) && !isConnect(data)) this.refuse(conn, "malformed_frame");
    else this.next.frame(conn, data);
  });

  private readonly onClose = perEmitter((conn: Transport, reason: string, description: unknown) => {
    this.admitted(conn);
    // ws refuses the frame (close 1009) and engine.io reports it as a transport error.
    if (reason === "transport error" && /max payload/i.test(messageOf(description)))
      this.metrics.refusals.inc({ reason: "frame_too_large" });
    this.next.closed(conn);
  });

  private refuse(conn: Transport, reason: RefusalReason): void {
    if (conn.readyState === "closed" || conn.readyState === "closing") return;
    this.metrics.refusals.inc({ reason });
    conn.close();
  }
}

function isConnect(data: string): boolean {
  const match = CONNECT.exec(data);
  if (!match) return false;
  if (match[2] === undefined) return true;
  try {
    JSON.parse(match[2]);
    return true;
  } catch {
    return false;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
