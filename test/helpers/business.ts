// A business app on a fresh engine on 127.0.0.1:0, driven with global fetch. The engine is a
// parameter so the same suites run on the memory and the Redis engine.
import { loadConfig, type Config } from "../../config/index.js";
import { createLogger } from "../../config/logger.js";
import { startBusiness, type Business } from "../../business/business.js";
import type { AppDeps } from "../../business/app.js";
import { createOperator } from "../../business/operators.js";
import { MemoryEngine } from "../../engine/memory-engine.js";
import { PostgresStoreEngine } from "../../engine/postgres/postgres-engine.js";
import { RedisEngine } from "../../engine/redis/redis-engine.js";
import type { Engine, NodeInfo } from "../../engine/types.js";
import { topics } from "../../engine/wire.js";
import { TEST_RATE_ENV } from "./config.js";
import { startPostgres, type TestPostgres } from "../../support/postgres-server.js";
import { startRedis, type TestRedis } from "../../support/redis-server.js";

export type EngineFactory = () => Engine | Promise<Engine>;

export interface EngineKind {
  name: string;
  make: EngineFactory;
  /** Called once after the suite: stops what `make` started (a redis-server). */
  stop?: () => Promise<void>;
}

/** A fresh engine per call: memory, Redis on one private redis-server with a new prefix, or
 * that with the store on one private PostgreSQL in a new schema. */
export function engineKinds(): EngineKind[] {
  let redis: Promise<TestRedis> | null = null;
  let postgres: Promise<TestPostgres> | null = null;
  let n = 0;
  const redisEngine = async () => {
    redis ??= startRedis();
    const { url } = await redis;
    return RedisEngine.connect({ url, prefix: `t${process.pid}-${n++}:` });
  };
  return [
    { name: "memory", make: () => new MemoryEngine() },
    {
      name: "redis",
      make: redisEngine,
      async stop() {
        const started = redis;
        redis = null;
        if (started) await (await started).destroy();
      },
    },
    {
      name: "redis + postgres",
      make: async () => {
        postgres ??= startPostgres();
        const { url } = await postgres;
        return PostgresStoreEngine.open(await redisEngine(), {
          url,
          schema: `t${process.pid}_${n++}`,
        });
      },
      async stop() {
        const started = [redis, postgres];
        redis = postgres = null;
        await Promise.all(started.map(async (server) => (await server)?.destroy()));
      },
    },
  ];
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON, or null when empty. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests index freely into answers
}

export interface RequestOptions {
  token?: string;
  /** Serialised as JSON. */
  body?: unknown;
  /** Sent as is (for malformed JSON and odd content types). */
  raw?: string;
  headers?: Record<string, string>;
}

export interface TestUser {
  userId: string;
  username: string;
  token: string;
}

export interface Harness {
  engine: Engine;
  business: Business;
  config: Config;
  api(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  /** Registers and logs in. */
  user(username?: string, password?: string): Promise<TestUser>;
  /** Creates an operator account as `npm run admin -- create` does, and logs in. */
  operator(username: string, password?: string): Promise<TestUser>;
  /** Registers a fake imServer node and records every command published to it. */
  fakeNode(nodeId: string): Promise<FakeNode>;
  close(): Promise<void>;
}

export interface FakeNode {
  info: NodeInfo;
  commands: unknown[];
  /** Resolves once `count` commands have arrived (bounded by `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<unknown[]>;
}

/** A cheap scrypt cost so suites stay fast; one test checks the real default. */
export const TEST_COST = { N: 1024, r: 8, p: 1 };
/** Effectively no per-session limit, except in the suite that tests it. */
export const NO_LIMIT = { points: 1e9, durationS: 1 };

let counter = 0;
export const uniqueName = (prefix = "u"): string =>
  `${prefix}${process.pid % 1000}_${Date.now() % 100000}_${counter++}`;

export async function startHarness(
  makeEngine: EngineFactory,
  options: { env?: Record<string, string> } & Partial<AppDeps> = {},
): Promise<Harness> {
  const { env, ...appOptions } = options;
  const config = loadConfig({ BUSINESS_PORT: "0", LOG_LEVEL: "silent", ...TEST_RATE_ENV, ...env });
  const engine = await makeEngine();
  const business = await startBusiness({
    config,
    engine,
    logger: createLogger("silent"),
    passwordCost: TEST_COST,
    ...appOptions,
    rates: { session: NO_LIMIT, ...appOptions.rates },
  });
  const cleanups: (() => Promise<void>)[] = [];

  const api = async (method: string, path: string, opts: RequestOptions = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers["content-type"] ??= "application/json";
    const response = await fetch(business.url + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = null;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };

  const login = async (username: string, password: string) => {
    const answer = await api("POST", "/api/login", { body: { username, password } });
    if (answer.status !== 200) throw new Error(`login: ${JSON.stringify(answer.body)}`);
    return answer.body as TestUser;
  };

  const user = async (username = uniqueName(), password = "password123") => {
    const registered = await api("POST", "/api/register", { body: { username, password } });
    if (registered.status !== 201) throw new Error(`register: ${JSON.stringify(registered.body)}`);
    return login(username, password);
  };

  const operator = async (username: string, password = "password123") => {
    await createOperator(engine, username, password, TEST_COST);
    return login(username, password);
  };

  const fakeNode = async (nodeId: string): Promise<FakeNode> => {
    const info = { nodeId, url: `http://127.0.0.1:1/${nodeId}` };
    const commands: unknown[] = [];
    const waiters = new Set<() => void>();
    const unsubscribe = await engine.bus.subscribe(topics.node(nodeId), (payload) => {
      // One command, or a version-2 envelope of several (the push client batches per turn).
      const json = JSON.parse(payload) as { kind?: string; commands?: unknown[] };
      commands.push(...(json.kind === "batch" ? json.commands! : [json]));
      for (const wake of waiters) wake();
    });
    await engine.membership.register(info, 60_000);
    await business.push.refreshNodes();
    cleanups.push(async () => {
      await unsubscribe();
      await engine.membership.deregister(nodeId);
    });
    const waitFor = (count: number, timeoutMs = 2_000) =>
      new Promise<unknown[]>((resolve, reject) => {
        const check = () => {
          if (commands.length < count) return;
          cleanup();
          resolve(commands);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${nodeId}: ${commands.length} of ${count} commands`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    return { info, commands, waitFor };
  };

  return {
    engine,
    business,
    config,
    api,
    user,
    operator,
    fakeNode,
    async close() {
      for (const cleanup of cleanups.reverse()) await cleanup();
      await business.close();
      await engine.close();
    },
  };
}
