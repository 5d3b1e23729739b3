// How the Redis engine reaches Redis: one server (`redis://…`) or a Redis Cluster
// (`redis+cluster://seed,seed,…`). Everything that differs between the two lives here: the URL,
// the client, pub/sub (PUBLISH/SUBSCRIBE vs sharded SPUBLISH/SSUBSCRIBE) and how commands on
// keys of several slots are batched (a Cluster pipeline must stay within one slot's node).
import { Cluster, Redis, type ChainableCommander } from "ioredis";

/** The command connection: one server or a whole cluster. */
export type RedisClient = Redis | Cluster;

export interface Seed {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: "standalone"; url: string }
  | { kind: "cluster"; seeds: Seed[]; username?: string; password?: string };

const CLUSTER_SCHEMES = ["redis+cluster:", "redis-cluster:"] as const;

export function isClusterUrl(url: string): boolean {
  const lower = url.toLowerCase();
  return CLUSTER_SCHEMES.some((scheme) => lower.startsWith(scheme + "//"));
}

/**
 * `redis://[user:password@]host:port[/db]` names one server;
 * `redis+cluster://[user:password@]host:port[,host:port…]` (or `redis-cluster://`) names a cluster
 * by some of its nodes (seeds), from which the client discovers the rest. Throws on a malformed
 * cluster URL, naming the fault but never the password.
 */
export function parseRedisUrl(url: string): RedisTarget {
  if (!isClusterUrl(url)) return { kind: "standalone", url };
  const rest = url.slice(url.indexOf("//") + 2);
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const tail = end === -1 ? "" : rest.slice(end);
  if (tail !== "" && tail !== "/" && tail !== "/0")
    throw new Error("bad REDIS_URL: a cluster URL takes no database, path or query");
  const at = authority.lastIndexOf("@");
  const userinfo = at === -1 ? null : authority.slice(0, at);
  const seeds = (at === -1 ? authority : authority.slice(at + 1)).split(",").map(parseSeed);
  const target: RedisTarget = { kind: "cluster", seeds };
  if (userinfo !== null) {
    const colon = userinfo.indexOf(":");
    const username = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
    if (username) target.username = username;
    if (colon !== -1) target.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  return target;
}

function parseSeed(text: string): Seed {
  let parsed: URL | null = null;
  try {
    parsed = new URL(`redis://${text}`);
  } catch {
    // reported below
  }
  if (!parsed || !parsed.hostname || parsed.username || parsed.pathname)
    throw new Error(`bad REDIS_URL: "${text}" is not a host:port seed`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1"); // IPv6 without brackets
  return { host, port: parsed.port ? Number(parsed.port) : 6379 };
}

/** "redis://user:secret@host:6379/0" → "host:6379"; a cluster → its seeds. Never a password. */
export function redactUrl(url: string): string {
  try {
    const target = parseRedisUrl(url);
    if (target.kind === "cluster")
      return target.seeds
        .map(({ host, port }) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`))
        .join(",");
    return new URL(url).host || "(unparsable REDIS_URL)";
  } catch {
    return "(unparsable REDIS_URL)";
  }
}

/** Reconnects back off to one attempt a second. */
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 1_000);

/**
 * A command Redis has not answered in this long fails (business answers 503 `unavailable`), so a
 * hung Redis never hangs a request: the contract's "503 within 2 s".
 */
export const COMMAND_TIMEOUT_MS = 1_500;

/**
 * Command connections fail fast while Redis is unreachable: no offline queue (a command while
 * disconnected fails at once), no replay of a command in flight when the connection dropped (it
 * may have run: an INCR twice would skip a seq), a client-side timeout on every command.
 */
const FAIL_FAST = { maxRetriesPerRequest: 0, commandTimeout: COMMAND_TIMEOUT_MS } as const;
/** Subscribers and the socket.io adapter's clients queue while reconnecting (they resubscribe). */
const QUEUEING = { maxRetriesPerRequest: null, commandTimeout: undefined } as const;

/** A client that connects on `connect()` (or, with `queueing`, on its first command). */
export function createClient(target: RedisTarget, queueing = false): RedisClient {
  const mode = queueing ? QUEUEING : FAIL_FAST;
  const common = { lazyConnect: true, enableOfflineQueue: queueing };
  const perConnection = { ...mode, connectTimeout: 5_000 };
  if (target.kind === "standalone")
    return writesOncePerTurn(new Redis(target.url, { ...common, ...perConnection, retryStrategy }));
  // A cluster keeps its offline queue: without it, ioredis fails a command sent while a master's
  // connection is still opening and retries it later, out of order (its node connections queue
  // anyway, whatever the option says).
  const cluster = new Cluster(target.seeds, {
    lazyConnect: true,
    clusterRetryStrategy: retryStrategy,
    redisOptions: {
      ...perConnection,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
    },
  });
  cluster.on("+node", (node: Redis) => writesOncePerTurn(node));
  return cluster;
}

/**
 * Every command written to `client` in one turn of the event loop leaves in one socket write:
 * the connection is corked at a turn's first write and uncorked once the turn's callbacks and
 * promise continuations have run (`process.nextTick` runs after them). Concurrent requests'
 * commands then share a write (and one wake-up of Redis) instead of one syscall each; a stage's
 * commands go out as plain commands in one write, as a pipeline's would. Order on the
 * connection, which ioredis matches replies by, is unchanged. Hooked on each (re)connect, as
 * every connect brings a new socket; `stream` is ioredis' own (pinned exactly).
 */
function writesOncePerTurn(client: Redis): Redis {
  client.on("connect", () => {
    const stream = client.stream;
    const write = stream.write;
    let corked = false;
    const uncork = () => {
      corked = false;
      stream.uncork();
    };
    stream.write = function (this: typeof stream, ...args: Parameters<typeof write>) {
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(uncork);
      }
      return write.apply(this, args);
    } as typeof write;
  });
  return client;
}

/**
 * True for an error that says Redis is in trouble rather than that a caller erred: an error
 * reply (OOM, LOADING, MISCONF, …), a timeout, a connection that is closed or unwritable, a
 * cluster that cannot be reached. Business answers these 503 `unavailable`.
 */
export function isRedisFault(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (REDIS_ERROR_NAMES.has(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && SOCKET_CODES.has(code)) return true;
  return REDIS_FAULT_MESSAGES.test(error.message);
}

const REDIS_ERROR_NAMES = new Set([
  "ReplyError",
  "AbortError",
  "InterruptError",
  "ParserError",
  "MaxRetriesPerRequestError",
  "ClusterAllFailedError",
]);
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"]);
const REDIS_FAULT_MESSAGES =
  /^(Command timed out|Connection is closed|Stream isn't writeable|Failed to refresh slots cache|None of startup nodes is available|redis is |redis transaction aborted)/;

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** A new client to the same server or cluster; a cluster one can use sharded pub/sub. */
export function duplicate(client: RedisClient, sharded = false): RedisClient {
  if (isCluster(client))
    return client.duplicate([], {
      enableOfflineQueue: true,
      redisOptions: { ...client.options.redisOptions, ...QUEUEING },
      ...(sharded && { shardedSubscribers: true }),
    });
  return client.duplicate({ enableOfflineQueue: true, ...QUEUEING });
}

/** The error a failed connect is best explained by: a cluster wraps its nodes' errors. */
export function connectError(error: unknown): Error | null {
  if (!(error instanceof Error)) return null;
  const nodeError = (error as Error & { lastNodeError?: unknown }).lastNodeError;
  return nodeError instanceof Error ? nodeError : error;
}

/**
 * PUBLISH, or SPUBLISH on a cluster: both resolve to the number of subscribers that got it. A
 * sharded channel's subscribers are all connected to the shard that owns its slot, so the
 * count is complete there too (0: nobody listens).
 */
export function publish(client: RedisClient, channel: string, payload: string): Promise<number> {
  // ioredis types SPUBLISH's reply as unknown; Redis answers an integer.
  if (isCluster(client)) return client.spublish(channel, payload).then(Number);
  return client.publish(channel, payload);
}

/**
 * How many connections subscribe to `channel` now (0: its node is gone). One server: PUBSUB
 * NUMSUB. A cluster: PUBSUB SHARDNUMSUB on the master of the channel's slot, reached by a script
 * that names the channel as its key (a channel hashes to a slot as a key does).
 */
export async function subscriberCount(client: RedisClient, channel: string): Promise<number> {
  if (!isCluster(client)) {
    const reply = (await client.call("PUBSUB", "NUMSUB", channel)) as [string, number];
    return Number(reply[1]);
  }
  const script = "return redis.call('PUBSUB', 'SHARDNUMSUB', KEYS[1])[2]";
  return Number(await client.eval(script, 1, channel));
}

/** A connection in subscribe mode (it can run nothing else), created by `subscriber()`. */
export interface Subscriber {
  /** Resolves once Redis acknowledged the subscription. */
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * A subscriber next to `client`: SUBSCRIBE on one server, SSUBSCRIBE on a cluster (one
 * connection per master, each channel on its slot's master). Both re-subscribe by themselves
 * after a reconnect.
 */
export function subscriber(
  client: RedisClient,
  onMessage: (channel: string, payload: string) => void,
): Subscriber {
  if (isCluster(client)) {
    const sub = duplicate(client, true) as Cluster;
    sub.on("error", () => {}); // reconnects on its own; failures surface as rejections
    sub.on("smessage", onMessage);
    return {
      subscribe: (channel) => sub.ssubscribe(channel),
      unsubscribe: (channel) => sub.sunsubscribe(channel),
      close: () => quit(sub),
    };
  }
  const sub = duplicate(client) as Redis;
  sub.on("error", () => {});
  sub.on("message", onMessage);
  return {
    subscribe: (channel) => sub.subscribe(channel),
    unsubscribe: (channel) => sub.unsubscribe(channel),
    close: () => quit(sub),
  };
}

/** Adds commands whose keys all share one slot to a pipeline. */
export type Step = (pipeline: ChainableCommander) => unknown;

/**
 * Runs `stages` in order and resolves to every command's reply, in order; the first failed
 * command's error is thrown. The steps of one stage are independent of each other. On one
 * server every command goes out at once as a plain command (one write, one round trip: see
 * `writesOncePerTurn`; cheaper than a pipeline, onto which ioredis copies every script defined
 * on the client); on a cluster each step is its own pipeline (a pipeline may not span nodes),
 * the steps of a stage run concurrently and a stage starts once the one before it has answered
 * — so "write the index first" holds on both.
 */
export async function inStages(client: RedisClient, stages: Step[][]): Promise<unknown[]> {
  if (!isCluster(client)) {
    const recorder = recorderOf(client);
    const sent: Promise<unknown>[] = (recorder.sent = []);
    for (const stage of stages) for (const step of stage) step(recorder.commander);
    const settled = await Promise.allSettled(sent);
    const values: unknown[] = [];
    for (const result of settled) {
      if (result.status === "rejected") throw result.reason;
      values.push(result.value);
    }
    return values;
  }
  const all: unknown[] = [];
  for (const stage of stages) {
    const results = await Promise.all(
      stage.map(async (step) => {
        const pipeline = client.pipeline();
        step(pipeline);
        return replies(await pipeline.exec());
      }),
    );
    for (const result of results) all.push(...result);
  }
  return all;
}

/**
 * The client seen as a pipeline: each command a step adds is sent at once and its reply
 * recorded in `sent`. Steps run synchronously, so one recorder per client serves every caller.
 */
interface Recorder {
  commander: ChainableCommander;
  sent: Promise<unknown>[];
}

const recorders = new WeakMap<Redis, Recorder>();

function recorderOf(client: Redis): Recorder {
  const known = recorders.get(client);
  if (known) return known;
  const made: Recorder = { commander: null as unknown as ChainableCommander, sent: [] };
  made.commander = new Proxy(client, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        made.sent.push((value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        return made.commander;
      };
    },
  }) as unknown as ChainableCommander;
  recorders.set(client, made);
  return made;
}

/** `inStages` with one stage of one command per item; resolves to their replies, in order. */
export async function eachInOneStage<Item, Reply>(
  client: RedisClient,
  items: readonly Item[],
  command: (pipeline: ChainableCommander, item: Item) => unknown,
): Promise<Reply[]> {
  return (await inStages(client, [
    items.map(
      (item): Step =>
        (p) =>
          command(p, item),
    ),
  ])) as Reply[];
}

/** The replies of a pipeline or MULTI; the first failed command's error is thrown. */
export function replies<T extends unknown[]>(results: [Error | null, unknown][] | null): T {
  // exec() answers null only for a MULTI aborted by WATCH, which this engine never uses.
  if (!results) throw new Error("redis transaction aborted");
  for (const [error] of results) if (error) throw error;
  return results.map(([, value]) => value) as T;
}

export async function quit(client: RedisClient): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect(); // not connected: nothing to flush
  }
}
