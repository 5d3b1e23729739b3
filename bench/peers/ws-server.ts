// Peer: raw ws, the runtime's limit. Commands arrive the way a ws app is usually fed from
// elsewhere: JSON `{to, data}` PUBLISHed on one Redis channel (SUBSCRIBE with ioredis). The data
// is serialised once per command and sent to each recipient's sockets; no acks (ws has none).
import { Redis } from "ioredis";
import { WebSocketServer, type WebSocket } from "ws";
import { WS_CHANNEL, type WsCommand } from "./names.js";

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
const listening = new Promise<void>((resolve) => wss.once("listening", resolve));
const byUser = new Map<string, Set<WebSocket>>();
wss.on("connection", (socket, request) => {
  const userId = new URL(request.url ?? "/", "http://x").searchParams.get("u") ?? "";
  let mine = byUser.get(userId);
  if (!mine) byUser.set(userId, (mine = new Set()));
  mine.add(socket);
  socket.on("close", () => {
    mine.delete(socket);
    if (mine.size === 0) byUser.delete(userId);
  });
});

const sub = new Redis(process.env.REDIS_URL!);
await sub.subscribe(WS_CHANNEL);
sub.on("message", (_channel: string, raw: string) => {
  const command = JSON.parse(raw) as WsCommand;
  const frame = JSON.stringify(command.data);
  if (command.to === "*") for (const socket of wss.clients) socket.send(frame);
  else
    for (const userId of command.to)
      for (const socket of byUser.get(userId) ?? []) socket.send(frame);
});

await listening;
const address = wss.address();
const port = typeof address === "object" && address ? address.port : 0;
process.send!({ type: "ready", url: `ws://127.0.0.1:${port}` });
// Exit through process.exit (a --cpu-prof profile is written then), and never outlive the run.
process.on("SIGTERM", () => process.exit(0));
process.on("disconnect", () => process.exit(0));
