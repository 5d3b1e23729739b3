// The scenarios of issue #13's table. Each runs every side on fresh processes and a fresh
// redis-server, the same load for all, and returns per-rep figures; a rep with a lost delivery,
// an unexpected disconnect or a non-2xx answer is failed, whatever its numbers.
import { Agent } from "node:http";
import { startPostgres } from "../support/postgres-server.js";
import { freePort } from "../support/redis-server.js";
import type { MessagePush } from "../engine/protocol.js";
import type { Target } from "./load-clients.js";
import { drive, httpJson } from "./lib/http-load.js";
import { LoadClients } from "./lib/load.js";
import {
  familyCpuMicros,
  launch,
  nextMessage,
  now,
  sleep,
  stop,
  track,
  type Launched,
} from "./lib/proc.js";
import { percentiles, round } from "./lib/stats.js";
import { watchStalls } from "./lib/stalls.js";
import {
  startHeraldNode,
  startRedisProbe,
  startSide,
  totalCpu,
  totalRss,
  type RedisProbe,
  type SideSpec,
} from "./sides.js";

export interface Scale {
  clients: number;
  directCommands: number;
  fanoutCommands: number;
  warmCommands: number;
  /** Un-acked deliveries allowed on direct runs (fan-out: two commands' worth). */
  directWindow: number;
  rate: number;
  rateSeconds: number;
  sendUsers: number;
  /** Requests of a send rep at saturation: enough for several seconds, so that one of the
   * 20–120 ms stalls this 2-core machine has every few seconds moves a rep's rate by a few
   * percent (in bench/send's rounds of half a second they moved it by 10–20 %:
   * docs/BENCHMARK-HISTORY.md, "Session 8"). */
  sendRequests: number;
  inflight: number;
  connections: number;
  reps: number;
}

export const SCALES: Record<"full" | "quick", Scale> = {
  full: {
    clients: 2000,
    directCommands: 20_000,
    fanoutCommands: 60,
    warmCommands: 3000,
    directWindow: 500,
    rate: 5000,
    rateSeconds: 3,
    sendUsers: 100,
    sendRequests: 12_000,
    inflight: 32,
    // 4,000 per node (issue #13's run had ~17,000): at 2,000 a process's fixed growth while
    // sockets open (its young generation reaching full size) was a third of the per-connection
    // RSS (session 9: 36 KB each for a node's first 1,000, 8–15 for the next).
    connections: 12_000,
    reps: 3,
  },
  // A smoke run: every scenario and side once, small enough for two minutes on a busy machine.
  quick: {
    clients: 100,
    directCommands: 1000,
    fanoutCommands: 5,
    warmCommands: 200,
    directWindow: 100,
    rate: 500,
    rateSeconds: 1,
    sendUsers: 10,
    sendRequests: 200,
    inflight: 8,
    connections: 200,
    reps: 1,
  },
};

/** One rep's figures, by name (the report knows their units from the name). */
export type Figures = Record<string, number>;

export interface RepResult {
  figures: Figures;
  /** Why this rep does not count: losses, disconnects, refused requests. Empty: it counts. */
  failures: string[];
}

export interface Scenario {
  name: string;
  title: string;
  /** The figure the chart shows, and the parts it is stacked from (same unit). */
  chart: { title: string; stack: string[] };
  sides: string[];
  /** Runs one side: setup, then `scale.reps` reps; calls tick() after setup and each rep. */
  run(side: string, scale: Scale, tick: (what: string) => void): Promise<RepResult[]>;
}

const PHASE_MS = 60_000;
const DRAIN_MS = 30_000;
/** After the last delivery, before reading CPU: the acks and writes still in flight land. */
const SETTLE_MS = 100;
/** After opening sockets, before reading RSS: the handshakes' garbage is collected or not. */
const RSS_SETTLE_MS = 1000;

const users = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);
const perThousand = (n: number) => round(n, 2);

/** Tears down in reverse order whatever a run started, even when it failed half way. */
class Teardown {
  private steps: (() => Promise<void>)[] = [];
  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    while (this.steps.length > 0) await this.steps.pop()!().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// The push leg: a command on Redis → every recipient socket, flow-controlled.

function pushScenario(
  name: string,
  title: string,
  mode: "direct" | "fanout",
  specs: SideSpec[],
): Scenario {
  return {
    name,
    title,
    chart: {
      title: "server CPU µs per delivery (servers + Redis)",
      stack: ["serverCpuUs", "redisCpuUs"],
    },
    sides: specs.map((s) => s.label),
    async run(label, scale, tick) {
      const spec = specs.find((s) => s.label === label)!;
      const teardown = new Teardown();
      try {
        const redis = await startRedisProbe();
        teardown.add(() => redis.close());
        const side = await startSide(spec, redis);
        teardown.add(() => side.close());
        const clients = LoadClients.start();
        teardown.add(() => clients.stop());
        const ids = users(scale.clients);
        const rssBefore = totalRss(side.servers);
        const failed = await clients.open(side.clientKind, await side.targets(ids));
        if (failed.length > 0) throw new Error(`${failed.length} sockets failed: ${failed[0]}`);
        await sleep(RSS_SETTLE_MS);
        const rssPerConnectionKB = (totalRss(side.servers) - rssBefore) / 1024 / scale.clients;

        const fan = mode === "direct" ? 1 : scale.clients;
        const window = mode === "direct" ? scale.directWindow : 2 * scale.clients;
        let n = 0;
        // The item Herald pushes (engine/protocol.ts), the same bytes for every side.
        const push = (): MessagePush => {
          const t = now();
          return {
            id: `m-${n}`,
            seq: n + 1,
            kind: "message",
            from: "bench",
            content: { t, n },
            ts: Math.floor(t),
          };
        };
        const recipients = () => (mode === "direct" ? [ids[(n * 7919) % scale.clients]!] : "*");
        let injectErrors = 0;

        /** Publishes `count` commands, at `rate`/s or as fast as the window allows. */
        const phase = async (count: number, rate?: number) => {
          const cpu0 = totalCpu(side.servers);
          const redis0 = await redis.stats();
          const published0 = side.published;
          const received0 = side.received;
          const delivered0 = clients.delivered;
          const t0 = now();
          const deadline = Date.now() + PHASE_MS;
          const outstanding = (sent: number) => sent * fan - (clients.delivered - delivered0);
          let sent = 0;
          let stalls = 0;
          while (sent < count && Date.now() < deadline) {
            const due = rate === undefined ? count : Math.min(count, ((now() - t0) / 1000) * rate);
            while (sent < due && outstanding(sent) + fan <= window) {
              side.inject(recipients(), push()).catch(() => injectErrors++);
              sent++;
              n++;
            }
            if (rate !== undefined) {
              if (sent < Math.floor(due)) stalls++;
              await sleep(1);
            } else if (sent < count) await clients.nextCredit(100);
          }
          const publishedSeconds = (now() - t0) / 1000;
          const drained = await clients.drain(delivered0 + sent * fan, DRAIN_MS);
          const seconds = (now() - t0) / 1000;
          await sleep(SETTLE_MS);
          const serverCpu = totalCpu(side.servers) - cpu0;
          const redis1 = await redis.stats();
          const taken = await clients.take();
          const deliveries = sent * fan;
          const got = clients.delivered - delivered0;
          const [p50, p99, max] = percentiles(taken.hists, [50, 99, 100]);
          const publisherPublishes = side.published - published0;
          const otherPublishes = redis1.publishes - redis0.publishes - publisherPublishes;
          const nodes = spec.nodes;
          const failures: string[] = [];
          if (sent < count) failures.push(`published ${sent}/${count} within ${PHASE_MS} ms`);
          if (!drained || got !== deliveries) failures.push(`lost ${deliveries - got} deliveries`);
          if (taken.disconnects > 0) failures.push(`${taken.disconnects} disconnects`);
          if (injectErrors > 0) failures.push(`${injectErrors} publishes failed`);
          return {
            failures,
            deliveries,
            seconds,
            publishedSeconds,
            stalls,
            p50,
            p99,
            max,
            serverCpuUs: serverCpu / deliveries,
            redisCpuUs: (redis1.cpuMicros - redis0.cpuMicros) / deliveries,
            redisCommandsPerDelivery: (redis1.commands - redis0.commands) / deliveries,
            publishesPerCommand: (redis1.publishes - redis0.publishes) / sent,
            // Each node's pub/sub input: what the publisher's PUBLISHes reached, plus the
            // servers' own PUBLISHes (adapter fan-out), which every node's subscription receives.
            pubsubInPerNodePerCommand:
              (side.received - received0 + otherPublishes * nodes) / nodes / sent,
          };
        };

        // Not measured, but a loss there still fails the side. A fan-out command is a delivery
        // to every client, so its warm-up is fewer commands (half a rep's): `warmCommands` of
        // them would be millions of deliveries, more than a phase's time bound.
        const warmCommands =
          mode === "direct" ? scale.warmCommands : Math.max(1, Math.ceil(scale.fanoutCommands / 2));
        const warmUp = (await phase(warmCommands)).failures.map((f) => `warm-up: ${f}`);
        tick("setup + warm-up");
        const reps: RepResult[] = [];
        const commands = mode === "direct" ? scale.directCommands : scale.fanoutCommands;
        for (let rep = 1; rep <= scale.reps; rep++) {
          const saturated = await phase(commands);
          const figures: Figures = {
            deliveriesPerSecond: Math.round(saturated.deliveries / saturated.seconds),
            cpuUsPerDelivery: round(saturated.serverCpuUs + saturated.redisCpuUs, 2),
            serverCpuUs: round(saturated.serverCpuUs, 2),
            redisCpuUs: round(saturated.redisCpuUs, 2),
            redisCommandsPerDelivery: perThousand(saturated.redisCommandsPerDelivery),
            publishesPerCommand: perThousand(saturated.publishesPerCommand),
            pubsubInPerNodePerCommand: perThousand(saturated.pubsubInPerNodePerCommand),
            rssPerConnectionKB: round(rssPerConnectionKB, 1),
          };
          const failures = [...warmUp.splice(0), ...saturated.failures];
          if (mode === "direct") {
            const total = Math.round(scale.rate * scale.rateSeconds);
            const fixed = await phase(total, scale.rate);
            Object.assign(figures, {
              rate: scale.rate,
              achievedRate: Math.round(fixed.deliveries / fixed.publishedSeconds),
              p50Ms: fixed.p50,
              p99Ms: fixed.p99,
              maxMs: fixed.max,
              creditStalls: fixed.stalls,
            });
            failures.push(...fixed.failures.map((f) => `at ${scale.rate}/s: ${f}`));
          }
          reps.push({ figures, failures });
          tick(`rep ${rep}`);
        }
        return reps;
      } finally {
        await teardown.run();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Accounts for the HTTP scenarios (cheap hash: setup, not what is measured).

interface Account {
  userId: string;
  token: string;
}

async function accounts(agent: Agent, business: string, n: number): Promise<Account[]> {
  const out: Account[] = new Array<Account>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        const i = next++;
        const credentials = { username: `bench_${i}`, password: "bench-password" };
        await httpJson(agent, `${business}/api/register`, "POST", undefined, credentials);
        const login = await httpJson(
          agent,
          `${business}/api/login`,
          "POST",
          undefined,
          credentials,
        );
        if (login.status !== 200) throw new Error(`login answered ${login.status}`);
        out[i] = login.body as Account;
      }
    }),
  );
  return out;
}

const NO_LIMITS = {
  RATE_USER_PER_S: "1000000",
  RATE_REGISTER_PER_MIN: "1000000",
  RATE_CONNECT_PER_MIN: "1000000",
  IM_DM_POLICY: "open",
};

/** Redis, `nodes` imServer processes and a business process (its store on `databaseUrl`'s
 * PostgreSQL when given, as in production; the imServers never touch the store). */
async function startHeraldStack(nodes: number, teardown: Teardown, databaseUrl?: string) {
  const redis: RedisProbe = await startRedisProbe();
  teardown.add(() => redis.close());
  const ims = await Promise.all(
    Array.from({ length: nodes }, () => startHeraldNode(redis.server.url, "partition", NO_LIMITS)),
  );
  teardown.add(async () => void (await Promise.all(ims.map((s) => stop(s)))));
  const business = launch("business", "lib/herald-business.js", {
    REDIS_URL: redis.server.url,
    REDIS_PREFIX: "herald:",
    BUSINESS_PORT: String(await freePort()),
    IM_ROUTER: "partition",
    LOG_LEVEL: "warn",
    ...NO_LIMITS,
    // Set either way, so that a DATABASE_URL in the caller's environment never moves the Redis
    // side's store to an unmeasured database ("" is unset for loadConfig).
    DATABASE_URL: databaseUrl ?? "",
  });
  teardown.add(() => stop(business));
  const { url } = await nextMessage<{ type: "ready"; url: string }>(business, "ready");
  return { redis, ims, business, url };
}

// ---------------------------------------------------------------------------------------------
// POST /api/messages end to end, on the Redis store and on PostgreSQL, against a bare Koa JSON
// route. PostgreSQL's CPU is the postmaster's and every backend's (bench/lib/proc.ts
// familyCpuMicros), counted with the servers' and Redis's.

const sendScenario: Scenario = {
  name: "send",
  title:
    "POST /api/messages end to end (Redis store, PostgreSQL store; many sessions) vs a bare Koa JSON route",
  chart: { title: "requests/s at saturation", stack: ["requestsPerSecond"] },
  sides: ["herald", "herald-postgres", "koa"],
  async run(label, scale, tick) {
    const teardown = new Teardown();
    const agent = new Agent({ keepAlive: true, maxSockets: scale.inflight });
    teardown.add(async () => agent.destroy());
    try {
      let base: string;
      let servers: Launched[];
      let redis: RedisProbe | null = null;
      let postmaster: number | null = null;
      let senders: Account[];
      let clients: LoadClients | null = null;
      /** Each Herald process's base URL, for its /metrics (bench/lib/stalls.ts). */
      let metricsOf: Record<string, string> | null = null;
      if (label === "herald" || label === "herald-postgres") {
        let databaseUrl: string | undefined;
        if (label === "herald-postgres") {
          const postgres = await startPostgres();
          postmaster = postgres.postmasterPid();
          // Tracked, so a run that is cut short (its time bound, ^C) kills it too.
          const untrack = track(postmaster);
          teardown.add(async () => {
            await postgres.destroy();
            untrack();
          });
          ({ url: databaseUrl } = postgres);
        }
        const stack = await startHeraldStack(1, teardown, databaseUrl);
        ({ redis, url: base } = stack);
        servers = [stack.business, ...stack.ims];
        metricsOf = { business: base, imServer: stack.ims[0]!.url };
        senders = await accounts(agent, base, scale.sendUsers);
        clients = LoadClients.start();
        const started = clients;
        teardown.add(() => started.stop());
        const targets: Target[] = senders.map((a) => ({ ...a, business: base, session: a.token }));
        const failed = await clients.open("herald", targets);
        if (failed.length > 0) throw new Error(`${failed.length} sockets failed: ${failed[0]}`);
      } else {
        const koa = launch("koa", "peers/koa-json.js");
        teardown.add(() => stop(koa));
        ({ url: base } = await nextMessage<{ type: "ready"; url: string }>(koa, "ready"));
        servers = [koa];
        senders = users(scale.sendUsers).map((userId) => ({ userId, token: "none" }));
      }
      const send = async (i: number) => {
        const from = senders[i % senders.length]!;
        const to = senders[(i + 1 + (i % 7)) % senders.length]!;
        const answer = await httpJson(agent, `${base}/api/messages`, "POST", from.token, {
          to: to.userId,
          content: { text: "hello from bench", t: now(), n: i },
        });
        return answer.status;
      };
      const measure = async (count: number, rate?: number) => {
        const cpu0 = totalCpu(servers);
        const postgres0 = postmaster === null ? 0 : familyCpuMicros(postmaster);
        const redis0 = await redis?.stats();
        const delivered0 = clients?.delivered ?? 0;
        const stalls = metricsOf && (await watchStalls(metricsOf));
        const load = await drive(count, scale.inflight, send, Date.now() + PHASE_MS, rate);
        const stalled = await stalls?.();
        const accepted = load.statuses[202] ?? 0;
        const drained = clients ? await clients.drain(delivered0 + accepted, DRAIN_MS) : true;
        await sleep(SETTLE_MS);
        const serverCpu = totalCpu(servers) - cpu0;
        const postgresCpu = postmaster === null ? 0 : familyCpuMicros(postmaster) - postgres0;
        const redisCpu = redis0 ? (await redis!.stats()).cpuMicros - redis0.cpuMicros : 0;
        const taken = await clients?.take();
        const [p50, p99] = percentiles([load.hist], [50, 99]);
        const [, pushP99] = taken ? percentiles(taken.hists, [50, 99]) : [NaN, NaN];
        const failures: string[] = [];
        if (accepted !== count) failures.push(`answers ${JSON.stringify(load.statuses)}`);
        if (!drained) failures.push(`lost ${delivered0 + accepted - clients!.delivered} pushes`);
        if (taken && taken.disconnects > 0) failures.push(`${taken.disconnects} disconnects`);
        return {
          failures,
          requestsPerSecond: Math.round(load.requests / load.seconds),
          p50,
          p99,
          pushP99,
          stalls: load.stalls,
          stalled,
          serverCpuUs: serverCpu / load.requests,
          redisCpuUs: redisCpu / load.requests,
          postgresCpuUs: postgresCpu / load.requests,
        };
      };
      // A warm-up as long as a quarter of a rep (with 500 requests, rep 1 was the slowest rep in
      // 8 of 9 sides, its CPU per request 20–50 % above the others': code still being
      // optimised); its failures count as the first rep's.
      const warm = await measure(Math.min(3000, scale.sendRequests));
      tick("setup + warm-up");
      const reps: RepResult[] = [];
      for (let rep = 1; rep <= scale.reps; rep++) {
        const saturated = await measure(scale.sendRequests);
        const halfRate = Math.max(1, Math.round(saturated.requestsPerSecond / 2));
        const half = await measure(Math.round(halfRate * scale.rateSeconds * 2), halfRate);
        reps.push({
          figures: {
            requestsPerSecond: saturated.requestsPerSecond,
            p50Ms: saturated.p50,
            p99Ms: saturated.p99,
            cpuUsPerRequest: round(
              saturated.serverCpuUs + saturated.redisCpuUs + saturated.postgresCpuUs,
              1,
            ),
            serverCpuUs: round(saturated.serverCpuUs, 1),
            redisCpuUs: round(saturated.redisCpuUs, 1),
            postgresCpuUs: round(saturated.postgresCpuUs, 1),
            halfLoadRate: halfRate,
            halfLoadP50Ms: half.p50,
            halfLoadP99Ms: half.p99,
            halfLoadPushP99Ms: half.pushP99,
            halfLoadStalls: half.stalls,
            // Where the half-load tail went (bench/lib/stalls.ts; NaN for the bare route).
            halfLoadServerOver25msPct: round(half.stalled?.serverOver25msPct ?? NaN, 2),
            halfLoadServerP99AtMostMs: half.stalled?.serverP99AtMostMs ?? NaN,
            halfLoadBusinessStallMs: round(half.stalled?.loopMaxMs.business ?? NaN, 1),
            halfLoadImStallMs: round(half.stalled?.loopMaxMs.imServer ?? NaN, 1),
            halfLoadLoadgenStallMs: round(half.stalled?.loopMaxMs.load ?? NaN, 1),
            halfLoadBusinessGcMs: round(half.stalled?.gcMs.business ?? NaN, 1),
            halfLoadBusinessMajorGcs: half.stalled?.majorGcs.business ?? NaN,
            halfLoadImGcMs: round(half.stalled?.gcMs.imServer ?? NaN, 1),
          },
          failures: [
            ...(rep === 1 ? warm.failures.map((f) => `warm-up: ${f}`) : []),
            ...saturated.failures,
            ...half.failures.map((f) => `half load: ${f}`),
          ],
        });
        tick(`rep ${rep}`);
      }
      return reps;
    } finally {
      await teardown.run();
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Connections opened the real way, over 3 nodes: RSS per idle connection and CPU per connect.

const CONNECT_NODES = 3;
const SOCKETS_PER_USER = 10;

const connectScenario: Scenario = {
  name: "connect",
  title: `connections opened the real way over ${CONNECT_NODES} nodes (Herald: POST /api/connect + token handshake)`,
  chart: { title: "server RSS KB per idle connection", stack: ["rssPerConnectionKB"] },
  sides: ["herald", "socket.io"],
  async run(label, scale, tick) {
    const reps: RepResult[] = [];
    // Each rep on fresh processes: a second round of sockets would land in a heap already grown.
    for (let rep = 1; rep <= scale.reps; rep++) {
      const teardown = new Teardown();
      try {
        let servers: Launched[];
        let counted: Launched[];
        let redis: RedisProbe;
        let targets: Target[];
        const kind = label === "herald" ? "herald" : "sio";
        if (label === "herald") {
          const stack = await startHeraldStack(CONNECT_NODES, teardown);
          redis = stack.redis;
          servers = stack.ims;
          counted = [stack.business, ...stack.ims];
          const agent = new Agent({ keepAlive: true, maxSockets: 16 });
          teardown.add(async () => agent.destroy());
          const people = await accounts(
            agent,
            stack.url,
            Math.ceil(scale.connections / SOCKETS_PER_USER),
          );
          targets = Array.from({ length: scale.connections }, (_, i) => {
            const account = people[i % people.length]!;
            return { userId: account.userId, business: stack.url, session: account.token };
          });
        } else {
          const side = await startSide(
            { label, kind: "socket.io", nodes: CONNECT_NODES },
            (redis = await startRedisProbe()),
          );
          teardown.add(() => redis.close());
          teardown.add(() => side.close());
          servers = counted = side.servers;
          targets = await side.targets(users(scale.connections));
        }
        const clients = LoadClients.start();
        teardown.add(() => clients.stop());
        // Opened in two halves, each followed by the same settle, so the report has both the
        // RSS per connection over all of them and the second half's alone: what one more idle
        // connection costs once each process's fixed growth (its young generation growing to
        // its full size, code compiled for the handshake) is paid.
        const half = Math.floor(targets.length / 2);
        const rss0 = totalRss(servers);
        let cpu = 0;
        let seconds = 0;
        const failed: string[] = [];
        const openPart = async (part: Target[]) => {
          const cpu0 = totalCpu(counted);
          const redis0 = await redis.stats();
          const t0 = now();
          failed.push(...(await clients.open(kind, part)));
          seconds += (now() - t0) / 1000;
          cpu += totalCpu(counted) - cpu0 + ((await redis.stats()).cpuMicros - redis0.cpuMicros);
          await sleep(RSS_SETTLE_MS);
          return totalRss(servers);
        };
        const rssHalf = await openPart(targets.slice(0, half));
        const rss = (await openPart(targets.slice(half))) - rss0;
        const taken = await clients.take();
        const opened = scale.connections - failed.length;
        reps.push({
          figures: {
            connectsPerSecond: Math.round(opened / seconds),
            cpuMsPerConnect: round(cpu / 1000 / opened, 2),
            rssPerConnectionKB: round(rss / 1024 / opened, 1),
            rssSecondHalfKB: round((rss0 + rss - rssHalf) / 1024 / (targets.length - half), 1),
          },
          failures: [
            ...(failed.length > 0 ? [`${failed.length} failed: ${failed[0]}`] : []),
            ...(taken.disconnects > 0 ? [`${taken.disconnects} disconnects`] : []),
          ],
        });
      } finally {
        await teardown.run();
      }
      tick(`rep ${rep}`);
    }
    return reps;
  },
};

const herald1: SideSpec = { label: "herald", kind: "herald", nodes: 1 };
const singleNodePeers: SideSpec[] = [
  { label: "socket.io-ack", kind: "socket.io-ack", nodes: 1 },
  { label: "socket.io", kind: "socket.io", nodes: 1 },
  { label: "ws", kind: "ws", nodes: 1 },
];

export const SCENARIOS: Scenario[] = [
  pushScenario("push-direct", "push leg, direct (one recipient per command), one node", "direct", [
    herald1,
    ...singleNodePeers,
  ]),
  pushScenario("push-fanout", "push leg, fan-out (every client per command), one node", "fanout", [
    herald1,
    ...singleNodePeers,
  ]),
  pushScenario("nodes3-direct", "push leg, direct, 3 nodes", "direct", [
    { label: "herald-partition", kind: "herald", nodes: 3, router: "partition" },
    { label: "herald-adapter", kind: "herald", nodes: 3, router: "adapter" },
    { label: "socket.io-redis-adapter", kind: "socket.io", nodes: 3 },
  ]),
  sendScenario,
  connectScenario,
];
