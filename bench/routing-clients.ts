// A client process for bench/routing: for its share of users it asks business for a connect
// token (POST /api/connect), opens a raw socket.io-client socket on the node that names, acks
// every push and notes when each arrived, for the orchestrator to collect over IPC.
import { io, type Socket } from "socket.io-client";

export interface BenchUser {
  userId: string;
  /** The user's session token (from POST /api/login). */
  token: string;
}

export type RoutingClientsRequest =
  | { type: "connect"; business: string; users: BenchUser[] }
  | { type: "count" }
  | { type: "collect" }
  | { type: "stop" };

/** [message id, arrival in epoch ms (sub-ms, comparable across processes on one machine)]. */
export type Arrival = [id: string, at: number];

export type RoutingClientsReply =
  | { type: "connected"; nodes: [userId: string, nodeId: string][]; failed: string[] }
  | { type: "count"; received: number; disconnects: number; kicked: number }
  | { type: "collected"; direct: Arrival[]; channel: Arrival[] };

interface MessagePushLike {
  id: string;
  from: string;
  channel?: string;
}

const CONNECT_BATCH = 50;
const CONNECT_TIMEOUT_MS = 10_000;

const now = () => performance.timeOrigin + performance.now();
const sockets: Socket[] = [];
let received = 0;
let disconnects = 0;
let kicked = 0;
// Only the copies that went to someone else: the sender's own echo is counted, not timed.
let direct: Arrival[] = [];
let channel: Arrival[] = [];
let stopping = false;

function reply(message: RoutingClientsReply): void {
  process.send!(message);
}

async function open(business: string, user: BenchUser): Promise<string> {
  const response = await fetch(`${business}/api/connect`, {
    method: "POST",
    headers: { authorization: `Bearer ${user.token}` },
    signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS),
  });
  if (response.status !== 200) throw new Error(`connect answered ${response.status}`);
  const info = (await response.json()) as {
    url: string;
    path: string;
    token: string;
    nodeId: string;
  };
  const socket = io(info.url, {
    path: info.path,
    transports: ["websocket"],
    auth: { token: info.token },
    reconnection: false,
    forceNew: true,
  });
  socket.on("message", (data: MessagePushLike, ack?: () => void) => {
    const at = now();
    received++;
    ack?.();
    if (data.from === user.userId) return;
    (data.channel === undefined ? direct : channel).push([data.id, at]);
  });
  socket.on("kicked", () => kicked++);
  socket.on("disconnect", () => {
    if (!stopping) disconnects++;
  });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("socket connect timed out")),
      CONNECT_TIMEOUT_MS,
    );
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return info.nodeId;
}

async function connectAll(business: string, users: BenchUser[]): Promise<void> {
  const nodes: [string, string][] = [];
  const failed: string[] = [];
  for (let i = 0; i < users.length; i += CONNECT_BATCH) {
    await Promise.all(
      users.slice(i, i + CONNECT_BATCH).map(async (user) => {
        try {
          nodes.push([user.userId, await open(business, user)]);
        } catch (err) {
          failed.push(`${user.userId}: ${(err as Error).message}`);
        }
      }),
    );
  }
  reply({ type: "connected", nodes, failed });
}

// The orchestrator is gone (killed, crashed): never outlive it.
process.on("disconnect", () => process.exit(0));
process.on("message", (request: RoutingClientsRequest) => {
  if (request.type === "connect") void connectAll(request.business, request.users);
  else if (request.type === "count") reply({ type: "count", received, disconnects, kicked });
  else if (request.type === "collect") {
    reply({ type: "collected", direct, channel });
    direct = [];
    channel = [];
  } else {
    stopping = true;
    for (const socket of sockets) socket.close();
    process.exit(0);
  }
});
