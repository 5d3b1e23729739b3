// The imServer on its own: real sockets (socket.io-client, websocket only) against a node on the
// embedded engine. Tokens are issued on the engine directly and commands are published on the
// bus directly, as any business service would (engine/wire.ts), so no business is involved.
import { expect } from "chai";
import { createRequire } from "node:module";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { loadConfig } from "../config/index.js";
import { createLogger } from "../config/logger.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import type { Engine } from "../engine/types.js";
import type { KickedPush, MessagePush, ReceiptPush } from "../engine/protocol.js";
import { PartitionRouter } from "../engine/router.js";
import {
  decodeEvent,
  encode,
  encodeBatch,
  topics,
  type NodeCommand,
  type NodeEvent,
  type PushCommand,
} from "../engine/wire.js";
import fc from "fast-check";
import type { Socket as ServerSocket } from "socket.io";
import { WebSocket } from "ws";
import { startImServer, type ImServer, type ImServerOptions } from "../server/im-server.js";
import { textFrameHeader } from "../server/socket-internals.js";
import { HANDSHAKE_TIMEOUT_MS, MAX_FRAME_BYTES } from "../server/transport-guard.js";
import { startRedis } from "../support/redis-server.js";
import { until } from "./helpers/until.js";

const NODE = "im-test";
const ACK_TIMEOUT_MS = 300;

interface Node {
  engine: Engine;
  im: ImServer;
  /** Every event published on topics.events since the node was created. */
  events: NodeEvent[];
}

const nodes: Node[] = [];
const clients: ClientSocket[] = [];
const raws: WebSocket[] = [];

async function startNode(
  env: Record<string, string> = {},
  engine: Engine = new MemoryEngine(),
  options: Pick<ImServerOptions, "checkInternals"> = {},
) {
  const events: NodeEvent[] = [];
  await engine.bus.subscribe(topics.events, (raw) => {
    const event = decodeEvent(raw);
    if (event) events.push(event);
  });
  const config = loadConfig({
    IM_PORT: "0",
    IM_NODE_ID: NODE,
    LOG_LEVEL: process.env.TEST_LOG ?? "silent",
    IM_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
    ...env,
  });
  const im = await startImServer({
    config,
    engine,
    logger: createLogger(process.env.TEST_LOG ?? "silent"),
    ...options,
  });
  const node: Node = { engine, im, events };
  nodes.push(node);
  return node;
}

function client(node: Node, token: string | undefined): ClientSocket {
  const socket = connectClient(node.im.url, {
    path: node.im.path,
    transports: ["websocket"],
    auth: token === undefined ? {} : { token },
    reconnection: false,
    forceNew: true,
  });
  clients.push(socket);
  return socket;
}

/** Resolves with the first of `events` to fire on `socket` (its name and first argument). */
function next<T = unknown>(
  socket: ClientSocket,
  events: string[],
  ms = 2_000,
): Promise<{ event: string; value: T }> {
  return new Promise((resolve, reject) => {
    const listeners = events.map((event) => {
      const listener = (value: T) => {
        cleanup();
        resolve({ event, value });
      };
      socket.once(event, listener);
      return [event, listener] as const;
    });
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`none of ${events.join(", ")} within ${ms} ms`));
    }, ms);
    function cleanup() {
      clearTimeout(timer);
      for (const [event, listener] of listeners) socket.off(event, listener);
    }
  });
}

async function token(node: Node, userId: string, sessionId = "s1", ttlMs = 10_000) {
  return node.engine.tokens.issue({ userId, sessionId, nodeId: NODE }, ttlMs);
}

/** A connected client for `userId`; `onConnect` runs inside the client's `connect` event. */
async function connect(node: Node, userId: string, sessionId = "s1", onConnect?: () => void) {
  const socket = client(node, await token(node, userId, sessionId));
  if (onConnect) socket.once("connect", onConnect);
  const { event, value } = await next<Error>(socket, ["connect", "connect_error"]);
  if (event !== "connect") throw new Error(`refused: ${value.message}`);
  return socket;
}

async function refusal(node: Node, socket: ClientSocket): Promise<string> {
  const { event, value } = await next<Error>(socket, ["connect", "connect_error"]);
  expect(event).to.equal("connect_error");
  return value.message;
}

/** Records every push of `event` on the socket, acking each one (as the SDK does). */
function inbox<T>(socket: ClientSocket, event: string, ack = true): T[] {
  const received: T[] = [];
  socket.on(event, (value: T, callback?: () => void) => {
    received.push(value);
    if (ack) callback?.();
  });
  return received;
}

/** Waits for the next `count` pushes of `event` (acking them) beyond those already seen. */
function receive<T>(socket: ClientSocket, event: string, count = 1, ms = 2_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    const listener = (value: T, callback?: () => void) => {
      got.push(value);
      callback?.();
      if (got.length === count) {
        clearTimeout(timer);
        socket.off(event, listener);
        resolve(got);
      }
    };
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`${got.length} of ${count} "${event}" within ${ms} ms`));
    }, ms);
    socket.on(event, listener);
  });
}

async function publish(node: Node, command: NodeCommand | string, nodeId = NODE) {
  const raw = typeof command === "string" ? command : encode(command);
  return node.engine.bus.publish(topics.node(nodeId), raw);
}

let messageNo = 0;
function message(from: string, to: string, content: unknown = "hi"): MessagePush {
  messageNo++;
  return {
    id: `m${messageNo}`,
    seq: messageNo,
    kind: "message",
    from,
    to,
    content,
    ts: Date.now(),
  };
}

function messageCommand(data: MessagePush, to: string[], receipt = false): PushCommand {
  return { v: 1, kind: "push", event: "message", to, data, receipt };
}

/** A sample of /metrics: the value of `name` with exactly `labels` (0 when absent). */
async function metric(node: Node, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${node.im.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/** The ack handlers a server socket still holds (socket.io's private `acks` map). */
function pendingAcks(socket: ServerSocket): number {
  return (socket as unknown as { acks: Map<number, unknown> }).acks.size;
}

/**
 * What waits to be sent on a server socket beyond its mailbox: engine.io's write buffer
 * (packets), ws's buffered bytes and the TCP socket's.
 */
function outgoingBacklog(socket: ServerSocket) {
  const conn = socket.conn as unknown as {
    writeBuffer: unknown[];
    transport: { socket?: { bufferedAmount?: number } };
    request: { socket: import("node:net").Socket };
  };
  return {
    packets: conn.writeBuffer.length,
    wsBytes: conn.transport.socket?.bufferedAmount ?? 0,
    tcpBytes: conn.request.socket.writableLength,
  };
}

function serverSocket(node: Node, client: ClientSocket): ServerSocket {
  const socket = node.im.io.of("/").sockets.get(client.id!);
  if (!socket) throw new Error("no server socket");
  return socket;
}

describe("imServer", function () {
  this.timeout(10_000);

  afterEach(async () => {
    for (const socket of clients.splice(0)) socket.disconnect();
    for (const ws of raws.splice(0)) ws.terminate();
    await Promise.all(nodes.splice(0).map((node) => node.im.close()));
  });

  describe("connect", () => {
    it("registers the connection (presence online, online event published) before `connect` fires", async () => {
      const node = await startNode();
      let seen: { online: boolean[]; events: number } | null = null;
      await connect(node, "alice", "s1", () => {
        seen = { online: [], events: node.events.length };
        void node.engine.presence.online(["alice"]).then((online) => (seen!.online = online));
      });
      await until(() => seen !== null && seen.online.length === 1);
      expect(seen!.events).to.equal(1);
      expect(node.events[0]).to.include({
        kind: "presence",
        userId: "alice",
        online: true,
        nodeId: NODE,
      });
      expect(seen!.online).to.deep.equal([true]);
      expect(await metric(node, "herald_im_connections")).to.equal(1);
      // The process's own figures ride along (config/process-metrics.ts).
      expect(await metric(node, "process_cpu_user_seconds_total")).to.be.above(0);
    });

    it("delivers a push accepted while the handshake is still in progress, right after `connect`", async () => {
      const node = await startNode();
      // The online event is published before the middleware lets socket.io send CONNECT.
      await node.engine.bus.subscribe(topics.events, () => {
        void publish(node, messageCommand(message("bob", "alice", "early"), ["alice"]));
      });
      const socket = client(node, await token(node, "alice"));
      const pushes = inbox<MessagePush>(socket, "message");
      let pushesAtConnect = -1;
      socket.once("connect", () => (pushesAtConnect = pushes.length));
      await until(() => pushes.length === 1, 2_000, "the early push");
      expect(pushesAtConnect).to.equal(0);
      expect(pushes[0]!.content).to.equal("early");
    });

    it("refuses a missing, forged or reused token with token_invalid", async () => {
      const node = await startNode();
      expect(await refusal(node, client(node, undefined))).to.equal("token_invalid");
      expect(await refusal(node, client(node, "forged-" + "x".repeat(36)))).to.equal(
        "token_invalid",
      );
      const once = await token(node, "alice");
      await next(client(node, once), ["connect"]);
      expect(await refusal(node, client(node, once))).to.equal("token_invalid");
    });

    it("refuses an expired token with token_expired", async () => {
      const node = await startNode();
      const stale = await token(node, "alice", "s1", 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await refusal(node, client(node, stale))).to.equal("token_expired");
    });

    it("refuses a token issued for another node with wrong_node, and the refusal spends it", async () => {
      const node = await startNode();
      const elsewhere = await node.engine.tokens.issue(
        { userId: "alice", sessionId: "s1", nodeId: "im-other" },
        10_000,
      );
      expect(await refusal(node, client(node, elsewhere))).to.equal("wrong_node");
      expect(await refusal(node, client(node, elsewhere))).to.equal("token_invalid");
      expect(await node.engine.presence.online(["alice"])).to.deep.equal([false]);
    });

    it("cleans up a client that leaves between the middleware and socket.io's `connection`", async () => {
      const node = await startNode();
      const presence = node.engine.presence;
      const add = presence.add.bind(presence);
      let entered!: () => void;
      const inAdd = new Promise<void>((resolve) => (entered = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      presence.add = async (...args) => {
        entered();
        await gate;
        return add(...args);
      };
      const socket = client(node, await token(node, "alice"));
      await inAdd;
      socket.io.engine.close(); // the client vanishes mid-handshake
      await until(() => node.im.io.engine.clientsCount === 0, 2_000, "transport closed");
      release();
      await until(() => node.events.length === 2, 2_000, "online then offline events");
      expect(node.events.map((e) => (e.kind === "presence" ? e.online : null))).to.deep.equal([
        true,
        false,
      ]);
      expect(await presence.online(["alice"])).to.deep.equal([false]);
      expect(await metric(node, "herald_im_connections")).to.equal(0);
      expect(node.im.io.of("/").sockets.size).to.equal(0);
    });

    it("answers a disconnect with presence offline and an offline event for the last connection", async () => {
      const node = await startNode();
      const a = await connect(node, "alice");
      const b = await connect(node, "alice", "s2");
      a.disconnect();
      await until(async () => (await metric(node, "herald_im_connections")) === 1);
      expect(await node.engine.presence.online(["alice"])).to.deep.equal([true]);
      b.disconnect();
      await until(() => node.events.length === 2, 2_000, "offline event");
      expect(node.events[1]).to.include({ userId: "alice", online: false });
      expect(await node.engine.presence.online(["alice"])).to.deep.equal([false]);
    });

    it("clears its own stale presence at start and publishes those users offline", async () => {
      const engine = new MemoryEngine();
      await engine.presence.add("ghost", NODE, "old-conn");
      await engine.membership.register({ nodeId: "im-else", url: "http://im-else" }, 60_000);
      await engine.presence.add("other", "im-else", "conn");
      const node = await startNode({}, engine);
      expect(await engine.presence.online(["ghost", "other"])).to.deep.equal([false, true]);
      expect(node.events).to.have.length(1);
      expect(node.events[0]).to.include({ userId: "ghost", online: false });
    });
  });

  describe("pushes", () => {
    it("reaches every device of a user, and each device's ack is counted", async () => {
      const node = await startNode();
      const devices = await Promise.all([1, 2, 3].map((i) => connect(node, "alice", `s${i}`)));
      const received = devices.map((socket) => receive<MessagePush>(socket, "message"));
      const data = message("bob", "alice");
      await publish(node, messageCommand(data, ["alice"]));
      for (const got of await Promise.all(received)) expect(got).to.deep.equal([data]);
      await until(async () => (await metric(node, "herald_im_acks_total")) === 3);
      expect(await metric(node, "herald_im_deliveries_total")).to.equal(3);
      expect(await metric(node, "herald_im_pushes_total", '{event="message"}')).to.equal(1);
    });

    it("encodes a push once whatever the number of recipients, and writes the same bytes to each", async () => {
      const node = await startNode();
      const sockets = [
        ...(await Promise.all([1, 2, 3].map((i) => connect(node, "alice", `s${i}`)))),
        ...(await Promise.all([1, 2].map((i) => connect(node, "bob", `s${i}`)))),
      ];
      const encoder = node.im.io.encoder;
      const original = encoder.encode.bind(encoder);
      const encoded: unknown[][] = [];
      encoder.encode = (packet) => {
        const out = original(packet);
        if (Array.isArray(packet.data) && packet.data[0] === "message") encoded.push(out);
        return out;
      };
      // Record what reaches each connection's TCP socket, whichever path wrote it.
      const frames = new Set<unknown>();
      for (const socket of sockets) {
        const conn = serverSocket(node, socket).conn;
        const tcp = (conn as unknown as { request: { socket: { write: (b: unknown) => boolean } } })
          .request.socket;
        const write = tcp.write.bind(tcp);
        tcp.write = (chunk: unknown, ...rest: unknown[]) => {
          if (Buffer.isBuffer(chunk) && chunk.includes("carol")) frames.add(chunk);
          return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
        };
      }
      const received = sockets.map((socket) => receive<MessagePush>(socket, "message"));
      const data = message("carol", "alice", { text: "x".repeat(1000) });
      await publish(node, messageCommand(data, ["alice", "bob", "alice"]));
      for (const got of await Promise.all(received)) expect(got).to.deep.equal([data]);
      expect(encoded).to.have.length(1);
      // Every socket was handed the very same bytes: one Buffer object, written five times.
      expect(frames.size).to.equal(1);
      expect([...frames][0]).to.be.instanceOf(Buffer);
    });

    it("frames like ws: the precomputed header matches ws's Sender.frame at every length class", () => {
      const ws = createRequire(import.meta.url)("ws") as {
        Sender: { frame(data: Buffer, options: object): Buffer[] };
      };
      for (const length of [1, 125, 126, 65_535, 65_536, 70_000]) {
        const data = Buffer.alloc(length, 0x61);
        const [header] = ws.Sender.frame(data, {
          fin: true,
          opcode: 1,
          mask: false,
          readOnly: false,
          rsv1: false,
        });
        expect(textFrameHeader(length).equals(header!)).to.equal(true, `length ${length}`);
      }
    });

    it("pushes a broadcast to every local connection", async () => {
      const node = await startNode();
      const sockets = [
        await connect(node, "alice"),
        await connect(node, "alice", "s2"),
        await connect(node, "bob"),
      ];
      const received = sockets.map((socket) => receive(socket, "message"));
      const data = {
        id: "b1",
        from: "op",
        broadcast: true as const,
        content: "maintenance",
        ts: 1,
      };
      await publish(node, { v: 1, kind: "broadcast", data });
      for (const got of await Promise.all(received)) expect(got).to.deep.equal([data]);
      expect(await metric(node, "herald_im_pushes_total", '{event="broadcast"}')).to.equal(1);
    });

    it("pushes presence and receipt events to the listed users only", async () => {
      const node = await startNode();
      const alice = await connect(node, "alice");
      const bob = await connect(node, "bob");
      const bobPresence = inbox(bob, "presence");
      const presence = { userId: "carol", online: true, ts: 5 };
      const got = receive(alice, "presence");
      await publish(node, { v: 1, kind: "push", event: "presence", to: ["alice"], data: presence });
      expect(await got).to.deep.equal([presence]);
      const receipt: ReceiptPush = { messageId: "m", to: "carol", status: "delivered", ts: 6 };
      const gotReceipt = receive(alice, "receipt");
      await publish(node, { v: 1, kind: "push", event: "receipt", to: ["alice"], data: receipt });
      expect(await gotReceipt).to.deep.equal([receipt]);
      expect(bobPresence).to.deep.equal([]);
    });
  });

  describe("receipts", () => {
    it("sends one delivered receipt to the sender on the first ack of any recipient device", async () => {
      const node = await startNode();
      const sender = await connect(node, "alice");
      const recipients = [await connect(node, "bob"), await connect(node, "bob", "s2")];
      const receipts = inbox<ReceiptPush>(sender, "receipt");
      const ownCopy = receive<MessagePush>(sender, "message");
      const copies = recipients.map((socket) => receive<MessagePush>(socket, "message"));
      const data = message("alice", "bob");
      await publish(node, messageCommand(data, ["bob", "alice"], true));
      await Promise.all([ownCopy, ...copies]);
      await until(() => receipts.length === 1, 2_000, "the receipt");
      expect(receipts[0]).to.include({ messageId: data.id, to: "bob", status: "delivered" });
      // Past the ack timeout: still exactly one (no `failed`, none for the second device).
      await new Promise((resolve) => setTimeout(resolve, ACK_TIMEOUT_MS + 150));
      expect(receipts).to.have.length(1);
      expect(await metric(node, "herald_im_receipts_total", '{status="delivered"}')).to.equal(1);
    });

    it("sends an offline receipt at once when the recipient has no connection here", async () => {
      const node = await startNode();
      const sender = await connect(node, "alice");
      const receipts = inbox<ReceiptPush>(sender, "receipt");
      inbox(sender, "message");
      // The copy for the sender's other devices, routed alone to the sender's node: no receipt.
      await publish(node, messageCommand(message("alice", "bob"), ["alice"], true));
      const data = message("alice", "bob");
      await publish(node, messageCommand(data, ["bob", "alice"], true));
      await until(() => receipts.length === 1, 2_000, "the receipt");
      expect(receipts[0]).to.include({ messageId: data.id, to: "bob", status: "offline" });
      expect(receipts).to.have.length(1);
    });

    it("sends a failed receipt when no device acks in time, and forgets the ack id", async () => {
      const node = await startNode();
      const sender = await connect(node, "alice");
      const mute = await connect(node, "bob");
      const unacked = inbox<MessagePush>(mute, "message", false);
      const ownCopies = inbox<MessagePush>(sender, "message"); // acked: the sender's ack is no receipt
      const got = receive<ReceiptPush>(sender, "receipt", 1, ACK_TIMEOUT_MS * 4);
      const data = message("alice", "bob");
      const sentAt = Date.now();
      await publish(node, messageCommand(data, ["bob", "alice"], true));
      await until(() => ownCopies.length === 1);
      await until(() => unacked.length === 1);
      const socket = serverSocket(node, mute);
      expect(pendingAcks(socket)).to.equal(1);
      const [receipt] = await got;
      expect(Date.now() - sentAt).to.be.at.least(ACK_TIMEOUT_MS);
      expect(receipt).to.include({ messageId: data.id, to: "bob", status: "failed" });
      expect(pendingAcks(socket)).to.equal(0);
    });

    it("forgets the ack ids of pushes without a receipt too", async () => {
      const node = await startNode();
      const mute = await connect(node, "bob");
      const unacked = inbox(mute, "presence", false);
      for (let i = 0; i < 5; i++)
        await publish(node, {
          v: 1,
          kind: "push",
          event: "presence",
          to: ["bob"],
          data: { userId: `u${i}`, online: true, ts: i },
        });
      await until(() => unacked.length === 5);
      const socket = serverSocket(node, mute);
      expect(pendingAcks(socket)).to.equal(5);
      await until(() => pendingAcks(socket) === 0, ACK_TIMEOUT_MS * 4, "acks map emptied");
    });

    it("routes a receipt over the bus to the node that owns the sender", async () => {
      const node = await startNode();
      const other = { nodeId: "im-a-peer", url: "http://127.0.0.1:1" };
      const router = new PartitionRouter([other, { nodeId: NODE, url: node.im.url }]);
      const sender = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"].find(
        (id) => router.ownerOf(id)?.nodeId === other.nodeId,
      )!;
      const viewUpdated = new Promise<void>((resolve) => {
        void node.engine.bus.subscribe(topics.membership, () => setImmediate(resolve));
      });
      await node.engine.membership.register(other, 60_000);
      await viewUpdated;
      const peerInbox: string[] = [];
      await node.engine.bus.subscribe(topics.node(other.nodeId), (raw) => peerInbox.push(raw));
      const data = message(sender, "bob");
      await publish(node, messageCommand(data, ["bob"], true));
      await until(() => peerInbox.length === 1);
      const command = JSON.parse(peerInbox[0]!) as PushCommand;
      expect(command).to.deep.include({ v: 1, kind: "push", event: "receipt", to: [sender] });
      expect(command.data).to.include({ messageId: data.id, to: "bob", status: "offline" });
    });
  });

  describe("slow consumers", () => {
    const CONTENT = "y".repeat(60_000);

    /** Publishes `count` large pushes to `userId`, letting I/O run between them. */
    async function flood(node: Node, userId: string, count: number, after?: () => void) {
      for (let i = 0; i < count; i++) {
        await publish(node, messageCommand(message("bob", userId, CONTENT), [userId]));
        await new Promise((resolve) => setImmediate(resolve));
        after?.();
      }
    }

    it("a client that keeps reading is never kicked: the mailbox waits on the socket", async () => {
      const node = await startNode({ IM_MAILBOX_MAX: "4" });
      const reader = await connect(node, "alice");
      const got = receive(reader, "message", 150, 5_000);
      await flood(node, "alice", 150);
      expect(await got).to.have.length(150);
      expect(await metric(node, "herald_im_mailbox_overflows_total")).to.equal(0);
    });

    it("a client that stops reading gets kicked{slow_consumer} and is closed; memory stays bounded", async () => {
      const mailboxMax = 4;
      const node = await startNode({ IM_MAILBOX_MAX: String(mailboxMax) });
      const slow = await connect(node, "alice");
      const socket = serverSocket(node, slow);
      const raw = (
        slow.io.engine.transport as unknown as { ws: { _socket: NodeJS.ReadableStream } }
      ).ws._socket;
      raw.pause();
      let worst = { packets: 0, wsBytes: 0, tcpBytes: 0 };
      let pushed = 0;
      const kicked = next<KickedPush>(slow, ["kicked"], 8_000);
      const closed = next(slow, ["disconnect"], 8_000);
      // Loopback kernel buffers take a few MB before the server sees back-pressure.
      const sent = 400;
      await flood(node, "alice", sent, () => {
        pushed++;
        const backlog = outgoingBacklog(socket);
        worst = {
          packets: Math.max(worst.packets, backlog.packets),
          wsBytes: Math.max(worst.wsBytes, backlog.wsBytes),
          tcpBytes: Math.max(worst.tcpBytes, backlog.tcpBytes),
        };
      });
      expect(await metric(node, "herald_im_mailbox_overflows_total")).to.equal(1);
      expect(await metric(node, "herald_im_kicks_total", '{reason="slow_consumer"}')).to.equal(1);
      expect(await metric(node, "herald_im_connections")).to.equal(0);
      // What the server held for it beyond the kernel: at most a mailbox's worth of packets.
      expect(worst.packets).to.be.at.most(mailboxMax + 2);
      expect(worst.wsBytes).to.be.below((mailboxMax + 2) * 61_000);
      expect(worst.tcpBytes).to.be.below((mailboxMax + 2) * 61_000);
      expect(pushed).to.equal(sent);
      raw.resume();
      const { value } = await kicked;
      expect(value).to.deep.equal({ reason: "slow_consumer" });
      await closed;
    });

    it("a slow consumer's TCP socket is dropped within the close grace, not ws's 30 s", async () => {
      const node = await startNode({ IM_MAILBOX_MAX: "4" });
      const slow = await connect(node, "alice");
      const tcp = (
        serverSocket(node, slow).conn as unknown as {
          request: { socket: import("node:net").Socket };
        }
      ).request.socket;
      const tcpClosed = new Promise<number>((resolve) =>
        tcp.once("close", () => resolve(Date.now())),
      );
      const raw = (
        slow.io.engine.transport as unknown as { ws: { _socket: NodeJS.ReadableStream } }
      ).ws._socket;
      raw.pause(); // and never resumed: the client cannot take ws's close frame
      let kickedAt = 0;
      for (let i = 0; i < 400 && kickedAt === 0; i++) {
        await publish(node, messageCommand(message("bob", "alice", CONTENT), ["alice"]));
        await new Promise((resolve) => setImmediate(resolve));
        if ((await metric(node, "herald_im_mailbox_overflows_total")) === 1) kickedAt = Date.now();
      }
      expect(kickedAt, "kicked as a slow consumer").to.be.above(0);
      // The grace is 3 s (CLOSE_GRACE_MS); ws alone would hold the socket for 30 s.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(-1), 5_000)));
      const closedAt = await Promise.race([tcpClosed, late]).finally(() => clearTimeout(timer));
      expect(closedAt, "TCP socket closed within the grace").to.be.above(0);
      expect(closedAt - kickedAt).to.be.below(4_500);
    });

    it("a slow reader of 64 KiB messages is cut at the mailbox's byte bound, long before its packet bound", async () => {
      const node = await startNode(); // the defaults: 1024 packets, 1 MiB
      const slow = await connect(node, "alice");
      const raw = (
        slow.io.engine.transport as unknown as { ws: { _socket: NodeJS.ReadableStream } }
      ).ws._socket;
      raw.pause();
      const content = "z".repeat(64 * 1024);
      let pushed = 0;
      while (pushed < 1024 && (await metric(node, "herald_im_mailbox_overflows_total")) === 0) {
        await publish(node, messageCommand(message("bob", "alice", content), ["alice"]));
        await new Promise((resolve) => setImmediate(resolve));
        pushed++;
      }
      expect(await metric(node, "herald_im_kicks_total", '{reason="slow_consumer"}')).to.equal(1);
      // 1 MiB is 16 such messages; the rest of what was pushed sits in the kernel's buffers.
      expect(pushed).to.be.below(400);
      raw.resume();
    });
  });

  describe("clients", () => {
    it("drops and counts any event a client emits, and keeps the connection open", async () => {
      const node = await startNode();
      const alice = await connect(node, "alice");
      alice.emit("hello", { a: 1 });
      alice.emit("send", "x", () => undefined);
      // A raw "error" event (socket.io-client refuses to emit it): it must not reach the
      // server socket's own "error" handling either.
      alice.io.engine.send('2["error","forged"]');
      await until(async () => (await metric(node, "herald_im_dropped_client_frames_total")) === 3);
      expect(alice.connected).to.equal(true);
      const got = receive(alice, "message");
      await publish(node, messageCommand(message("bob", "alice"), ["alice"]));
      expect(await got).to.have.length(1);
      expect(await node.engine.presence.online(["alice"])).to.deep.equal([true]);
    });
  });

  describe("limits", () => {
    const refused = (node: Node, reason: string) =>
      metric(node, "herald_im_refused_connections_total", `{reason="${reason}"}`);

    /** A bare engine.io websocket that never sends a token; resolves once it is open. */
    async function rawTransport(node: Node) {
      const ws = new WebSocket(
        `${node.im.url.replace(/^http/, "ws")}${node.im.path}/?EIO=4&transport=websocket`,
      );
      raws.push(ws);
      const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
      await new Promise((resolve, reject) => {
        ws.once("message", resolve); // engine.io's open packet
        ws.once("error", reject);
      });
      return { ws, closed };
    }

    it("a client frame over 4 KiB closes its connection, with or without a token; counted", async () => {
      const node = await startNode();
      const alice = await connect(node, "alice");
      const gone = next(alice, ["disconnect"]);
      alice.emit("big", "x".repeat(MAX_FRAME_BYTES));
      await gone;
      const raw = await rawTransport(node);
      raw.ws.send("4" + "x".repeat(MAX_FRAME_BYTES));
      expect(await raw.closed).to.equal(1009);
      await until(async () => (await refused(node, "frame_too_large")) === 2);
      // Just under the bound: an event, dropped and counted, and the connection stays.
      const bob = await connect(node, "bob");
      bob.emit("fits", "x".repeat(MAX_FRAME_BYTES - 100));
      await until(async () => (await metric(node, "herald_im_dropped_client_frames_total")) === 1);
      expect(bob.connected).to.equal(true);
    });

    it("binary attachments close the connection before socket.io buffers them; counted", async () => {
      const node = await startNode();
      const alice = await connect(node, "alice");
      const gone = next(alice, ["disconnect"]);
      alice.emit("blob", Buffer.alloc(1024));
      await gone;
      const raw = await rawTransport(node);
      raw.ws.send('451-["blob",{"_placeholder":true,"num":0}]');
      await raw.closed;
      await until(async () => (await refused(node, "binary_frame")) === 2);
      expect(await node.engine.presence.online(["alice"])).to.deep.equal([false]);
    });

    it("before its token only socket.io's CONNECT may come; a frame that does not decode closes the connection; counted", async () => {
      const node = await startNode();
      const raw = await rawTransport(node);
      raw.ws.send('42["hello"]');
      await raw.closed;
      const alice = await connect(node, "alice");
      const gone = next(alice, ["disconnect"]);
      alice.io.engine.send('3{"not":"an ack"');
      await gone;
      await until(async () => (await refused(node, "malformed_frame")) === 2);
    });

    it("acks for no pending push are dropped and counted, and the connection stays", async () => {
      const node = await startNode();
      const alice = await connect(node, "alice");
      alice.io.engine.send("3999[]");
      alice.io.engine.send("3123456789012[]");
      await until(async () => (await metric(node, "herald_im_dropped_client_frames_total")) === 2);
      const got = receive(alice, "message");
      await publish(node, messageCommand(message("bob", "alice"), ["alice"]));
      expect(await got).to.have.length(1);
      expect(await metric(node, "herald_im_dropped_client_frames_total")).to.equal(2);
    });

    it("a socket that has not completed the token handshake within 5 s is closed; counted", async function () {
      this.timeout(HANDSHAKE_TIMEOUT_MS + 3_000);
      const node = await startNode();
      const raw = await rawTransport(node);
      const opened = Date.now();
      await raw.closed;
      expect(Date.now() - opened).to.be.within(
        HANDSHAKE_TIMEOUT_MS - 200,
        HANDSHAKE_TIMEOUT_MS + 1_500,
      );
      expect(await refused(node, "handshake_timeout")).to.equal(1);
    });

    it("at most IM_MAX_CONNECTIONS_PER_USER connections per user: past it connect_error too_many_connections", async () => {
      const node = await startNode({ IM_MAX_CONNECTIONS_PER_USER: "2" });
      const first = await connect(node, "alice", "s1");
      await connect(node, "alice", "s2");
      expect(await refusal(node, client(node, await token(node, "alice", "s3")))).to.equal(
        "too_many_connections",
      );
      expect(await refused(node, "too_many_connections")).to.equal(1);
      // The refused third is not kept (its removal may land just after its connect_error).
      await until(async () => (await node.engine.presence.countByNode([NODE]))[0] === 2);
      await connect(node, "bob"); // another user is not affected
      first.disconnect();
      await until(async () => (await node.engine.presence.countByNode([NODE]))[0] === 2);
      await connect(node, "alice", "s3");
    });

    it("concurrent connects of one user past the cap, on memory and on Redis: exactly the cap's worth pass, the rest are refused", async () => {
      const redis = await startRedis();
      const engines = [
        new MemoryEngine(),
        await RedisEngine.connect({ url: redis.url, prefix: "cap:" }),
      ];
      try {
        for (const engine of engines) {
          const node = await startNode({ IM_MAX_CONNECTIONS_PER_USER: "2" }, engine);
          const tokens = await Promise.all(
            ["s1", "s2", "s3", "s4", "s5"].map((s) => token(node, "alice", s)),
          );
          const outcomes = await Promise.all(
            tokens.map(async (t) => {
              const { event, value } = await next<Error>(client(node, t), [
                "connect",
                "connect_error",
              ]);
              return event === "connect" ? "connected" : value.message;
            }),
          );
          expect(outcomes.filter((o) => o === "connected")).to.have.length(2);
          expect(outcomes.filter((o) => o === "too_many_connections")).to.have.length(3);
          await until(async () => (await node.engine.presence.countByNode([NODE]))[0] === 2);
          await node.im.close();
        }
      } finally {
        for (const engine of engines) await engine.close();
        await redis.destroy();
      }
    });

    it("property: any frame a client sends (garbage, oversize, binary, unknown events, stray acks) never crashes the node, and each is counted", async function () {
      this.timeout(30_000);
      const node = await startNode();
      const frame = fc.oneof(
        fc.string({ maxLength: 64 }),
        fc.string({ unit: "binary", maxLength: 64 }),
        fc.json().map((json) => `42${json}`),
        fc.tuple(fc.string({ maxLength: 16 }), fc.jsonValue()).map((v) => `42${JSON.stringify(v)}`),
        fc.nat().map((id) => `3${id}[]`),
        fc.constantFrom("4", "40", "41", "451-[]", "3", "2", "6", "0/admin,"),
        fc
          .integer({ min: MAX_FRAME_BYTES, max: MAX_FRAME_BYTES * 4 })
          .map((n) => `42["x","${"y".repeat(n)}"]`),
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
      );
      const counted = async () =>
        (await metric(node, "herald_im_dropped_client_frames_total")) +
        (await metric(node, "herald_im_refused_connections_total", '{reason="frame_too_large"}')) +
        (await metric(node, "herald_im_refused_connections_total", '{reason="binary_frame"}')) +
        (await metric(node, "herald_im_refused_connections_total", '{reason="malformed_frame"}'));
      let user = 0;
      await fc.assert(
        fc.asyncProperty(frame, async (data) => {
          fc.pre(data !== "1"); // DISCONNECT: a client leaving, nothing dropped
          const socket = await connect(node, `fuzz${user++}`);
          const before = await counted();
          socket.io.engine.send(data as string); // a Buffer goes as a binary frame
          // Every frame is either a dropped event or stray ack (connection stays) or a refusal
          // that closes the connection; a valid ack of nothing pending counts as stray too.
          await until(
            async () => (await counted()) > before || !socket.connected,
            2_000,
            "a count",
          );
          if (!socket.connected) await until(async () => (await counted()) > before);
          socket.disconnect();
        }),
        { numRuns: 60 },
      );
      const health = await fetch(`${node.im.url}/health`);
      expect(health.status).to.equal(200);
      const alice = await connect(node, "alice");
      const got = receive(alice, "message");
      await publish(node, messageCommand(message("bob", "alice"), ["alice"]));
      expect(await got).to.have.length(1);
    });
  });

  describe("kicks", () => {
    it("kicks only the connections of the given session, then all of the user's", async () => {
      const node = await startNode();
      const s1 = [await connect(node, "alice", "s1"), await connect(node, "alice", "s1")];
      const s2 = await connect(node, "alice", "s2");
      const kicked = s1.map((socket) => next<KickedPush>(socket, ["kicked"]));
      const closed = s1.map((socket) => next(socket, ["disconnect"]));
      await publish(node, {
        v: 1,
        kind: "kick",
        userId: "alice",
        reason: "logout",
        sessionId: "s1",
      });
      for (const { value } of await Promise.all(kicked))
        expect(value).to.deep.equal({ reason: "logout" });
      await Promise.all(closed);
      expect(s2.connected).to.equal(true);
      expect(await node.engine.presence.online(["alice"])).to.deep.equal([true]);

      const last = next<KickedPush>(s2, ["kicked"]);
      const lastClosed = next(s2, ["disconnect"]);
      await publish(node, { v: 1, kind: "kick", userId: "alice", reason: "force_offline" });
      expect((await last).value).to.deep.equal({ reason: "force_offline" });
      await lastClosed;
      await until(() => node.events.some((e) => e.kind === "presence" && !e.online));
      expect(await node.engine.presence.online(["alice"])).to.deep.equal([false]);
      expect(await metric(node, "herald_im_kicks_total", '{reason="logout"}')).to.equal(2);
      expect(await metric(node, "herald_im_kicks_total", '{reason="force_offline"}')).to.equal(1);
    });
  });

  describe("bus", () => {
    it("counts and drops invalid commands without crashing, and keeps serving", async () => {
      const node = await startNode();
      const alice = await connect(node, "alice");
      await publish(node, "not json");
      await publish(node, JSON.stringify({ v: 2, kind: "push", event: "message", to: ["alice"] }));
      await publish(node, JSON.stringify({ v: 1, kind: "teleport" }));
      await publish(
        node,
        JSON.stringify({ v: 1, kind: "push", event: "message", to: "alice", data: {} }),
      );
      await publish(node, "null");
      await until(async () => (await metric(node, "herald_im_dropped_commands_total")) === 5);
      const got = receive(alice, "message");
      await publish(node, messageCommand(message("bob", "alice"), ["alice"]));
      expect(await got).to.have.length(1);
    });

    it("runs an envelope's commands in order, on Redis, next to single version-1 commands", async () => {
      const redis = await startRedis();
      const engine = await RedisEngine.connect({ url: redis.url, prefix: "herald:" });
      try {
        const node = await startNode({}, engine);
        const alice = await connect(node, "alice");
        const bob = await connect(node, "bob");
        const data = [1, 2, 3].map((i) => message("carol", i === 2 ? "bob" : "alice", `m${i}`));
        const forAlice = receive<MessagePush>(alice, "message", 3);
        const forBob = receive<MessagePush>(bob, "message", 1);
        await publish(
          node,
          encodeBatch([
            encode(messageCommand(data[0]!, ["alice"])),
            encode(messageCommand(data[1]!, ["bob"])),
            encode(messageCommand(data[2]!, ["alice"])),
          ]),
        );
        const single = message("carol", "alice", "m4");
        await publish(node, messageCommand(single, ["alice"]));
        expect(await forAlice).to.deep.equal([data[0], data[2], single]);
        expect(await forBob).to.deep.equal([data[1]]);
        expect(await metric(node, "herald_im_pushes_total", '{event="message"}')).to.equal(4);
        await node.im.close();
      } finally {
        await engine.close();
        await redis.destroy();
      }
    });

    it("drops a malformed envelope whole and an envelope's bad commands, counted, and keeps serving", async () => {
      const node = await startNode();
      const alice = await connect(node, "alice");
      const good = message("bob", "alice", "kept");
      const got = receive<MessagePush>(alice, "message");
      await publish(node, '{"v":2,"kind":"batch","commands":"nope"}');
      await publish(
        node,
        `{"v":2,"kind":"batch","commands":[${encode(messageCommand(good, ["alice"]))}`,
      );
      await publish(
        node,
        encodeBatch(['{"v":1,"kind":"teleport"}', encode(messageCommand(good, ["alice"])), "7"]),
      );
      expect(await got).to.deep.equal([good]);
      await until(async () => (await metric(node, "herald_im_dropped_commands_total")) === 4);
      const after = receive(alice, "message");
      await publish(node, messageCommand(message("bob", "alice"), ["alice"]));
      expect(await after).to.have.length(1);
    });
  });

  describe("fallback write path", () => {
    it("delivers pushes, acks, receipts and kicks through socket.io's public emit when an internal is missing", async () => {
      const node = await startNode({}, new MemoryEngine(), { checkInternals: () => "Socket.acks" });
      const sender = await connect(node, "alice");
      const bob = [await connect(node, "bob"), await connect(node, "bob", "s2")];
      const mute = await connect(node, "carol");
      expect(await metric(node, "herald_im_fallback_write_path")).to.equal(1);
      // Take away the TCP socket the fast path writes to: only the public path can deliver now.
      for (const socket of [sender, ...bob, mute])
        (serverSocket(node, socket).conn as unknown as { request: object }).request = {};

      const receipts = inbox<ReceiptPush>(sender, "receipt");
      const own = receive<MessagePush>(sender, "message");
      const copies = bob.map((socket) => receive<MessagePush>(socket, "message"));
      const data = message("alice", "bob");
      await publish(node, messageCommand(data, ["bob", "alice"], true));
      for (const got of await Promise.all([own, ...copies])) expect(got).to.deep.equal([data]);
      await until(() => receipts.length === 1, 2_000, "the delivered receipt");
      expect(receipts[0]).to.include({ messageId: data.id, to: "bob", status: "delivered" });
      await until(async () => (await metric(node, "herald_im_acks_total")) === 4, 2_000, "acks");

      const unacked = inbox<MessagePush>(mute, "message", false);
      const ignored = message("alice", "carol");
      await publish(node, messageCommand(ignored, ["carol"], true));
      await until(() => receipts.length === 2, ACK_TIMEOUT_MS * 4, "the failed receipt");
      expect(unacked).to.deep.equal([ignored]);
      expect(receipts[1]).to.include({ messageId: ignored.id, to: "carol", status: "failed" });
      await until(() => pendingAcks(serverSocket(node, mute)) === 0, 2_000, "ack forgotten");

      const kicked = bob.map((socket) => next<KickedPush>(socket, ["kicked"]));
      await publish(node, { v: 1, kind: "kick", userId: "bob", reason: "force_offline" });
      for (const { value } of await Promise.all(kicked))
        expect(value).to.deep.equal({ reason: "force_offline" });
      await until(async () => (await node.engine.presence.online(["bob"]))[0] === false);
    });

    it("keeps the fast path when every internal checks out", async () => {
      const node = await startNode();
      await connect(node, "alice");
      expect(await metric(node, "herald_im_fallback_write_path")).to.equal(0);
    });
  });

  describe("over Redis", () => {
    it("every connected user shows online again after an outage longer than the heartbeat TTL that lost Redis's data", async function () {
      this.timeout(30_000);
      const redis = await startRedis();
      const engine = await RedisEngine.connect({ url: redis.url, prefix: "herald:" });
      try {
        const node = await startNode({}, engine);
        const users = ["alice", "bob", "carol"];
        for (const userId of users) await connect(node, userId);
        expect(await engine.presence.online(users)).to.deep.equal([true, true, true]);

        await redis.stop();
        await new Promise((resolve) => setTimeout(resolve, 6_500)); // past the 6 s TTL
        await redis.start(); // empty: no node entry, no presence
        await until(
          async () => (await engine.presence.online(users).catch(() => [false])).every(Boolean),
          10_000,
          "everyone online again",
        );
        expect((await engine.membership.list()).map((n) => n.nodeId)).to.deep.equal([NODE]);
      } finally {
        await Promise.all(nodes.splice(0).map((node) => node.im.close()));
        await engine.close();
        await redis.destroy();
      }
    });
  });

  describe("health and shutdown", () => {
    it("answers /health 200 when ready, 503 while draining, and drain kicks everyone with shutdown", async () => {
      const node = await startNode();
      const ok = await fetch(`${node.im.url}/health`);
      expect(ok.status).to.equal(200);
      expect(await ok.json()).to.deep.equal({ status: "ok", nodeId: NODE });
      expect((await node.engine.membership.list()).map((n) => n.nodeId)).to.deep.equal([NODE]);

      const sockets = [
        await connect(node, "alice"),
        await connect(node, "bob"),
        await connect(node, "bob", "s2"),
      ];
      const kicked = sockets.map((socket) => next<KickedPush>(socket, ["kicked"]));
      // Hold the drain at its first step, to look at /health meanwhile.
      const membership = node.engine.membership;
      const deregister = membership.deregister.bind(membership);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      membership.deregister = async (nodeId) => {
        await gate;
        return deregister(nodeId);
      };
      const drained = node.im.drain();
      const during = await fetch(`${node.im.url}/health`);
      expect(during.status).to.equal(503);
      expect(await during.json()).to.deep.equal({
        error: { code: "unavailable", message: "draining" },
        nodeId: NODE,
      });
      release();

      for (const { value } of await Promise.all(kicked))
        expect(value).to.deep.equal({ reason: "shutdown" });
      await drained;
      expect(await node.engine.membership.list()).to.deep.equal([]);
      expect(await node.engine.presence.online(["alice", "bob"])).to.deep.equal([false, false]);
      const offline = node.events
        .filter((e) => e.kind === "presence" && !e.online)
        .map((e) => e.userId);
      expect(offline.sort()).to.deep.equal(["alice", "bob"]);
      let refused = false;
      await fetch(`${node.im.url}/health`).catch(() => (refused = true));
      expect(refused).to.equal(true);
    });

    it("close() disconnects everyone without a kicked message", async () => {
      const node = await startNode();
      const alice = await connect(node, "alice");
      const kicks = inbox(alice, "kicked");
      const gone = next(alice, ["disconnect"]);
      await node.im.close();
      await gone;
      expect(kicks).to.deep.equal([]);
      expect(await node.engine.presence.online(["alice"])).to.deep.equal([false]);
    });
  });
});
