// A client process for bench/push: opens sockets for a range of users, acks every push, and
// reports how many pushes it received over IPC.
import { io, type Socket } from "socket.io-client";
import { RedisEngine } from "../engine/redis/redis-engine.js";

export type ClientsRequest = { type: "count" } | { type: "stop" };
export type ClientsReply = { type: "connected" } | { type: "count"; received: number };

const mode = process.env.MODE!;
const url = process.env.URL!;
const nodeId = process.env.NODE_ID!;
const first = Number(process.env.FIRST);
const count = Number(process.env.COUNT);
const redisUrl = process.env.REDIS_URL!;
const prefix = process.env.REDIS_PREFIX ?? "herald:";

let received = 0;
const sockets: Socket[] = [];
const engine = mode === "herald" ? await RedisEngine.connect({ url: redisUrl, prefix }) : null;

async function open(index: number): Promise<void> {
  const userId = `user-${index}`;
  const auth = engine
    ? { token: await engine.tokens.issue({ userId, sessionId: `s-${index}`, nodeId }, 60_000) }
    : { userId };
  const socket = io(url, { transports: ["websocket"], auth, reconnection: false, forceNew: true });
  socket.on("message", (_data: unknown, ack?: () => void) => {
    received++;
    ack?.();
  });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
}

const BATCH = 100;
for (let i = first; i < first + count; i += BATCH) {
  const batch: Promise<void>[] = [];
  for (let j = i; j < Math.min(first + count, i + BATCH); j++) batch.push(open(j));
  await Promise.all(batch);
}
await engine?.close();
process.send!({ type: "connected" } satisfies ClientsReply);
// The orchestrator is gone (killed, crashed): never outlive it.
process.on("disconnect", () => process.exit(0));
process.on("message", (request: ClientsRequest) => {
  if (request.type === "count") process.send!({ type: "count", received } satisfies ClientsReply);
  else {
    for (const socket of sockets) socket.close();
    process.exit(0);
  }
});
