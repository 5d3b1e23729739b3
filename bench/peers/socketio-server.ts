// Peer: one socket.io node on @socket.io/redis-adapter, fed by @socket.io/redis-emitter from the
// publisher, as socket.io documents for pushing from another process. Each socket joins
// `u:<userId>` and `all`.
//   MODE=plain: the emitter's `to(room).emit(...)`; the adapter on every node delivers it.
//   MODE=ack:   the emitter cannot ask for acks, so the publisher sends a server-side event
//               (`serverSideEmit("push", to, data)`) and each node emits locally with an ack,
//               `io.local.to(room).timeout(…).emit(…, cb)`: the fair twin of Herald's acked push.
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { PUSH_EVENT } from "./names.js";
const ACK_TIMEOUT_MS = 10_000;

const pub = new Redis(process.env.REDIS_URL!);
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  adapter: createAdapter(pub, sub),
});
io.on("connection", (socket) => {
  void socket.join([`u:${String(socket.handshake.auth.userId)}`, "all"]);
});

if (process.env.MODE === "ack") {
  io.of("/").on(PUSH_EVENT, (to: string, data: unknown) => {
    io.local
      .to(to === "*" ? "all" : `u:${to}`)
      .timeout(ACK_TIMEOUT_MS)
      // The harness counts deliveries at the clients; the callback only completes the ack.
      .emit("message", data, () => {});
  });
}

// Redis answers a connection's commands in order: the PING's reply means the adapter's
// (P)SUBSCRIBEs, sent when the namespace was made, are live.
await sub.ping();
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
const address = http.address();
const port = typeof address === "object" && address ? address.port : 0;
process.send!({ type: "ready", url: `http://127.0.0.1:${port}` });
// Exit through process.exit (a --cpu-prof profile is written then), and never outlive the run.
process.on("SIGTERM", () => process.exit(0));
process.on("disconnect", () => process.exit(0));
