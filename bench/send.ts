// bench/send: the send path end to end on the Redis store. A Herald (business + one imServer)
// runs in a child process on its own redis-server; this process registers users, opens one
// acking socket each, then drives POST /api/messages between friends with a fixed number of
// requests in flight, bounded by count and time. It also times GET /api/conversations for a
// user with 10 and with 500 conversations, and POST /api/read (where the server has it). The
// same sends also go to a bare Koa JSON route (bench/peers/koa-json.ts), the yardstick.
// Prints a table and writes bench/results/bench-send.json (not send.json: that is `npm run
// bench`'s send scenario, which its report reads).
// With `--store postgres` the store is on a private PostgreSQL (DATABASE_URL), the rest on Redis.
// `--stores redis,postgres` sets both up at once and interleaves them: the warm-up, the
// saturation phase and the half-load phase are each cut into `--rounds` slices (4 by default)
// that the stores take in turn, so the machine's drift (the same code moved 2x between runs of
// one store after the other here) falls on both alike; they are printed side by side with each
// round's rate. Give each round several seconds (`--sends 24000` is 6,000 a round): a round of
// 1,000 sends lasts half a second, and the 20–120 ms stalls this 2-core machine has every few
// seconds moved such a round's rate by 10–20 % (docs/BENCHMARK-HISTORY.md, "Session 8").
// After the saturation phase (back to back, `--inflight` at a time) comes a fixed-rate phase at
// half the rate just reached, `--rate-seconds` long: its p99 is the latency at half load, timed
// from when each send was due (so a send kept waiting for a free slot counts its wait).
// CPU per send is read from /proc for Herald's process (with `--layout split`, its imServer
// child's too), from INFO for redis-server, and for PostgreSQL from /proc for the postmaster and
// every backend (bench/lib/proc.ts familyCpuMicros).
//   node dist/bench/send.js [--users 100] [--sends 6000] [--inflight 32] [--seconds 60]
//     [--send-only] [--store redis|postgres | --stores redis,postgres] [--rate-seconds 15]
//     [--rounds 4] [--trees checkoutA,checkoutB] [--layout one|split]
import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { io, type Socket } from "socket.io-client";
import { startBusiness } from "../business/business.js";
import { loadConfig } from "../config/index.js";
import { createLogger } from "../config/logger.js";
import { startImServer } from "../server/im-server.js";
import { createEngine } from "../engine/index.js";
import { startPostgres } from "../support/postgres-server.js";
import { startRedis } from "../support/redis-server.js";
import pg from "pg";
import { Agent } from "node:http";
import { httpJson } from "./lib/http-load.js";
import { familyCpuMicros, listening, sleep } from "./lib/proc.js";

const here = dirname(fileURLToPath(import.meta.url));
/** Far above any figure here: the bench measures the send path, never a 429. */
const NO_LIMIT = { points: 1e9, durationS: 1 };

/**
 * The child: a Herald on REDIS_URL, reporting its business URL over IPC. With
 * BENCH_LAYOUT=split the imServer runs in a process of its own (this one's child, so the
 * parent's /proc reading of this process and its children counts both), as in production;
 * otherwise business and the imServer share this process, its event loop and its heap.
 */
async function serve(): Promise<void> {
  const env = {
    REDIS_URL: process.env.REDIS_URL!,
    BUSINESS_PORT: "0",
    IM_PORT: "0",
    LOG_LEVEL: "silent",
    IM_DM_POLICY: "open",
    IM_MAILBOX_MAX: "100000",
    // Limits that later versions read from the environment, raised for the same reason.
    RATE_USER_PER_S: "1000000",
    RATE_REGISTER_PER_MIN: "1000000",
    DATABASE_URL: process.env.DATABASE_URL,
  };
  const config = loadConfig(env);
  const logger = createLogger("silent");
  const connect = () => createEngine(config);
  // Exits (rather than dies) on the parent's kill, so `node --cpu-prof` writes its profile.
  process.on("SIGTERM", () => process.exit(0));
  process.on("disconnect", () => process.exit(0));
  if (process.env.BENCH_ROLE === "imserver") {
    // The split layout's imServer never touches the store, as in production.
    await startImServer({
      config,
      engine: await createEngine({ ...config, databaseUrl: undefined }),
      logger,
    });
    process.send!({ ready: true });
    return;
  }
  let imServer: ChildProcess | undefined;
  if (process.env.BENCH_LAYOUT === "split") {
    imServer = fork(fileURLToPath(import.meta.url), [], {
      execArgv: process.execArgv,
      env: { ...process.env, BENCH_ROLE: "imserver" },
    });
    await new Promise((resolve, reject) => {
      imServer!.once("message", resolve);
      imServer!.once("exit", () => reject(new Error("the imServer process ended")));
    });
  } else await startImServer({ config, engine: await connect(), logger });
  process.once("exit", () => imServer?.kill());
  const business = await startBusiness({
    config,
    engine: await connect(),
    logger,
    rates: { session: NO_LIMIT },
    passwordCost: { N: 1024, r: 8, p: 1 },
  });
  process.send!({ url: business.url });
}

interface User {
  userId: string;
  token: string;
}

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- bench reads answers loosely
}

type Args = ReturnType<typeof parse>;

function parse() {
  const { values: args } = parseArgs({
    options: {
      users: { type: "string", default: "100" },
      sends: { type: "string", default: "6000" },
      inflight: { type: "string", default: "32" },
      seconds: { type: "string", default: "60" },
      // Only the sends (for a profile of the send path: `node --cpu-prof`).
      "send-only": { type: "boolean", default: false },
      store: { type: "string", default: "redis" },
      stores: { type: "string" },
      "rate-seconds": { type: "string", default: "15" },
      // Slices each phase is cut into, taken by the stores in turn (default 4 with --stores);
      // --seconds bounds each slice.
      rounds: { type: "string" },
      trees: { type: "string" },
      // one: business and the imServer in one process; split: each in its own (production's).
      layout: { type: "string", default: "one" },
    },
  });
  return args;
}

async function main(): Promise<void> {
  const args = parse();
  const stores = (args.stores ?? args.store).split(",");
  if (stores.some((store) => store !== "redis" && store !== "postgres"))
    throw new Error("--store redis|postgres, or --stores redis,postgres");
  if (args.layout !== "one" && args.layout !== "split") throw new Error("--layout one|split");
  const rounds = Number(args.rounds ?? (stores.length > 1 ? 4 : 1));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds: a whole number ≥ 1");
  const rigs: Rig[] = [];
  try {
    // --trees a,b: the i-th store's Herald runs from the i-th checkout (its dist/bench/send.js),
    // so two versions of the code can be measured interleaved, e.g. --stores postgres,postgres.
    const trees = args.trees?.split(",");
    for (const [i, store] of stores.entries())
      rigs.push(
        await setUp(
          store as Store,
          args,
          trees?.[i] === undefined ? undefined : resolve(trees[i], "dist/bench/send.js"),
        ),
      );
    // Interleaved: the warm-up, then the saturation phase in `rounds` slices taken in turn,
    // then the half-load phase the same way, so a slow minute of a shared machine falls on every
    // store alike instead of on whichever ran then (one store after the other, the same code
    // moved 2× between runs here). The warm-up is long: after 1,000 sends each store kept
    // speeding up for thousands more (its rounds showed it), PostgreSQL's most.
    const warm = await interleave(rigs, WARM_ROUNDS, (rig) => rig.drive(WARM_SENDS, rig.send));
    const saturation = await interleave(rigs, rounds, (rig) =>
      rig.drive(Math.ceil(rig.sends / rounds), (i: number) => rig.send(rig.sends + i)),
    );
    const halfLoad = await interleave(rigs, rounds, (rig) => {
      const rate = Math.max(1, Math.round(perSecond(saturation.get(rig)!) / 2));
      return rig.drive(
        Math.ceil((rate * Number(args["rate-seconds"])) / rounds),
        (i: number) => rig.send(2 * rig.sends + i),
        rig.server,
        rate,
      );
    });
    const side: Record<string, object> = {};
    for (const [i, rig] of rigs.entries()) {
      const again = stores.indexOf(rig.store) !== i;
      const name = `${rig.store}${again ? ` (${i + 1})` : ""}`;
      const { send, half } = await rig.report(
        { warm: warm.get(rig)!, saturation: saturation.get(rig)!, half: halfLoad.get(rig)! },
        again ? `-${i + 1}` : "",
        args,
      );
      side[name] = {
        "saturation /s": send.perSecond,
        "sat. p99 ms": send.p99Ms,
        "half-load /s": half.perSecond,
        "half p50 ms": half.p50Ms,
        "half p99 ms": half.p99Ms,
        "Herald µs/send": send.heraldCpuUsPerRequest,
        "Redis µs/send": send.redisCpuUsPerRequest,
        "PG µs/send": rig.store === "postgres" ? send.postgresCpuUsPerRequest : "n/a",
        "PG xacts/send": rig.store === "postgres" ? send.postgresTransactionsPerRequest : "n/a",
        "total µs/send":
          send.heraldCpuUsPerRequest + send.redisCpuUsPerRequest + send.postgresCpuUsPerRequest,
        "per round /s": saturation
          .get(rig)!
          .map((s) => perSecond([s]))
          .join(" "),
      };
    }
    if (stores.length < 2) return;
    console.log(
      `POST /api/messages by store, side by side, ${rounds} interleaved rounds (CPU per send at saturation):`,
    );
    console.table(side);
    const [redis, postgres] = [side.redis, side.postgres] as { "saturation /s": number }[];
    if (redis && postgres)
      console.log(
        `PostgreSQL's msgs/s as a fraction of Redis': ` +
          `${round(postgres["saturation /s"] / redis["saturation /s"])}`,
      );
    mkdirSync(join(here, "../../bench/results"), { recursive: true });
    writeFileSync(
      join(here, "../../bench/results/bench-send-stores.json"),
      JSON.stringify({ rounds, side }, null, 2),
    );
  } finally {
    for (const rig of rigs) await rig.close();
  }
}

type Store = "redis" | "postgres";
const WARM_ROUNDS = 2;
const WARM_SENDS = 3000;
type Rig = Awaited<ReturnType<typeof setUp>>;

/** What a process used, or Redis and PostgreSQL counted, over one phase. */
interface Usage {
  herald: number;
  redis: number;
  commands: number;
  reads: number;
  postgres: number;
  transactions: number;
}

/** One run of a phase: each request's latency, the wall time, and the usage. */
interface Sample {
  latencies: number[];
  seconds: number;
  cpu: Usage;
}

/** Runs `phase` `rounds` times on each rig in turn (a, b, a, b, …); each rig's samples. */
async function interleave(
  rigs: Rig[],
  rounds: number,
  phase: (rig: Rig) => Promise<Sample>,
): Promise<Map<Rig, Sample[]>> {
  const samples = new Map<Rig, Sample[]>(rigs.map((rig) => [rig, []]));
  for (let round = 0; round < rounds; round++)
    for (const rig of rigs) samples.get(rig)!.push(await phase(rig));
  return samples;
}

const perSecond = (samples: Sample[]) =>
  Math.round(
    samples.reduce((n, s) => n + s.latencies.length, 0) /
      samples.reduce((t, s) => t + s.seconds, 0),
  );

type Figures = ReturnType<typeof summarize>;

/** One figure set from samples of one phase: latencies pooled, CPU and time summed. */
function summarize(samples: Sample[]) {
  const latencies = samples.flatMap((s) => s.latencies).sort((x, y) => x - y);
  const n = latencies.length;
  const sum = (key: keyof Usage) => samples.reduce((t, s) => t + s.cpu[key], 0);
  const at = (q: number) => latencies[Math.min(n - 1, Math.floor(q * n))]!;
  return {
    requests: n,
    perSecond: perSecond(samples),
    p50Ms: round(at(0.5)),
    p95Ms: round(at(0.95)),
    p99Ms: round(at(0.99)),
    heraldCpuUsPerRequest: Math.round(sum("herald") / n),
    redisCpuUsPerRequest: Math.round(sum("redis") / n),
    redisCommandsPerRequest: round(sum("commands") / n),
    redisReadsPerRequest: round(sum("reads") / n),
    postgresCpuUsPerRequest: Math.round(sum("postgres") / n),
    postgresTransactionsPerRequest: round(sum("transactions") / n),
  };
}

/** One store's rig: its own redis-server (and PostgreSQL), Herald, users and acking sockets. */
async function setUp(store: Store, args: Args, serverScript = fileURLToPath(import.meta.url)) {
  const USERS = Number(args.users);
  const SENDS = Number(args.sends);
  const INFLIGHT = Number(args.inflight);
  const SECONDS = Number(args.seconds);

  const redis = await startRedis();
  const postgres = store === "postgres" ? await startPostgres() : null;
  const server: ChildProcess = fork(serverScript, [], {
    execArgv: serverExecArgv(),
    env: {
      ...process.env,
      BENCH_ROLE: "server",
      BENCH_LAYOUT: args.layout,
      REDIS_URL: redis.url,
      // Set either way: a DATABASE_URL of the caller's never reaches the Redis store's Herald.
      DATABASE_URL: postgres?.url ?? "",
    },
  });
  let peer: ChildProcess | undefined;
  const sockets: Socket[] = [];
  const redisInfo = new Redis(redis.url);
  const pgInfo = postgres && new pg.Client({ connectionString: postgres.url });
  const close = async () => {
    for (const socket of sockets) socket.close();
    redisInfo.disconnect();
    await pgInfo?.end();
    server.kill();
    peer?.kill();
    await redis.destroy();
    await postgres?.destroy();
  };
  try {
    await pgInfo?.connect();
    const postmaster = postgres?.postmasterPid() ?? null;
    /** CPU µs used so far by `child` (Herald, or the bare peer) and by redis-server, and Redis's
     * commands. */
    const cpu = async (child: ChildProcess): Promise<Usage> => {
      const info = await redisInfo.info("cpu");
      const seconds = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)![1]);
      // Commands Redis ran (a script's own calls included) and reads it made from its clients'
      // sockets: about one per round trip, fewer when a client's commands leave in one write.
      const stats = await redisInfo.info("stats");
      const count = (name: string) => Number(new RegExp(`${name}:([0-9]+)`).exec(stats)![1]);
      return {
        // Read from /proc around each measured run: unlike wall time, CPU time hardly moves when
        // other processes share the machine.
        herald: familyCpuMicros(child.pid!),
        redis: Math.round((seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1e6),
        commands: count("total_commands_processed"),
        reads: count("total_reads_processed"),
        postgres: postmaster === null ? 0 : familyCpuMicros(postmaster),
        // Statements Herald ran outside a transaction count one each (stats lag up to 1 s).
        transactions: pgInfo
          ? Number(
              (
                await pgInfo.query<{ n: string }>(
                  "SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = 'herald'",
                )
              ).rows[0]!.n,
            )
          : 0,
      };
    };
    const { url } = await listening(server);
    let resets = 0;
    // Keep-alive node:http, as the scenarios' load: fetch allocates enough per request that the
    // driver's own GC pauses (tens of ms) showed up as the servers' tail latency.
    const agent = new Agent({ keepAlive: true, maxSockets: INFLIGHT });
    const call = async (
      method: string,
      path: string,
      token?: string,
      body?: unknown,
      base = url,
    ): Promise<Answer> => {
      // A kept-alive connection the server closed while idle fails before the request is
      // read: sent again once, and counted.
      const attempt = () => httpJson(agent, base + path, method, token, body) as Promise<Answer>;
      return attempt().catch((err: unknown) => {
        if ((err as { code?: string }).code !== "ECONNRESET") throw err;
        resets++;
        return attempt();
      });
    };
    let made = 0;
    const register = async (): Promise<User> => {
      const credentials = { username: `bench_${process.pid}_${made++}`, password: "password123" };
      await call("POST", "/api/register", undefined, credentials);
      const login = await call("POST", "/api/login", undefined, credentials);
      if (login.status !== 200) throw new Error(`login: ${JSON.stringify(login.body)}`);
      return login.body as User;
    };
    const many = (n: number) => Promise.all(Array.from({ length: n }, register));

    // Messages from another user pushed to the senders' sockets, one per accepted send: by
    // distinct id, so a push delivered twice cannot stand in for one that was lost.
    const deliveredIds = new Set<string>();
    // Senders, each with an acking socket, so a send is stored, routed and delivered.
    const users = await many(USERS);
    for (const user of users) {
      const grant = (await call("POST", "/api/connect", user.token)).body;
      const socket = io(grant.url, {
        path: grant.path,
        transports: ["websocket"],
        auth: { token: grant.token },
        reconnection: false,
      });
      socket.onAny((_event: string, data: unknown, ack?: () => void) => {
        const item = data as { kind?: string; from?: string; id?: string } | null;
        if (item?.kind === "message" && item.from !== user.userId && item.id)
          deliveredIds.add(item.id);
        ack?.();
      });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
    }

    /** Every answer's status, by phase, so each phase can require all 202. */
    let statuses = new Map<number, number>();
    /**
     * Runs `count` requests with `inflight` at a time (or until the time bound), timing each.
     * With `rate`, request i is due at i / rate s, and timed from then.
     */
    const drive = async (
      count: number,
      request: (i: number) => Promise<Answer>,
      measured = server,
      rate?: number,
    ): Promise<Sample> => {
      const latencies: number[] = [];
      const deadline = Date.now() + SECONDS * 1000;
      let next = 0;
      const started = performance.now();
      const cpuBefore = await cpu(measured);
      await Promise.all(
        Array.from({ length: INFLIGHT }, async () => {
          while (next < count && Date.now() < deadline) {
            const i = next++;
            const due = rate === undefined ? performance.now() : started + (i * 1000) / rate;
            if (due > performance.now()) await sleep(due - performance.now());
            const t0 = Math.min(due, performance.now());
            const answer = await request(i);
            latencies.push(performance.now() - t0);
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const cpuAfter = await cpu(measured);
      const delta = Object.fromEntries(
        Object.entries(cpuAfter).map(([k, v]) => [k, v - cpuBefore[k as keyof Usage]]),
      ) as unknown as Usage;
      return { latencies, seconds, cpu: delta };
    };
    /** The statuses answered since the last call. */
    const takeStatuses = () => {
      const taken = Object.fromEntries(statuses) as Record<number, number>;
      statuses = new Map();
      return taken;
    };

    /** A DM between two of the users; `i` picks them (and numbers the text). */
    const send = (i: number, base = url) => {
      const from = users[i % USERS]!;
      const to = users[(i + 1 + (i % 7)) % USERS]!;
      const body = { to: to.userId, content: { text: `message ${i}` } };
      return call("POST", "/api/messages", from.token, body, base);
    };

    /**
     * After the interleaved phases: checks that every send was accepted and delivered, runs the
     * bare Koa route, the lists and the reads, prints this store's table and writes its JSON.
     */
    const report = async (
      phases: { warm: Sample[]; saturation: Sample[]; half: Sample[] },
      /** Told apart from an earlier rig of the same store in the file name. */
      suffix: string,
      args: Args,
    ): Promise<{ send: Figures; half: Figures }> => {
      const { saturation, half: halfSamples } = phases;
      const all = takeStatuses();
      const accepted = all[202] ?? 0;
      // Every accepted send reaches its recipient's socket (bounded wait for the last ones).
      for (let waited = 0; deliveredIds.size < accepted && waited < 10_000; waited += 100)
        await sleep(100);
      const lost = accepted - deliveredIds.size;
      const sendFigures = summarize(saturation);
      const halfLoad = summarize(halfSamples);
      // Every send made (a phase cut short by its time bound made fewer than it asked for).
      const sent = [...phases.warm, ...saturation, ...halfSamples].reduce(
        (n, s) => n + s.latencies.length,
        0,
      );

      // The same sends to a bare Koa JSON route (bench/peers/koa-json.ts), the yardstick.
      peer = fork(join(here, "peers/koa-json.js"), [], { execArgv: serverExecArgv() });
      const bare = (await listening(peer)).url;
      await drive(WARM_SENDS, (i) => send(i, bare), peer);
      takeStatuses();
      const bareFigures = summarize([await drive(SENDS, (i) => send(i, bare), peer)]);
      if (takeStatuses()[202] !== bareFigures.requests) throw new Error("bare peer refused sends");
      peer.kill();

      // Conversation lists of 10 and of 500 (sent to in batches of 100 recipients).
      const reader = await register();
      const listFigures: Record<string, ReturnType<typeof summarize>> = {};
      let peers: User[] = [];
      for (const size of args["send-only"] ? [] : [10, 500]) {
        peers = [...peers, ...(await many(size - peers.length))];
        for (let i = 0; i < peers.length; i += 100) {
          const to = peers.slice(i, i + 100).map((p) => p.userId);
          const r = await call("POST", "/api/messages", reader.token, { to, content: "hi" });
          if (r.status !== 202) throw new Error(`seeding: ${JSON.stringify(r.body)}`);
        }
        const listed = await call("GET", "/api/conversations", reader.token);
        if (listed.body.conversations.length !== size) throw new Error("seeding missed some");
        takeStatuses();
        listFigures[`conversations_${size}`] = summarize([
          await drive(size === 10 ? 2000 : 300, () =>
            call("GET", "/api/conversations", reader.token),
          ),
        ]);
      }

      // POST /api/read: each peer marks its DM with the reader read (404 where it does not exist).
      const probe =
        peers.length > 0 &&
        (await call("POST", "/api/read", peers[0]!.token, { peer: reader.userId, seq: 1 }));
      let readFigures: ReturnType<typeof summarize> | "n/a" = "n/a";
      if (probe && probe.status === 200) {
        takeStatuses();
        readFigures = summarize([
          await drive(Math.min(SENDS, 2000), (i) =>
            call("POST", "/api/read", peers[i % peers.length]!.token, {
              peer: reader.userId,
              seq: 1 + (i % 3),
            }),
          ),
        ]);
      }

      const rate = Math.round(halfLoad.perSecond);
      const results = {
        users: USERS,
        inflight: INFLIGHT,
        rounds: saturation.length,
        send: sendFigures,
        halfLoad,
        accepted,
        lost,
        bareKoa: bareFigures,
        heraldPerBare: round(sendFigures.perSecond / bareFigures.perSecond),
        ...listFigures,
        read: readFigures,
      };
      console.log(`POST /api/messages, ${store} store, ${USERS} users, ${INFLIGHT} in flight:`);
      console.table({
        send: sendFigures,
        [`half load, ${rate}/s`]: halfLoad,
        "bare Koa": bareFigures,
        ...listFigures,
        ...(readFigures === "n/a" ? {} : { read: readFigures }),
      });
      console.log(
        "send statuses:",
        all,
        `accepted ${accepted}, lost ${lost}`,
        `connection resets retried: ${resets}`,
        readFigures === "n/a" ? "(no POST /api/read)" : "",
        `\nHerald's sends/s as a fraction of the bare Koa route's: ${results.heraldPerBare}`,
      );
      mkdirSync(join(here, "../../bench/results"), { recursive: true });
      writeFileSync(
        join(
          here,
          `../../bench/results/bench-send${store === "postgres" ? "-postgres" : ""}${suffix}.json`,
        ),
        JSON.stringify({ store, ...results }, null, 2),
      );
      // Warm-up, saturation and half load: every one 202 (no 429), every one delivered.
      if (accepted !== sent) throw new Error(`sends not all 202: ${JSON.stringify(all)}`);
      if (lost !== 0) throw new Error(`${lost} accepted sends never reached their recipient`);
      return { send: sendFigures, half: halfLoad };
    };

    return { store, sends: SENDS, server, drive, send, report, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

if (process.env.BENCH_ROLE === "server" || process.env.BENCH_ROLE === "imserver") await serve();
else await main();

/**
 * Herald runs with Node's defaults: the driver's own GC settings (`npm run bench:send` gives it a
 * larger young generation, so that its pauses, which would count as latency, stay short) are not
 * passed on; a profiler flag is.
 */
function serverExecArgv(): string[] {
  return process.execArgv.filter((flag) => !flag.startsWith("--max-semi-space-size"));
}
