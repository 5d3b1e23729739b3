// A server process for bench/push: either a Herald imServer (MODE=herald) or a bare socket.io
// server doing io.to(room).emit (MODE=bare, or MODE=bare-ack with a broadcast acknowledgement),
// both fed the same JSON commands over Redis pub/sub. It reports its own CPU time over IPC.
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { loadConfig } from "../config/index.js";
import { createLogger } from "../config/logger.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { startImServer } from "../server/im-server.js";

export type BenchRequest = { type: "cpu" } | { type: "acks" } | { type: "stop" };
export type BenchReply =
  | { type: "ready"; url: string; nodeId: string }
  | { type: "cpu"; userMicros: number; systemMicros: number }
  | { type: "acks"; acks: number };

const mode = process.env.MODE ?? "herald";
const redisUrl = process.env.REDIS_URL!;
const BARE_CHANNEL = "bench:bare";

function reply(message: BenchReply): void {
  process.send!(message);
}

async function startHeraldNode(): Promise<() => Promise<number>> {
  const config = loadConfig({
    REDIS_URL: redisUrl,
    IM_PORT: "0",
    IM_NODE_ID: "bench-1",
    LOG_LEVEL: "silent",
    IM_MAILBOX_MAX: "100000",
    IM_MAILBOX_MAX_BYTES: String(2 ** 30),
  });
  const engine = await RedisEngine.connect({ url: redisUrl, prefix: config.redisPrefix });
  const im = await startImServer({ config, engine, logger: createLogger("silent") });
  reply({ type: "ready", url: im.url, nodeId: im.nodeId });
  const acks = im.registry.getSingleMetric("herald_im_acks_total")!;
  return async () => (await acks.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function startBareNode(withAck: boolean): Promise<() => Promise<number>> {
  const http = createServer();
  const io = new Server(http, { transports: ["websocket"], serveClient: false });
  io.on("connection", (socket) => {
    const userId = String(socket.handshake.auth.userId);
    void socket.join([`u:${userId}`, "all"]);
  });
  let acks = 0;
  const sub = new Redis(redisUrl);
  await sub.subscribe(BARE_CHANNEL);
  sub.on("message", (_channel: string, raw: string) => {
    const command = JSON.parse(raw) as { to: string[]; data: unknown };
    const target = command.to.length === 1 ? io.to(`u:${command.to[0]}`) : io.to("all");
    if (withAck) {
      target
        .timeout(10_000)
        .emit("message", command.data, (_err: unknown, responses: unknown[]) => {
          acks += responses.length;
        });
    } else {
      target.emit("message", command.data);
    }
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : 0;
  reply({ type: "ready", url: `http://127.0.0.1:${port}`, nodeId: BARE_CHANNEL });
  return async () => acks;
}

const ackCount =
  mode === "herald" ? await startHeraldNode() : await startBareNode(mode === "bare-ack");
// The orchestrator is gone (killed, crashed): never outlive it.
process.on("disconnect", () => process.exit(0));
process.on("message", async (request: BenchRequest) => {
  if (request.type === "cpu") {
    const usage = process.cpuUsage();
    reply({ type: "cpu", userMicros: usage.user, systemMicros: usage.system });
  } else if (request.type === "acks") {
    reply({ type: "acks", acks: await ackCount() });
  } else {
    process.exit(0);
  }
});
