// The only module that touches socket.io / engine.io / ws internals. Read from socket.io 4.8.4,
// socket.io-adapter 2.5.x (dist/in-memory-adapter.js, broadcastWithAck and _encode),
// engine.io 6.6.13 (build/socket.js, build/transports/websocket.js) and ws 8.23.0, all three
// pinned exactly in package.json.
//
// Why: socket.io's public emit encodes a packet per socket. A push to N connections must be
// serialised once, exactly as the in-memory adapter's broadcastWithAck does: one EVENT packet
// with one ack id from the namespace's counter, encoded once, the same bytes (and the same
// precomputed WebSocket frame) written to every socket, with the ack handler set in each
// socket's `acks` map. Our own mailbox then needs the transport's back-pressure signal, which
// socket.io does not expose either.
//
// Guard: `missingServerInternal` (at start-up) and `missingInternal` (each handshake) check that
// every internal used is there and behaves; when one is not, the node writes through
// `publicWriter` (socket.io's own emit, with its own acks and timeouts) instead of
// `internalsWriter`: slower and without back-pressure, but every push still arrives.
import { createRequire } from "node:module";
import { Socket as TcpSocket } from "node:net";
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

/** An ack handler: socket.io calls it with `this` = the acking socket, so one serves a push. */
export type AckHandler = (this: Socket, ...args: unknown[]) => void;

/** A push serialised once, shared by every connection that receives it. */
export interface EncodedPush {
  readonly event: string;
  readonly data: unknown;
  /** The ack id, unique in the namespace, the same for every socket (-1: the public path). */
  readonly id: number;
  readonly packets: readonly unknown[];
  readonly opts: WriteOptions;
  /** The whole WebSocket frame (header + payload) in one buffer, for the direct write. */
  readonly frame: Buffer | null;
  /** What the push weighs in a mailbox: its encoded size. */
  readonly bytes: number;
  /** Set by the ReceiptTracker before the push is delivered; null: no ack is asked. */
  ack: AckHandler | null;
}

/** How a node writes pushes to its sockets; one of the two below, chosen at start-up. */
export interface SocketWriter {
  readonly mode: "internals" | "public";
  /** Serialises `event` + `payload` once, for any number of sockets. */
  encode(event: string, payload: unknown): EncodedPush;
  write(socket: Socket, push: EncodedPush): void;
  /** Several pushes to one socket, as one write to the kernel where it can. */
  writeAll(socket: Socket, pushes: readonly EncodedPush[]): void;
  /** True when the transport can take a write now. */
  isWritable(socket: Socket): boolean;
  /** Calls `listener` each time the transport becomes writable again, until unwatched. */
  watchWritable(socket: Socket, listener: () => void): void;
  unwatchWritable(socket: Socket, listener: () => void): void;
  /** Calls `listener` once the connection underneath has closed (at once if it has). */
  onClosed(socket: Socket, listener: () => void): void;
  /** Drops the connection at once (a client that stopped reading cannot take a close frame). */
  terminate(socket: Socket): void;
}

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
  request: { socket: TcpSocket };
}

function conn(socket: Socket): ConnPrivates {
  return socket.conn as unknown as ConnPrivates;
}

function privates(socket: Socket): SocketPrivates {
  return socket as unknown as SocketPrivates;
}

/**
 * The RFC 6455 header of an unmasked, final text frame of `length` bytes: what ws's
 * `Sender.frame(data, {fin: true, opcode: 1, mask: false})` produces (checked at start-up).
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

/** Whether the socket waits for an ack with this id (socket.io drops any other silently). */
export function awaitsAck(socket: Socket, id: number): boolean {
  const acks = privates(socket).acks;
  return !(acks instanceof Map) || acks.has(id);
}

/** Forgets an ack that never came, unless the id now holds someone else's handler. */
export function clearAck(socket: Socket, id: number, handler: AckHandler): void {
  const acks = privates(socket).acks;
  if (acks instanceof Map && acks.get(id) === handler) acks.delete(id);
}

/**
 * The node-wide internals, before any socket: the namespace's ack counter, an encoder that
 * gives one string per event packet, and ws framing text exactly as `textFrameHeader` does.
 * Returns what is missing or misbehaves, null when all is well.
 */
export function missingServerInternal(io: Server): string | null {
  if (typeof io.of("/")._ids !== "number") return "Namespace._ids";
  const packets: unknown = io.encoder.encode({ type: EVENT, nsp: "/", data: ["probe", 1], id: 0 });
  if (!Array.isArray(packets) || packets.length !== 1 || typeof packets[0] !== "string")
    return "Encoder.encode";
  try {
    const ws = createRequire(import.meta.url)("ws") as {
      Sender?: { frame?(data: Buffer, options: object): Buffer[] };
    };
    for (const length of [1, 126, 65_536]) {
      const frame = ws.Sender?.frame?.(Buffer.alloc(length), {
        fin: true,
        opcode: 1,
        mask: false,
        readOnly: false,
        rsv1: false,
      });
      if (!frame?.[0]?.equals(textFrameHeader(length))) return "ws Sender.frame";
    }
  } catch {
    return "ws Sender.frame";
  }
  return null;
}

/** The per-socket internals, on a socket in its handshake. Null when all is there. */
export function missingInternal(socket: Socket): string | null {
  const p = privates(socket);
  const c = conn(socket);
  if (!(p.acks instanceof Map)) return "Socket.acks";
  if (typeof p.client?.writeToEngine !== "function") return "Client.writeToEngine";
  if (typeof c.readyState !== "string") return "engine.io Socket.readyState";
  if (!Array.isArray(c.writeBuffer)) return "engine.io Socket.writeBuffer";
  if (typeof c.transport?.writable !== "boolean") return "Transport.writable";
  if (!(c.request?.socket instanceof TcpSocket)) return "request.socket";
  return null;
}

// engine.io emits "flush" right before it hands its buffer to the transport and "drain" right
// after, synchronously; the websocket transport then writes each packet as its own frame, and ws
// writes each frame with its own syscall. Corking the TCP socket in between turns a batch of N
// packets into one writev. engine.io's server repeats both events for every connection, so
// one listener each serves them all. Returns the undo (a node that falls back to the public
// writer stops reaching into engine.io's sockets).
export function batchEngineWrites(io: Server): () => void {
  // Before its handshake a connection's internals are not checked yet: one that differs is left
  // alone (its check then falls the node back and this is undone).
  const cork = (c: Partial<ConnPrivates>) => c.request?.socket?.cork();
  const uncork = (c: Partial<ConnPrivates>) => c.request?.socket?.uncork();
  io.engine.on("flush", cork);
  io.engine.on("drain", uncork);
  return () => {
    io.engine.off("flush", cork);
    io.engine.off("drain", uncork);
  };
}

/** The fast path: one encoding per push, frames straight to the TCP socket when it is idle. */
export function internalsWriter(io: Server): SocketWriter {
  const nsp = io.of("/");
  const write = (socket: Socket, push: EncodedPush): void => {
    if (push.ack !== null) privates(socket).acks.set(push.id, push.ack);
    const c = conn(socket);
    // When engine.io has nothing buffered and its transport is idle, the frame goes straight to
    // the TCP socket that ws writes to: frames are whole and permessage-deflate is off, so this
    // cannot interleave inside another frame, and with engine.io's buffer empty nothing is
    // overtaken. That skips engine.io's per-packet objects, events and callbacks.
    if (
      push.frame &&
      c.writeBuffer.length === 0 &&
      c.transport.writable &&
      c.readyState === "open"
    ) {
      const tcp = c.request.socket;
      if (tcp.writable) {
        tcp.write(push.frame);
        return;
      }
    }
    privates(socket).client.writeToEngine(push.packets, push.opts);
  };
  return {
    mode: "internals",
    encode(event, payload) {
      const id = nsp._ids++;
      const packets = io.encoder.encode({ type: EVENT, nsp: "/", data: [event, payload], id });
      const opts: WriteOptions = { preEncoded: true };
      const only = packets.length === 1 ? packets[0] : undefined;
      let frame: Buffer | null = null;
      let bytes = 0;
      if (typeof only === "string") {
        // "4" is engine.io's "message" packet type; the frame is then written as-is everywhere.
        const data = Buffer.from("4" + only);
        const header = textFrameHeader(data.length);
        opts.wsPreEncodedFrame = [header, data];
        frame = Buffer.concat([header, data]);
        bytes = frame.length;
      } else {
        for (const packet of packets)
          bytes +=
            typeof packet === "string" ? Buffer.byteLength(packet) : (packet as Buffer).length;
      }
      return { event, data: payload, id, packets, opts, frame, bytes, ack: null };
    },
    write,
    writeAll(socket, pushes) {
      const tcp = conn(socket).request.socket;
      tcp.cork();
      for (let i = 0; i < pushes.length; i++) write(socket, pushes[i]!);
      tcp.uncork();
    },
    // engine.io's websocket transport clears `writable` on send and sets it again only when ws
    // has handed the last frame to the kernel, so a client that stops reading keeps it false.
    isWritable(socket) {
      const c = conn(socket);
      return c.readyState === "open" && c.transport.writable && !c.request.socket.writableNeedDrain;
    },
    // The websocket transport emits "ready" right after it sets `writable`. engine.io's
    // socket-level "drain" is not used: it fires on handing a buffer to the transport, and not
    // at all when that buffer was empty.
    watchWritable(socket, listener) {
      socket.conn.transport.on("ready", listener);
      conn(socket).request.socket.on("drain", listener);
    },
    unwatchWritable(socket, listener) {
      socket.conn.transport.off("ready", listener);
      conn(socket).request.socket.off("drain", listener);
    },
    // engine.io counts a websocket closed as soon as it asks ws to close, but ws then waits up
    // to 30 s for the client's close frame: only the TCP socket tells when it is gone.
    onClosed(socket, listener) {
      const tcp = conn(socket).request.socket;
      if (tcp.destroyed) listener();
      else tcp.once("close", listener);
    },
    terminate(socket) {
      const transport = socket.conn.transport as unknown as WebSocketTransportPrivates;
      if (typeof transport.socket?.terminate === "function") transport.socket.terminate();
      else socket.conn.close(true);
    },
  };
}

const NO_PACKETS: readonly unknown[] = [];
const NO_OPTS: WriteOptions = { preEncoded: true };
const noop = () => undefined;

/**
 * The fallback: socket.io's public emit, which encodes per socket and numbers its own acks;
 * socket.io's `timeout` forgets an ack that never came. No back-pressure signal is public, so
 * the mailbox only ever holds what arrives within one bus read.
 */
export function publicWriter(ackTimeoutMs: number): SocketWriter {
  const write = (socket: Socket, push: EncodedPush): void => {
    const ack = push.ack;
    if (ack === null) socket.emit(push.event, push.data);
    else
      socket.timeout(ackTimeoutMs).emit(push.event, push.data, (err: unknown) => {
        if (!err) ack.call(socket);
      });
  };
  return {
    mode: "public",
    encode(event, payload) {
      const bytes = Buffer.byteLength(JSON.stringify(payload) ?? "") + event.length;
      return {
        event,
        data: payload,
        id: -1,
        packets: NO_PACKETS,
        opts: NO_OPTS,
        frame: null,
        bytes,
        ack: null,
      };
    },
    write,
    writeAll(socket, pushes) {
      for (let i = 0; i < pushes.length; i++) write(socket, pushes[i]!);
    },
    isWritable: (socket) => socket.connected,
    watchWritable: noop,
    unwatchWritable: noop,
    onClosed(socket, listener) {
      if (socket.conn.readyState === "closed") listener();
      else socket.conn.once("close", listener);
    },
    terminate: (socket) => socket.conn.close(true),
  };
}
