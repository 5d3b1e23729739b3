// bench/routing: the two IM_ROUTER modes (partition, adapter) side by side in one run, each on
// its own redis-server, one business and 3 imServer processes, driven through the real HTTP API:
//   direct  — DMs between random users on different nodes, sent by a few concurrent senders;
//             latency is request start (and the 202) → the recipient's push, per message.
//   fanout  — posts to one channel every user is in; deliveries/s.
// CPU is read from /proc/<pid>/stat (utime+stime) of the imServer processes (summed) and of
// business, and from Redis INFO, before and after each round. A "delivery" is one push received
// by one socket: a DM makes two (the recipient, and the sender's own connection).
//   node dist/bench/routing.js [--users 1200] [--dms 3000] [--posts 30] [--rounds 3]
// Each scenario runs once small to warm up, then `rounds` times (dms/rounds, posts/rounds each);
// rates are medians of rounds; CPU and latency percentiles pool every recorded round.
// Users are registered and logged in through the API, two scrypt hashes each (~30/s on two
// cores), so 1,200 users cost ~80 s per mode: the default keeps a run under ~4 minutes.
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { startCluster, type TestCluster } from "../support/herald-cluster.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import type {
  Arrival,
  BenchUser,
  RoutingClientsReply,
  RoutingClientsRequest,
} from "./routing-clients.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    users: { type: "string", default: "1200" },
    dms: { type: "string", default: "3000" },
    posts: { type: "string", default: "30" },
    rounds: { type: "string", default: "3" },
    nodes: { type: "string", default: "3" },
    senders: { type: "string", default: "8" },
    "per-process": { type: "string", default: "1000" },
    modes: { type: "string", default: "partition,adapter" },
    "max-seconds": { type: "string", default: "480" },
    "register-concurrency": { type: "string", default: "8" },
  },
});
const USERS = Number(args.users);
const DMS = Number(args.dms);
const POSTS = Number(args.posts);
const ROUNDS = Number(args.rounds);
const NODES = Number(args.nodes);
const SENDERS = Number(args.senders);
const PER_PROCESS = Number(args["per-process"]);
const MAX_SECONDS = Number(args["max-seconds"]);
const ALL_MODES = ["partition", "adapter"] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES = ALL_MODES.filter((m) => args.modes.split(",").includes(m));
/** Scrypt-bound: more in flight only queues on business's thread pool. */
const REGISTER_CONCURRENCY = Number(args["register-concurrency"]);
const JOIN_CONCURRENCY = 16;
// The JIT is still settling after a few hundred DMs (CPU per delivery kept falling round by round).
const WARMUP_DMS = 1000;
const WARMUP_POSTS = 5;
const IPC_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 60_000;
const HTTP_TIMEOUT_MS = 15_000;
const CHANNEL = "bench-all";
const PASSWORD = "bench-password";

const now = () => performance.timeOrigin + performance.now();
const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started is stopped in finally, on SIGINT/SIGTERM, and past MAX_SECONDS.

const cleanups: (() => Promise<void>)[] = [];
async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
}
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => void cleanupAll().finally(() => process.exit(130)));
const watchdog = setTimeout(() => {
  console.error(`bench/routing: over ${MAX_SECONDS} s, giving up`);
  void cleanupAll().finally(() => process.exit(1));
}, MAX_SECONDS * 1000);
watchdog.unref();

// ---------------------------------------------------------------------------------------------
// Small tools

async function api<T>(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Runs `work` over `jobs` with `concurrency` workers; stops taking jobs past `deadline`. */
async function pool<J>(
  jobs: readonly J[],
  concurrency: number,
  work: (job: J) => Promise<void>,
  deadline = Date.now() + DRAIN_TIMEOUT_MS,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
      while (next < jobs.length && Date.now() < deadline) await work(jobs[next++]!);
    }),
  );
  if (next < jobs.length) throw new Error(`pool timed out after ${next}/${jobs.length} jobs`);
}

function ask<R extends RoutingClientsReply>(
  child: ChildProcess,
  type: R["type"],
  request: RoutingClientsRequest,
  timeoutMs = IPC_TIMEOUT_MS,
): Promise<R> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} reply`)), timeoutMs);
    const onMessage = (message: RoutingClientsReply) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(message as R);
    };
    child.on("message", onMessage);
    child.send(request);
  });
}

function procCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // After "pid (comm) ", field 3 (state) is index 0: utime (14) and stime (15) are 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

async function redisCpuMicros(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field("used_cpu_sys") + field("used_cpu_user")) * 1e6;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function percentileOf(values: number[], p: number): number {
  return percentile(
    [...values].sort((x, y) => x - y),
    p,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const round2 = (n: number) => Number(n.toFixed(2));

// ---------------------------------------------------------------------------------------------
// One mode

interface Round {
  mode: Mode;
  scenario: "direct" | "fanout";
  round: number;
  messages: number;
  deliveries: number;
  /** Deliveries that arrived within the drain timeout (less than `deliveries`: incomplete). */
  received: number;
  httpErrors: number;
  seconds: number;
  messagesPerSecond: number;
  deliveriesPerSecond: number;
  imCpuMicrosPerNode: number[];
  imCpuMicros: number;
  businessCpuMicros: number;
  redisCpuMicros: number;
  imCpuMicrosPerDelivery: number;
  businessCpuMicrosPerMessage: number;
  redisCpuMicrosPerDelivery: number;
  /** ms from the 202 to the recipient's push, per timed push (can be < 0: push beat the 202). */
  latency202: number[];
  /** ms from the request's start to the recipient's push. */
  latencyRequest: number[];
}

interface Sample {
  from: BenchUser;
  to: string;
  started: number;
  accepted: number;
}

interface Setup {
  registerSeconds: number;
  connectSeconds: number;
  connectionsPerNode: number[];
}

interface ModeRun {
  mode: Mode;
  setup: Setup;
  rounds: Round[];
  disconnects: number;
  kicked: number;
}

async function runMode(mode: Mode): Promise<ModeRun> {
  const redis: TestRedis = await startRedis();
  cleanups.push(() => redis.destroy());
  const cluster: TestCluster = await startCluster({
    redisUrl: redis.url,
    prefix: "bench:",
    router: mode,
    nodes: NODES,
    // Every bench user registers from 127.0.0.1 and senders go past 60 requests/s: no limits.
    env: {
      LOG_LEVEL: "warn",
      IM_DM_POLICY: "open",
      RATE_REGISTER_PER_MIN: "1000000",
      RATE_USER_PER_S: "1000000",
      RATE_CONNECT_PER_MIN: "1000000",
    },
  });
  cleanups.push(() => cluster.stop());
  const redisInfo = new Redis(redis.url);
  cleanups.push(async () => redisInfo.disconnect());
  const business = cluster.business.url;

  // Accounts: register + login are one scrypt hash each, so this is most of the setup time.
  const registerStarted = Date.now();
  const users: BenchUser[] = new Array<BenchUser>(USERS);
  await pool(
    Array.from({ length: USERS }, (_, i) => i),
    REGISTER_CONCURRENCY,
    async (i) => {
      const username = `bench-${i}`;
      const credentials = { username, password: PASSWORD };
      const registered = await api<{ userId: string }>(
        business,
        "POST",
        "/api/register",
        undefined,
        credentials,
      );
      if (registered.status !== 201) throw new Error(`register ${username}: ${registered.status}`);
      const login = await api<{ token: string; userId: string }>(
        business,
        "POST",
        "/api/login",
        undefined,
        credentials,
      );
      if (login.status !== 200) throw new Error(`login ${username}: ${login.status}`);
      users[i] = { userId: login.body.userId, token: login.body.token };
    },
    Date.now() + MAX_SECONDS * 1000,
  );
  const registerSeconds = (Date.now() - registerStarted) / 1000;

  // Sockets, at most PER_PROCESS per client process (and at least two processes, so one
  // process's event loop is not the bottleneck of the fan-out).
  const connectStarted = Date.now();
  const processes = Math.max(2, Math.ceil(USERS / PER_PROCESS));
  const share = Math.ceil(USERS / processes);
  const clients = Array.from({ length: processes }, () => fork(join(here, "routing-clients.js")));
  cleanups.push(async () => {
    for (const child of clients) if (child.connected) child.send({ type: "stop" });
    await Promise.all(
      clients.map((child) =>
        child.exitCode === null && child.signalCode === null
          ? new Promise((resolve) => child.once("exit", resolve))
          : null,
      ),
    );
  });
  const connected = await Promise.all(
    clients.map((child, i) =>
      ask<Extract<RoutingClientsReply, { type: "connected" }>>(child, "connected", {
        type: "connect",
        business,
        users: users.slice(i * share, (i + 1) * share),
      }),
    ),
  );
  const failed = connected.flatMap((c) => c.failed);
  if (failed.length > 0) throw new Error(`${failed.length} sockets failed: ${failed.slice(0, 3)}`);
  const nodeOf = new Map(connected.flatMap((c) => c.nodes));
  const connectSeconds = (Date.now() - connectStarted) / 1000;
  const connectionsPerNode = await Promise.all(cluster.nodes.map((n) => cluster.connections(n)));

  await pool(users, JOIN_CONCURRENCY, async (user) => {
    const joined = await api(business, "POST", `/api/channels/${CHANNEL}/join`, user.token);
    if (joined.status !== 200) throw new Error(`join: ${joined.status}`);
  });

  const count = async () => {
    const replies = await Promise.all(
      clients.map((c) =>
        ask<Extract<RoutingClientsReply, { type: "count" }>>(c, "count", { type: "count" }),
      ),
    );
    return {
      received: replies.reduce((sum, r) => sum + r.received, 0),
      disconnects: replies.reduce((sum, r) => sum + r.disconnects, 0),
      kicked: replies.reduce((sum, r) => sum + r.kicked, 0),
    };
  };
  const collect = async () => {
    const replies = await Promise.all(
      clients.map((c) =>
        ask<Extract<RoutingClientsReply, { type: "collected" }>>(c, "collected", {
          type: "collect",
        }),
      ),
    );
    return {
      direct: new Map<string, number>(replies.flatMap((r) => r.direct)),
      channel: replies.flatMap((r): Arrival[] => r.channel),
    };
  };
  const cpu = async () => ({
    im: cluster.nodes.map((n) => procCpuMicros(n.child.pid!)),
    business: procCpuMicros(cluster.business.child.pid!),
    redis: await redisCpuMicros(redisInfo),
  });
  /** Waits (bounded) until `target` pushes have arrived; returns how many did. */
  const drain = async (target: number) => {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    let got = (await count()).received;
    while (got < target && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      got = (await count()).received;
    }
    return got;
  };

  /** Random sender → recipient pairs on different nodes (every pair crosses nodes). */
  const pairs = (n: number) =>
    Array.from({ length: n }, () => {
      const from = users[Math.floor(Math.random() * USERS)]!;
      for (let tries = 0; tries < 100; tries++) {
        const to = users[Math.floor(Math.random() * USERS)]!;
        if (to !== from && nodeOf.get(to.userId) !== nodeOf.get(from.userId))
          return { from, to: to.userId };
      }
      throw new Error("no user on another node");
    });

  const measure = async (
    scenario: Round["scenario"],
    round: number,
    messages: number,
    send: () => Promise<{ errors: number; samples: Map<string, Sample> }>,
    fan: number,
  ): Promise<Round> => {
    await collect(); // drop anything left from setup or the last round
    const before = await count();
    const cpuBefore = await cpu();
    const started = now();
    const { errors, samples } = await send();
    const accepted = messages - errors;
    const deliveries = accepted * fan;
    const received = (await drain(before.received + deliveries)) - before.received;
    const seconds = (now() - started) / 1000;
    const cpuAfter = await cpu();
    const arrivals = await collect();
    const imCpuMicrosPerNode = cpuAfter.im.map((v, i) => v - cpuBefore.im[i]!);
    const imCpu = imCpuMicrosPerNode.reduce((a, b) => a + b, 0);
    const latency202: number[] = [];
    const latencyRequest: number[] = [];
    if (scenario === "direct") {
      for (const [id, sample] of samples) {
        const at = arrivals.direct.get(id);
        if (at === undefined) continue;
        latency202.push(at - sample.accepted);
        latencyRequest.push(at - sample.started);
      }
    } else {
      for (const [id, at] of arrivals.channel) {
        const sample = samples.get(id);
        if (!sample) continue;
        latency202.push(at - sample.accepted);
        latencyRequest.push(at - sample.started);
      }
    }
    return {
      mode,
      scenario,
      round,
      messages,
      deliveries,
      received,
      httpErrors: errors,
      seconds: Number(seconds.toFixed(3)),
      messagesPerSecond: Math.round(accepted / seconds),
      deliveriesPerSecond: Math.round(received / seconds),
      imCpuMicrosPerNode: imCpuMicrosPerNode.map(Math.round),
      imCpuMicros: Math.round(imCpu),
      businessCpuMicros: Math.round(cpuAfter.business - cpuBefore.business),
      redisCpuMicros: Math.round(cpuAfter.redis - cpuBefore.redis),
      imCpuMicrosPerDelivery: round2(imCpu / Math.max(1, received)),
      businessCpuMicrosPerMessage: round2(
        (cpuAfter.business - cpuBefore.business) / Math.max(1, accepted),
      ),
      redisCpuMicrosPerDelivery: round2((cpuAfter.redis - cpuBefore.redis) / Math.max(1, received)),
      latency202,
      latencyRequest,
    };
  };

  const directRound = (round: number, n: number) =>
    measure(
      "direct",
      round,
      n,
      async () => {
        const samples = new Map<string, Sample>();
        let errors = 0;
        await pool(pairs(n), SENDERS, async ({ from, to }) => {
          const started = now();
          const sent = await api<{ id: string }>(business, "POST", "/api/messages", from.token, {
            to,
            content: { text: "hello from bench/routing" },
          }).catch(() => ({ status: 0, body: { id: "" } }));
          if (sent.status !== 202) errors++;
          else samples.set(sent.body.id, { from, to, started, accepted: now() });
        });
        return { errors, samples };
      },
      2,
    );

  const poster = users[0]!;
  const fanoutRound = (round: number, n: number) =>
    measure(
      "fanout",
      round,
      n,
      async () => {
        const samples = new Map<string, Sample>();
        let errors = 0;
        // One poster, back to back: the fan-out, not the HTTP leg, is what this scenario loads.
        for (let i = 0; i < n; i++) {
          const started = now();
          const sent = await api<{ id: string }>(
            business,
            "POST",
            `/api/channels/${CHANNEL}/messages`,
            poster.token,
            { content: { text: `post ${i}` } },
          ).catch(() => ({ status: 0, body: { id: "" } }));
          if (sent.status !== 202) errors++;
          else samples.set(sent.body.id, { from: poster, to: CHANNEL, started, accepted: now() });
        }
        return { errors, samples };
      },
      USERS,
    );

  const rounds: Round[] = [];
  // Round 0 warms the JIT, the HTTP connections and the sockets up and is not recorded.
  await directRound(0, WARMUP_DMS);
  await fanoutRound(0, WARMUP_POSTS);
  for (let round = 1; round <= ROUNDS; round++) {
    rounds.push(await directRound(round, Math.ceil(DMS / ROUNDS)));
    rounds.push(await fanoutRound(round, Math.ceil(POSTS / ROUNDS)));
  }
  const final = await count();
  await cleanupAll();
  return {
    mode,
    setup: { registerSeconds, connectSeconds, connectionsPerNode },
    rounds,
    disconnects: final.disconnects,
    kicked: final.kicked,
  };
}

// ---------------------------------------------------------------------------------------------
// Run, summarise, compare

const runStarted = Date.now();
const runs: ModeRun[] = [];
try {
  for (const mode of MODES) {
    console.log(`bench/routing: ${mode}: ${USERS} users on ${NODES} nodes …`);
    runs.push(await runMode(mode));
  }
} finally {
  await cleanupAll();
  clearTimeout(watchdog);
}

function summarise(run: ModeRun, scenario: Round["scenario"]) {
  const rounds = run.rounds.filter((r) => r.scenario === scenario);
  const l202 = rounds.flatMap((r) => r.latency202).sort((a, b) => a - b);
  const lreq = rounds.flatMap((r) => r.latencyRequest).sort((a, b) => a - b);
  // CPU is pooled over the rounds: /proc counts in 10 ms ticks, too coarse for one short round.
  const sum = (f: (r: Round) => number) => rounds.reduce((total, r) => total + f(r), 0);
  const received = Math.max(
    1,
    sum((r) => r.received),
  );
  const accepted = Math.max(
    1,
    sum((r) => r.messages - r.httpErrors),
  );
  return {
    mode: run.mode,
    scenario,
    messages: rounds.reduce((s, r) => s + r.messages, 0),
    deliveries: rounds.reduce((s, r) => s + r.deliveries, 0),
    missing: rounds.reduce((s, r) => s + r.deliveries - r.received, 0),
    httpErrors: rounds.reduce((s, r) => s + r.httpErrors, 0),
    messagesPerSecond: median(rounds.map((r) => r.messagesPerSecond)),
    deliveriesPerSecond: median(rounds.map((r) => r.deliveriesPerSecond)),
    p50ms: round2(percentile(lreq, 50)),
    p95ms: round2(percentile(lreq, 95)),
    p99ms: round2(percentile(lreq, 99)),
    after202P50ms: round2(percentile(l202, 50)),
    after202P99ms: round2(percentile(l202, 99)),
    imCpuUsPerDelivery: round2(sum((r) => r.imCpuMicros) / received),
    businessCpuUsPerMessage: round2(sum((r) => r.businessCpuMicros) / accepted),
    redisCpuUsPerDelivery: round2(sum((r) => r.redisCpuMicros) / received),
    imCpuRange: rounds.map((r) => r.imCpuMicrosPerDelivery).join(" / "),
  };
}

const summary = runs.flatMap((run) =>
  (["direct", "fanout"] as const).map((s) => summarise(run, s)),
);
console.log(
  `\nbench/routing: ${USERS} users, ${NODES} imServer nodes, ${DMS} DMs (${SENDERS} senders), ` +
    `${POSTS} channel posts to all, median of ${ROUNDS} rounds.\n` +
    `p50/p95/p99 ms: request sent → recipient's push; after202*: the sender's 202 → that push ` +
    `(< 0 when the push beats the 202: business publishes before it answers).\n` +
    `CPU in µs, pooled over the rounds; a DM is 2 deliveries (the recipient, and the sender's ` +
    `own socket); a post is one delivery per member, the poster included.`,
);
/** Short column names, so a mode's table fits a terminal; the JSON keeps the long ones. */
function display(row: ReturnType<typeof summarise>) {
  return {
    scenario: row.scenario,
    msgs: row.messages,
    deliveries: row.deliveries,
    missing: row.missing,
    "http err": row.httpErrors,
    "msg/s": row.messagesPerSecond,
    "deliv/s": row.deliveriesPerSecond,
    p50: row.p50ms,
    p95: row.p95ms,
    p99: row.p99ms,
    "202→p50": row.after202P50ms,
    "202→p99": row.after202P99ms,
    "im µs/deliv": row.imCpuUsPerDelivery,
    "biz µs/msg": row.businessCpuUsPerMessage,
    "redis µs/deliv": row.redisCpuUsPerDelivery,
    "im µs/deliv by round": row.imCpuRange,
  };
}

for (const run of runs) {
  console.log(
    `\n${run.mode}: accounts ${run.setup.registerSeconds.toFixed(1)} s, sockets ` +
      `${run.setup.connectSeconds.toFixed(1)} s, connections per node ` +
      `${run.setup.connectionsPerNode.join(" / ")}, unexpected disconnects ${run.disconnects}, ` +
      `kicked ${run.kicked}`,
  );
  console.table(summary.filter((s) => s.mode === run.mode).map(display));
}

const METRICS = [
  "messagesPerSecond",
  "deliveriesPerSecond",
  "p50ms",
  "p95ms",
  "p99ms",
  "after202P50ms",
  "imCpuUsPerDelivery",
  "businessCpuUsPerMessage",
  "redisCpuUsPerDelivery",
] as const;
const comparison: Record<string, string | number>[] = [];
const [a, b] = MODES;
if (a && b) {
  for (const scenario of ["direct", "fanout"] as const) {
    const left = summary.find((s) => s.mode === a && s.scenario === scenario)!;
    const right = summary.find((s) => s.mode === b && s.scenario === scenario)!;
    for (const metric of METRICS)
      comparison.push({
        scenario,
        metric,
        [a]: left[metric],
        [b]: right[metric],
        [`${b}/${a}`]: round2(right[metric] / left[metric]),
      });
  }
  console.log(`\ncomparison (${b} / ${a}):`);
  console.table(comparison);
}
console.log(`total ${((Date.now() - runStarted) / 1000).toFixed(0)} s`);

const out = join(here, "..", "..", "bench", "results");
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, "routing.json"),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      config: {
        users: USERS,
        nodes: NODES,
        dms: DMS,
        posts: POSTS,
        rounds: ROUNDS,
        senders: SENDERS,
      },
      summary,
      comparison,
      runs: runs.map((run) => ({
        ...run,
        // Per-message latencies are summarised above; keep the rounds' own figures only.
        rounds: run.rounds.map(({ latency202, latencyRequest, ...round }) => ({
          ...round,
          p50ms: round2(percentileOf(latencyRequest, 50)),
          p99ms: round2(percentileOf(latencyRequest, 99)),
          after202P50ms: round2(percentileOf(latency202, 50)),
        })),
      })),
    },
    null,
    2,
  ),
);
console.log(`wrote ${join(out, "routing.json")}`);
