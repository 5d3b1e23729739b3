// A load-client process: opens its share of sockets to one side (Herald's socket.io with a
// token, plain socket.io, raw ws), acks what the side expects acked, and for every push counted
// records its latency (publisher's timestamp in the payload → now; one clock on one machine) and
// returns a credit to the orchestrator, batched per event-loop turn, so the publisher never has
// more than its window of deliveries outstanding.
import { io, type Socket } from "socket.io-client";
import { WebSocket } from "ws";
import { Histogram, type SparseHistogram } from "./lib/stats.js";
import { now } from "./lib/proc.js";

export type ClientKind = "herald" | "sio" | "ws";

/** One socket to open: a ready grant (url + token), or a session to ask /api/connect with. */
export interface Target {
  userId: string;
  url?: string;
  path?: string;
  token?: string;
  /** Herald the real way: POST <business>/api/connect with this session, then the handshake. */
  business?: string;
  session?: string;
}

export type ClientRequest =
  | { type: "open"; kind: ClientKind; targets: Target[]; concurrency: number }
  | { type: "take" }
  | { type: "close" };

export type ClientReply =
  | { type: "opened"; failed: string[]; seconds: number }
  | { type: "taken"; received: number; hist: SparseHistogram; disconnects: number }
  | { type: "credit"; n: number }
  | { type: "closed" };

/** What every side pushes: Herald's MessagePush shape, the bench's fields in `content`. */
export interface BenchPush {
  id: string;
  to?: string;
  content: { t: number; n: number };
}

const CONNECT_TIMEOUT_MS = 15_000;
const hist = new Histogram();
const sockets: { close(): void }[] = [];
let received = 0;
let credits = 0;
let disconnects = 0;
let closing = false;

function reply(message: ClientReply): void {
  process.send!(message);
}

function flushCredits(): void {
  if (credits > 0) reply({ type: "credit", n: credits });
  credits = 0;
}

/** A push arrived for `me`; a DM's copy for its sender (to ≠ me) is acked, not counted. */
function arrived(push: BenchPush, me: string): void {
  if (push.to !== undefined && push.to !== me) return;
  received++;
  if (typeof push.content?.t === "number") hist.record(now() - push.content.t);
  if (credits++ === 0) setImmediate(flushCredits);
}

interface Emitting {
  once(event: string, listener: (err?: unknown) => void): unknown;
}

/** Resolves when `socket` emits `ok`, rejects on `fail` or past the connect timeout. */
function opened(socket: Emitting, ok: string, fail: string, label: string): Promise<void> {
  let timer: NodeJS.Timeout;
  return new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} timed out`)), CONNECT_TIMEOUT_MS);
    socket.once(ok, () => resolve());
    socket.once(fail, reject);
  }).finally(() => clearTimeout(timer));
}

async function grant(target: Target): Promise<Required<Pick<Target, "url" | "path" | "token">>> {
  if (!target.business) return { url: target.url!, path: target.path!, token: target.token! };
  const response = await fetch(`${target.business}/api/connect`, {
    method: "POST",
    headers: { authorization: `Bearer ${target.session}` },
    signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS),
  });
  if (response.status !== 200) throw new Error(`/api/connect answered ${response.status}`);
  return (await response.json()) as { url: string; path: string; token: string };
}

async function openSocketIo(kind: "herald" | "sio", target: Target): Promise<void> {
  const me = target.userId;
  const where = kind === "herald" ? await grant(target) : { url: target.url!, path: "/socket.io" };
  const socket: Socket = io(where.url, {
    path: where.path,
    transports: ["websocket"],
    auth: kind === "herald" ? { token: (where as { token: string }).token } : { userId: me },
    reconnection: false,
    forceNew: true,
  });
  socket.on("message", (push: BenchPush, ack?: () => void) => {
    ack?.();
    arrived(push, me);
  });
  // Herald also pushes presence, receipts, conversations: ack them, count nothing.
  socket.onAny((event: string, ...args: unknown[]) => {
    const ack = args[args.length - 1];
    if (event !== "message" && typeof ack === "function") (ack as () => void)();
  });
  socket.on("disconnect", () => {
    if (!closing) disconnects++;
  });
  sockets.push(socket);
  await opened(socket as unknown as Emitting, "connect", "connect_error", "socket.io connect");
}

async function openWs(target: Target): Promise<void> {
  const me = target.userId;
  const socket = new WebSocket(`${target.url}/?u=${encodeURIComponent(me)}`);
  socket.on("message", (frame: Buffer) => arrived(JSON.parse(frame.toString()) as BenchPush, me));
  socket.on("close", () => {
    if (!closing) disconnects++;
  });
  sockets.push(socket);
  await opened(socket, "open", "error", "ws connect");
}

async function openAll(kind: ClientKind, targets: Target[], concurrency: number): Promise<void> {
  const started = now();
  const failed: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, targets.length) }, async () => {
      while (next < targets.length) {
        const target = targets[next++]!;
        try {
          await (kind === "ws" ? openWs(target) : openSocketIo(kind, target));
        } catch (err) {
          failed.push(`${target.userId}: ${(err as Error).message}`);
        }
      }
    }),
  );
  reply({ type: "opened", failed, seconds: (now() - started) / 1000 });
}

// The orchestrator is gone (finished, killed): never outlive it.
process.on("disconnect", () => process.exit(0));
process.on("message", (request: ClientRequest) => {
  if (request.type === "open") void openAll(request.kind, request.targets, request.concurrency);
  else if (request.type === "take") {
    flushCredits();
    reply({ type: "taken", received, hist: hist.take(), disconnects });
  } else {
    closing = true;
    for (const socket of sockets.splice(0)) socket.close();
    reply({ type: "closed" });
  }
});
