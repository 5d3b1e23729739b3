// The fault scenarios of test/faults.test.ts and bench/faults.ts, one function each, run on one
// rig (a persistent redis-server, one business and three imServer processes, SDK users under
// steady load). Durations are the caller's: short in npm test, long in the bench.
import { io, type Socket } from "socket.io-client";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { PartitionRouter } from "../engine/router.js";
import { REBALANCE_WINDOW_MS } from "../server/rebalance.js";
import { FAULT_ENV, FaultLoad, sleep, type FaultResult, type LoadUser } from "./fault-load.js";
import { startCluster, type TestCluster } from "./herald-cluster.js";
import { startPostgres, type TestPostgres } from "./postgres-server.js";
import { startRedis, type TestRedis } from "./redis-server.js";

export interface FaultRig {
  redis: TestRedis;
  /** With `postgres`: the store's PostgreSQL (DATABASE_URL of every process). */
  postgres: TestPostgres | null;
  cluster: TestCluster;
  load: FaultLoad;
  /** The test's own view of the cluster's Redis state (same prefix): presence, tokens. */
  probe: RedisEngine;
  close(): Promise<void>;
}

export async function startRig(options: {
  users: number;
  tag: string;
  /** The store on a private PostgreSQL instead of Redis. */
  postgres?: boolean;
}): Promise<FaultRig> {
  // appendonly yes; fsync once a second (a SIGTERM flushes it), so the load is not fsync-bound.
  const redis = await startRedis({ persist: true, extraArgs: ["--appendfsync", "everysec"] });
  const postgres = options.postgres ? await startPostgres() : null;
  const prefix = `faults-${options.tag}:`;
  const cluster = await startCluster({
    redisUrl: redis.url,
    prefix,
    router: "partition",
    nodes: 3,
    env: { ...FAULT_ENV, ...(postgres && { DATABASE_URL: postgres.url }) },
  });
  const probe = await RedisEngine.connect({ url: redis.url, prefix });
  const load = new FaultLoad(cluster);
  await load.addUsers(options.users, options.tag);
  return {
    redis,
    postgres,
    cluster,
    load,
    probe,
    async close() {
      load.disconnectAll();
      await cluster.stop();
      await probe.close();
      await redis.destroy();
      await postgres?.destroy();
    },
  };
}

/**
 * An imServer SIGKILLed (or SIGTERMed: drained) mid-load; recovery is the time from the signal
 * to the last of its users connected to a live node. A node is added back after.
 */
export async function imServerFails(
  rig: FaultRig,
  signal: "SIGKILL" | "SIGTERM",
  loadMs: number,
): Promise<FaultResult> {
  const { cluster, load } = rig;
  load.reset();
  load.start();
  await sleep(loadMs / 2);
  const victim = [...cluster.nodes].sort((a, b) => load.on(b).length - load.on(a).length)[0]!;
  const movers = load.on(victim);
  const at = Date.now();
  const killed = cluster.kill(victim, signal);
  const recoveryMs = await load.reconnected(movers, at, victim.nodeId);
  await killed;
  cluster.nodes.splice(cluster.nodes.indexOf(victim), 1);
  await sleep(loadMs / 2);
  await load.stop();
  const result = await load.result(
    `imServer ${signal}`,
    `${signal} to the node holding ${movers.length} of ${load.users.length} users, mid-load`,
    recoveryMs,
  );
  await cluster.addNode();
  await settleConnections(rig);
  return result;
}

/** The HTTP status of /health of business and every node now, and how long the slowest took. */
async function healthStatuses(cluster: TestCluster): Promise<{ statuses: number[]; ms: number }> {
  const started = Date.now();
  const statuses = await Promise.all(
    [cluster.business, ...cluster.nodes].map(async (p) => {
      const response = await fetch(`${p.url}/health`);
      await response.body?.cancel();
      return response.status;
    }),
  );
  return { statuses, ms: Date.now() - started };
}

/** Every connected user online, and the nodes' presence counts summing to the connections. */
async function presenceRight(rig: FaultRig): Promise<boolean> {
  const users = rig.load.users.filter((u) => u.client.status === "connected");
  if (users.length !== rig.load.users.length) return false;
  try {
    const online = await rig.probe.presence.online(users.map((u) => u.userId));
    const counts = await rig.probe.presence.countByNode(rig.cluster.nodes.map((n) => n.nodeId));
    return online.every(Boolean) && counts.reduce((a, b) => a + b, 0) === users.length;
  } catch {
    return false; // Redis not back yet
  }
}

/** Resolves the time (ms after `since`) presence is right again; throws past `timeoutMs`. */
async function presenceBack(rig: FaultRig, since: number, timeoutMs = 10_000): Promise<number> {
  const deadline = since + timeoutMs;
  while (!(await presenceRight(rig))) {
    if (Date.now() > deadline) throw new Error(`presence not right within ${timeoutMs} ms`);
    await sleep(50);
  }
  return Date.now() - since;
}

/** Waits out a rebalance (its kicks spread over 1 s), then for exact presence counts. */
async function settleConnections(rig: FaultRig): Promise<void> {
  await sleep(REBALANCE_WINDOW_MS + 500);
  await presenceBack(rig, Date.now(), 20_000);
}

/**
 * Redis gone mid-load: `kind` "hang" SIGSTOPs it for `outageMs`; "restart" stops it (SIGTERM,
 * appendonly yes) and starts it again after `outageMs`. While it is gone: requests answered 503
 * (never 202) and /health 503 on both roles; recovery is the time from its return until a 202
 * is answered again and presence is exact.
 */
export async function redisFails(
  rig: FaultRig,
  kind: "hang" | "restart",
  outageMs: number,
  loadMs: number,
): Promise<FaultResult> {
  const { redis, load, cluster } = rig;
  load.reset();
  load.start();
  await sleep(loadMs / 2);
  if (kind === "hang") redis.pause();
  else await redis.stop();
  const goneAt = Date.now();
  await sleep(Math.min(1_500, outageMs / 2));
  const health = await healthStatuses(cluster);
  await sleep(Math.max(0, outageMs - (Date.now() - goneAt)));
  const backAt = Date.now();
  if (kind === "hang") redis.resume();
  else await redis.start();
  const acceptedWhileGone = load.acceptedBetween(goneAt, backAt);
  const slowestRefusalMs = load.slowestRefusal();
  const presenceMs = await presenceBack(rig, backAt);
  await sleep(loadMs / 2);
  await load.stop();
  const firstAccepted = load.firstAcceptedAfter(backAt);
  const recoveryMs = Math.max(presenceMs, firstAccepted ?? presenceMs);
  return load.result(
    kind === "hang" ? "Redis hung (SIGSTOP)" : "Redis restarted (appendonly yes)",
    kind === "hang"
      ? `SIGSTOP for ${outageMs} ms mid-load, then SIGCONT`
      : `SIGTERM, down ${outageMs} ms, started again on its AOF`,
    recoveryMs,
    10_000,
    {
      acceptedWhileGone,
      slowestRefusalMs,
      healthWhileGone: health.statuses.join("/"),
      healthMs: health.ms,
      firstAcceptedMs: firstAccepted ?? -1,
      presenceMs,
    },
  );
}

/**
 * The store's PostgreSQL gone mid-load for `outageMs`: `kind` "stop" stops it in immediate mode
 * (as a crash) and starts it again on its data; "hang" SIGSTOPs it and every backend, then
 * SIGCONTs them. Business answers 503 while it is gone, and every 202 survives.
 */
export async function postgresFails(
  rig: FaultRig,
  kind: "hang" | "stop",
  outageMs: number,
  loadMs: number,
): Promise<FaultResult> {
  const { postgres, load, cluster } = rig;
  if (!postgres) throw new Error("postgresFails needs a rig started with postgres: true");
  load.reset();
  load.start();
  await sleep(loadMs / 2);
  if (kind === "hang") postgres.pause();
  else await postgres.stop(true);
  const goneAt = Date.now();
  await sleep(Math.min(1_500, outageMs / 2));
  const health = await healthStatuses(cluster);
  await sleep(Math.max(0, outageMs - (Date.now() - goneAt)));
  const backAt = Date.now();
  if (kind === "hang") postgres.resume();
  else await postgres.start();
  const acceptedWhileGone = load.acceptedBetween(goneAt, backAt);
  const slowestRefusalMs = load.slowestRefusal();
  await sleep(loadMs / 2);
  await load.stop();
  const firstAccepted = load.firstAcceptedAfter(backAt);
  return load.result(
    kind === "hang" ? "PostgreSQL hung (SIGSTOP)" : "PostgreSQL stopped (immediate)",
    kind === "hang"
      ? `SIGSTOP of the server and its backends for ${outageMs} ms mid-load, then SIGCONT`
      : `pg_ctl stop -m immediate, down ${outageMs} ms, started again on its data`,
    firstAccepted ?? -1,
    10_000,
    {
      acceptedWhileGone,
      slowestRefusalMs,
      healthWhileGone: health.statuses.join("/"),
      healthMs: health.ms,
      firstAcceptedMs: firstAccepted ?? -1,
    },
  );
}

/**
 * A slow consumer: one user stops reading its socket while a few senders flood it with 60 KiB
 * DMs (each within its session's rate limit); the node must cut it at the mailbox's byte bound
 * (kicked slow_consumer), keep its memory bounded, and leave the other users' latency alone
 * (p99 before and during the flood). The slow user then reads again, reconnects and gets every
 * message from history.
 */
export async function slowConsumer(rig: FaultRig, maxFloodMs: number): Promise<FaultResult> {
  const { load } = rig;
  load.reset();
  const [slow, ...rest] = load.users;
  const senders = rest.slice(0, 4);
  const others = rest.slice(4);
  load.start();
  await sleep(1_500);
  const floodAt = Date.now();
  const socket = slow!.raw.latest!;
  const tcp = (socket.io.engine.transport as unknown as { ws: { _socket: NodeJS.ReadableStream } })
    .ws._socket;
  // The kick is queued behind what it did not read, so the node's count tells it, not the SDK.
  const overflowsBefore = await overflows(rig);
  let kickedAt = 0;
  tcp.pause();
  const big = { text: "x".repeat(60 * 1024) };
  let flooded = 0;
  let peakMb = 0;
  const flooding = () => kickedAt === 0 && Date.now() - floodAt < maxFloodMs;
  await Promise.all([
    ...senders.map(async (sender) => {
      while (flooding()) {
        await sender.client.send(slow!.userId, big).then(
          () => flooded++,
          () => undefined,
        );
        await sleep(50); // 20/s: under the per-session rate
      }
    }),
    (async () => {
      while (flooding()) {
        peakMb = Math.max(peakMb, await memoryOf(rig, slow!));
        if ((await overflows(rig)) > overflowsBefore) kickedAt = Date.now();
        await sleep(100);
      }
    })(),
  ]);
  const floodEnd = Date.now();
  tcp.resume();
  await load.reconnected([slow!], floodAt, "");
  await sleep(1_000);
  await load.stop();
  return load.result(
    "slow consumer",
    `one user stops reading; ${senders.length} senders send it ${flooded} DMs of 60 KiB`,
    kickedAt ? kickedAt - floodAt : null,
    10_000,
    {
      kicked: kickedAt ? "slow_consumer" : "no",
      p99BeforeMs: load.latency(99, others, 0, floodAt),
      p99DuringMs: load.latency(99, others, floodAt, floodEnd),
      nodeRssPeakMb: Math.round(peakMb),
    },
  );
}

/** Mailbox overflows (slow_consumer kicks) over every node. */
async function overflows(rig: FaultRig): Promise<number> {
  const counts = await Promise.all(
    rig.cluster.nodes.map(async (node) => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith("herald_im_mailbox_overflows_total "));
      return Number(line?.split(" ")[1] ?? 0);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** The resident memory of the node holding `user` (MB). */
async function memoryOf(rig: FaultRig, user: LoadUser): Promise<number> {
  const node = rig.cluster.nodes.find((n) => n.nodeId === user.nodeIds[user.nodeIds.length - 1]);
  if (!node) return 0;
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("process_resident_memory_bytes "));
  return Number(line?.split(" ")[1] ?? 0) / 2 ** 20;
}

/**
 * A connect storm: `count` sockets (tokens issued straight into Redis for synthetic users, each
 * to its owner node) open at once, then all close at once, under the steady load. The nodes
 * stay responsive (/health and the load's p99 during the storm) and presence counts return to
 * exact values: everyone online after the storm, only the load's users after the disconnect.
 * Recovery: from the mass disconnect to exact counts.
 */
export async function connectStorm(rig: FaultRig, count: number): Promise<FaultResult> {
  const { load, cluster, probe } = rig;
  load.reset();
  const owners = new PartitionRouter(cluster.nodes.map((n) => ({ nodeId: n.nodeId, url: n.url })));
  const ids = Array.from({ length: count }, (_, i) => `storm-${i}`);
  const grants = await Promise.all(
    ids.map(async (userId) => {
      const node = owners.ownerOf(userId)!;
      const token = await probe.tokens.issue(
        { userId, sessionId: "storm", nodeId: node.nodeId },
        30_000,
      );
      return { url: node.url, token };
    }),
  );
  load.start();
  await sleep(1_000);
  const stormAt = Date.now();
  const sockets: Socket[] = [];
  const health = healthStatuses(cluster);
  await Promise.all(
    grants.map(
      ({ url, token }) =>
        new Promise<void>((resolve, reject) => {
          const socket = io(url, {
            path: "/socket.io",
            transports: ["websocket"],
            auth: { token },
            reconnection: false,
            forceNew: true,
            timeout: 20_000,
          });
          sockets.push(socket);
          socket.once("connect", () => resolve());
          socket.once("connect_error", reject);
        }),
    ),
  );
  const connectedMs = Date.now() - stormAt;
  const { ms: healthMs } = await health;
  const counts = async () =>
    (await probe.presence.countByNode(cluster.nodes.map((n) => n.nodeId))).reduce(
      (a, b) => a + b,
      0,
    );
  const exactAfterStorm =
    (await counts()) === count + load.users.length &&
    (await probe.presence.online(ids)).every(Boolean);
  const stormEnd = Date.now();
  const goneAt = Date.now();
  for (const socket of sockets) socket.disconnect();
  const deadline = goneAt + 10_000;
  while (
    (await counts()) !== load.users.length ||
    (await probe.presence.online(ids)).some(Boolean)
  ) {
    if (Date.now() > deadline)
      throw new Error("presence counts not exact after the mass disconnect");
    await sleep(20);
  }
  const recoveryMs = Date.now() - goneAt;
  await sleep(500);
  await load.stop();
  return load.result(
    "connect storm + mass disconnect",
    `${count} sockets open at once, then all close at once, under load`,
    recoveryMs,
    10_000,
    {
      stormConnectMs: connectedMs,
      healthDuringStormMs: healthMs,
      exactAfterStorm: exactAfterStorm ? "yes" : "no",
      p99BeforeMs: load.latency(99, load.users, 0, stormAt),
      p99DuringMs: load.latency(99, load.users, stormAt, stormEnd),
    },
  );
}
