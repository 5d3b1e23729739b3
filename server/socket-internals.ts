// The only module that touches socket.io / engine.io internals. Read from socket.io 4.8.4,
// socket.io-adapter 2.5.x (dist/in-memory-adapter.js, broadcastWithAck and _encode),
// engine.io 6.6.x (build/socket.js, build/transports/websocket.js) and ws 8.x.
//
// Why: socket.io's public emit encodes a packet per socket. A push to N connections must be
// serialised once, exactly as the in-memory adapter's broadcastWithAck does: one EVENT packet
// with one ack id from the namespace's counter, encoded once, the same bytes (and the same
// precomputed WebSocket frame) written to every socket, with the ack handler set in each
// socket's `acks` map. Our own mailbox then needs the transport's back-pressure signal, which
// socket.io does not expose either. If a socket.io upgrade changes any of this, only this file
// (and its tests in test/server.test.ts) has to follow.
import type { Server, Socket } from "socket.io";

/** socket.io-parser's PacketType.EVENT (not a direct dependency, so not imported). */
const EVENT = 2;

/** engine.io write options; `compress` is set by engine.io itself on the shared object. */
interface WriteOptions {
  preEncoded: true;
  compress?: boolean;
  /** [header, payload]: sent as-is by engine.io's websocket transport (no per-socket framing). */
  wsPreEncodedFrame?: Buffer[];
}

/** A push serialised once, shared by every connection that receives it. */
export interface EncodedPush {
  /** The ack id, unique in the namespace, the same for every socket (as broadcastWithAck). */
  readonly id: number;
  readonly packets: readonly unknown[];
  readonly opts: WriteOptions;
  /** The whole WebSocket frame (header + payload) in one buffer, for the direct write. */
  readonly frame: Buffer | null;
}

/** An ack handler: socket.io calls it with `this` = the acking socket, so one serves a push. */
export type AckHandler = (this: Socket, ...args: unknown[]) => void;

/** What we use of socket.io's private Socket and Client members. */
interface SocketPrivates {
  acks: Map<number, AckHandler>;
  client: { writeToEngine(packets: readonly unknown[], opts: WriteOptions): void };
}

/** engine.io's websocket transport: its `ws` WebSocket is `socket`. */
interface WebSocketTransportPrivates {
  socket?: { terminate?: () => void };
}

/** engine.io's Socket: its write buffer, and the upgraded HTTP request whose TCP socket ws uses. */
interface ConnPrivates {
  readyState: string;
  writeBuffer: unknown[];
  transport: { writable: boolean };
  request: { socket: import("node:net").Socket };
}

function conn(socket: Socket): ConnPrivates {
  return socket.conn as unknown as ConnPrivates;
}

function privates(socket: Socket): SocketPrivates {
  return socket as unknown as SocketPrivates;
}

/**
 * The RFC 6455 header of an unmasked, final text frame of `length` bytes: what ws's
 * `Sender.frame(data, {fin: true, opcode: 1, mask: false})` produces, written here so we need
 * not import `ws`, which is only a transitive dependency.
 */
export function textFrameHeader(length: number): Buffer {
  if (length < 126) {
    const header = Buffer.allocUnsafe(2);
    header[0] = 0x81;
    header[1] = length;
    return header;
  }
  if (length < 65536) {
    const header = Buffer.allocUnsafe(4);
    header[0] = 0x81;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.allocUnsafe(10);
  header[0] = 0x81;
  header[1] = 127;
  header[2] = header[3] = 0;
  header.writeUIntBE(length, 4, 6);
  return header;
}

/** Serialises `event` + `payload` once, with a fresh ack id from the "/" namespace's counter. */
export function encodePush(io: Server, event: string, payload: unknown): EncodedPush {
  const nsp = io.of("/");
  const id = nsp._ids++;
  const packets = io.encoder.encode({ type: EVENT, nsp: "/", data: [event, payload], id });
  const opts: WriteOptions = { preEncoded: true };
  const only = packets.length === 1 ? packets[0] : undefined;
  let frame: Buffer | null = null;
  if (typeof only === "string") {
    // "4" is engine.io's "message" packet type; the frame is then written as-is to every socket.
    const data = Buffer.from("4" + only);
    const header = textFrameHeader(data.length);
    opts.wsPreEncodedFrame = [header, data];
    frame = Buffer.concat([header, data]);
  }
  return { id, packets, opts, frame };
}

/**
 * Writes an encoded push to one socket. When engine.io has nothing buffered and its transport is
 * idle, the frame goes straight to the TCP socket that ws writes to: frames are whole and
 * permessage-deflate is off, so this cannot interleave inside another frame, and with engine.io's
 * buffer empty nothing is overtaken. That skips engine.io's per-packet objects, events and
 * callbacks, the bulk of a delivery's CPU. Otherwise engine.io queues it behind what it holds.
 */
export function writePush(socket: Socket, push: EncodedPush): void {
  const c = conn(socket);
  if (push.frame && c.writeBuffer.length === 0 && c.transport.writable && c.readyState === "open") {
    const tcp = c.request.socket;
    if (tcp.writable) {
      tcp.write(push.frame);
      return;
    }
  }
  privates(socket).client.writeToEngine(push.packets, push.opts);
}

/** Writes several pushes to one socket as one write to the kernel. */
export function writePushes(socket: Socket, pushes: readonly EncodedPush[]): void {
  const tcp = conn(socket).request.socket;
  tcp.cork();
  for (let i = 0; i < pushes.length; i++) writePush(socket, pushes[i]!);
  tcp.uncork();
}

export function setAck(socket: Socket, id: number, handler: AckHandler): void {
  privates(socket).acks.set(id, handler);
}

/** Forgets an ack that never came, unless the id now holds someone else's handler. */
export function clearAck(socket: Socket, id: number, handler: AckHandler): void {
  const acks = privates(socket).acks;
  if (acks.get(id) === handler) acks.delete(id);
}

export function pendingAcks(socket: Socket): number {
  return privates(socket).acks.size;
}

/**
 * True when the transport can take a write now. engine.io's websocket transport clears
 * `writable` on send and sets it again only when ws has handed the last frame to the kernel, so
 * a client that stops reading keeps it false: the kernel buffers are the only slack, and ws's
 * own `bufferedAmount` never holds more than the batch in flight.
 */
export function isWritable(socket: Socket): boolean {
  const c = conn(socket);
  return c.readyState === "open" && c.transport.writable && !c.request.socket.writableNeedDrain;
}

/**
 * Calls `listener` each time the transport becomes writable again. The websocket transport
 * emits "ready" right after it sets `writable` (engine.io's socket, listening first, has then
 * flushed its own buffer). engine.io's socket-level "drain" is not used: it fires on handing a
 * buffer to the transport, and not at all when that buffer was empty.
 */
export function onWritable(socket: Socket, listener: () => void): () => void {
  const transport = socket.conn.transport;
  const tcp = conn(socket).request.socket;
  transport.on("ready", listener);
  tcp.on("drain", listener);
  return () => {
    transport.off("ready", listener);
    tcp.off("drain", listener);
  };
}

// engine.io emits "flush" right before it hands its buffer to the transport and "drain" right
// after, synchronously; the websocket transport then writes each packet as its own frame, and ws
// writes each frame with its own syscall. Corking the TCP socket in between turns a batch of N
// packets into one writev. `this` is engine.io's socket: no closure per connection.
function corkBatch(this: Socket["conn"]): void {
  this.request.socket.cork();
}
function uncorkBatch(this: Socket["conn"]): void {
  this.request.socket.uncork();
}

/** Makes every batch engine.io sends on this connection one write to the kernel. */
export function batchWrites(socket: Socket): void {
  socket.conn.on("flush", corkBatch);
  socket.conn.on("drain", uncorkBatch);
}

/**
 * Calls `listener` once the TCP socket under the connection has closed (at once if it has).
 * engine.io counts a websocket closed as soon as it asks ws to close, but ws then waits up to
 * 30 s for the client's close frame: only the TCP socket tells when the connection is gone.
 */
export function onTcpClosed(socket: Socket, listener: () => void): void {
  const tcp = conn(socket).request.socket;
  if (tcp.destroyed) listener();
  else tcp.once("close", listener);
}

/** Drops the connection at once (a client that stopped reading cannot take a close frame). */
export function terminate(socket: Socket): void {
  const transport = socket.conn.transport as unknown as WebSocketTransportPrivates;
  if (typeof transport.socket?.terminate === "function") transport.socket.terminate();
  else socket.conn.close(true);
}

/**
 * What is waiting to be sent on a socket beyond our mailbox: engine.io's write buffer (packets)
 * and ws's buffered bytes (handed to the socket, not yet to the kernel). For tests and debugging.
 */
export function outgoingBacklog(socket: Socket): {
  packets: number;
  wsBytes: number;
  tcpBytes: number;
} {
  const c = conn(socket);
  const transport = socket.conn.transport as unknown as { socket?: { bufferedAmount?: number } };
  return {
    packets: c.writeBuffer.length,
    wsBytes: transport.socket?.bufferedAmount ?? 0,
    tcpBytes: c.request.socket.writableLength,
  };
}
