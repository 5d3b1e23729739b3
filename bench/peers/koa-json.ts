// Peer: a bare Koa JSON route, the ceiling of the send path's HTTP leg on this runtime. It parses
// the same body `POST /api/messages` takes, checks its two fields and answers 202 with the same
// shape, with nothing behind it: no session, no store, no push.
import { randomUUID } from "node:crypto";
import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import Koa from "koa";

const app = new Koa();
const router = new Router();
let seq = 0;
router.post("/api/messages", (ctx) => {
  const body = ctx.request.body as { to?: unknown; content?: unknown } | undefined;
  if (typeof body?.to !== "string" || body.content === undefined) {
    ctx.status = 400;
    ctx.body = { error: { code: "invalid_body", message: "to and content are required" } };
    return;
  }
  ctx.status = 202;
  ctx.body = { id: randomUUID(), seq: ++seq, ts: Date.now() };
});
router.get("/health", (ctx) => {
  ctx.body = { ok: true };
});
// The options business/app.ts parses with.
app
  .use(bodyParser({ enableTypes: ["json"], jsonLimit: "1mb", jsonStrict: true }))
  .use(router.routes());

const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.send!({ type: "ready", url: `http://127.0.0.1:${port}` });
});
// Exit through process.exit (a --cpu-prof profile is written then), and never outlive the run.
process.on("SIGTERM", () => process.exit(0));
process.on("disconnect", () => process.exit(0));
