// bench/push: the push leg (a command on the bus → client ack) of a Herald imServer against a
// bare socket.io server doing io.to(room).emit, side by side in one run, 2,000 clients each.
// Prints deliveries/s and server CPU µs per delivery (the server process's own CPU time) and
// writes bench/results/push.json.
//   node dist/bench/push.js [--clients 2000] [--direct 30000] [--fanout 100] [--rounds 3]
// Each scenario runs once to warm up, then `rounds` times per server; the verdict compares medians.
import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import type { MessagePush } from "../engine/protocol.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { encode, topics } from "../engine/wire.js";
import { startRedis } from "../support/redis-server.js";
import type { ClientsReply } from "./push-clients.js";
import type { BenchReply } from "./push-server.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    clients: { type: "string", default: "2000" },
    direct: { type: "string", default: "30000" },
    fanout: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    processes: { type: "string", default: "2" },
    modes: { type: "string", default: "herald,bare,bare-ack" },
  },
});
const CLIENTS = Number(args.clients);
const DIRECT = Number(args.direct);
const FANOUT = Number(args.fanout);
const PROCESSES = Number(args.processes);
const ROUNDS = Number(args.rounds);
const WAIT_MS = 120_000;
const ALL_MODES = ["herald", "bare", "bare-ack"] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES = ALL_MODES.filter((m) => args.modes.split(",").includes(m));

interface Result {
  mode: Mode;
  scenario: "direct" | "fanout";
  round: number;
  deliveries: number;
  seconds: number;
  /** When the last command was published (the rest of `seconds` is draining). */
  publishedAt: number;
  deliveriesPerSecond: number;
  serverCpuMicrosPerDelivery: number;
}

function ask<T extends { type: string }>(
  child: ChildProcess,
  type: T["type"],
  request?: object,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} reply`)), WAIT_MS);
    const onMessage = (message: T) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(message);
    };
    child.on("message", onMessage);
    if (request) child.send(request);
  });
}

async function cpuMicros(server: ChildProcess): Promise<number> {
  const reply = await ask<Extract<BenchReply, { type: "cpu" }>>(server, "cpu", { type: "cpu" });
  return reply.userMicros + reply.systemMicros;
}

async function received(clients: ChildProcess[]): Promise<number> {
  const replies = await Promise.all(
    clients.map((c) =>
      ask<Extract<ClientsReply, { type: "count" }>>(c, "count", { type: "count" }),
    ),
  );
  return replies.reduce((sum, r) => sum + r.received, 0);
}

async function serverAcks(server: ChildProcess): Promise<number> {
  return (await ask<Extract<BenchReply, { type: "acks" }>>(server, "acks", { type: "acks" })).acks;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function command(to: string[], n: number): string {
  const data: MessagePush = {
    id: `m-${n}`,
    seq: n + 1,
    kind: "message",
    from: "bench",
    content: { text: "hello, world" },
    ts: Date.now(),
  };
  return encode({ v: 1, kind: "push", event: "message", to, data });
}

async function runMode(mode: Mode, redisUrl: string): Promise<Result[]> {
  const env = { ...process.env, MODE: mode, REDIS_URL: redisUrl };
  // BENCH_PROFILE=<dir> writes a V8 CPU profile of each server process there.
  const profile = process.env.BENCH_PROFILE;
  const execArgv = profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [];
  const server = fork(join(here, "push-server.js"), { env, execArgv });
  const ready = await ask<Extract<BenchReply, { type: "ready" }>>(server, "ready");
  const perProcess = Math.ceil(CLIENTS / PROCESSES);
  const clients = Array.from({ length: PROCESSES }, (_, i) =>
    fork(join(here, "push-clients.js"), {
      env: {
        ...env,
        URL: ready.url,
        NODE_ID: ready.nodeId,
        FIRST: String(i * perProcess),
        COUNT: String(Math.min(perProcess, CLIENTS - i * perProcess)),
      },
    }),
  );
  await Promise.all(clients.map((c) => ask(c, "connected")));

  const engine = await RedisEngine.connect({ url: redisUrl, prefix: "herald:" });
  const publisher = new Redis(redisUrl);
  const publish = (payload: string) =>
    mode === "herald"
      ? engine.bus.publish(topics.node(ready.nodeId), payload)
      : publisher.publish("bench:bare", payload);
  const everyone = Array.from({ length: CLIENTS }, (_, i) => `user-${i}`);
  const scenarios = [
    {
      scenario: "direct" as const,
      commands: DIRECT,
      to: (n: number) => [everyone[(n * 7919) % CLIENTS]!],
      fan: 1,
    },
    { scenario: "fanout" as const, commands: FANOUT, to: () => everyone, fan: CLIENTS },
  ];

  const results: Result[] = [];
  // Round 0 warms the JIT and the connections up and is not recorded.
  for (let round = 0; round <= ROUNDS; round++)
    for (const { scenario, commands, to, fan } of scenarios) {
      const deliveries = commands * fan;
      const payloads = Array.from({ length: commands }, (_, n) => command(to(n), n));
      const before = await received(clients);
      const acksBefore = await serverAcks(server);
      const cpuBefore = await cpuMicros(server);
      const started = process.hrtime.bigint();
      for (let i = 0; i < payloads.length; i += 500)
        await Promise.all(payloads.slice(i, i + 500).map(publish));
      const publishedAt = Number(process.hrtime.bigint() - started) / 1e9;
      await until(
        async () => (await received(clients)) - before >= deliveries,
        `${mode} ${scenario} deliveries`,
      );
      if (mode !== "bare") {
        await until(
          async () => (await serverAcks(server)) - acksBefore >= deliveries,
          `${mode} ${scenario} acks`,
        );
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = (await cpuMicros(server)) - cpuBefore;
      if (round === 0) continue;
      results.push({
        mode,
        scenario,
        round,
        deliveries,
        seconds: Number(seconds.toFixed(3)),
        publishedAt: Number(publishedAt.toFixed(3)),
        deliveriesPerSecond: Math.round(deliveries / seconds),
        serverCpuMicrosPerDelivery: Number((cpu / deliveries).toFixed(2)),
      });
    }

  await engine.close();
  publisher.disconnect();
  for (const child of [...clients, server]) child.send({ type: "stop" });
  await Promise.all([...clients, server].map((c) => new Promise((r) => c.once("exit", r))));
  return results;
}

const redis = await startRedis();
const results: Result[] = [];
try {
  for (const mode of MODES) results.push(...(await runMode(mode, redis.url)));
} finally {
  await redis.destroy();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const summary = MODES.flatMap((mode) =>
  (["direct", "fanout"] as const).map((scenario) => {
    const rounds = results.filter((r) => r.mode === mode && r.scenario === scenario);
    return {
      mode,
      scenario,
      deliveries: rounds[0]!.deliveries,
      deliveriesPerSecond: median(rounds.map((r) => r.deliveriesPerSecond)),
      serverCpuMicrosPerDelivery: median(rounds.map((r) => r.serverCpuMicrosPerDelivery)),
      cpuRange: rounds.map((r) => r.serverCpuMicrosPerDelivery).join(" / "),
    };
  }),
);
console.log(
  `bench/push: ${CLIENTS} clients, ${DIRECT} direct commands, ${FANOUT} fan-out commands, ` +
    `median of ${ROUNDS} rounds`,
);
console.table(summary);
for (const scenario of ["direct", "fanout"] as const) {
  const herald = summary.find((r) => r.mode === "herald" && r.scenario === scenario);
  const bare = summary.find((r) => r.mode === "bare" && r.scenario === scenario);
  if (!herald || !bare) continue;
  const verdict =
    herald.serverCpuMicrosPerDelivery <= bare.serverCpuMicrosPerDelivery ? "meets" : "misses";
  console.log(
    `${scenario}: herald ${herald.serverCpuMicrosPerDelivery} µs/delivery vs bare socket.io ` +
      `${bare.serverCpuMicrosPerDelivery} µs/delivery → ${verdict} the target (herald ≤ bare)`,
  );
}
const out = join(here, "..", "..", "bench", "results");
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, "push.json"),
  JSON.stringify({ date: new Date().toISOString(), clients: CLIENTS, summary, results }, null, 2),
);
console.log(`wrote ${join(out, "push.json")}`);
