// The engine conformance suite with the store on PostgreSQL — over the memory twins and over
// Redis — plus what only PostgreSQL does: migrations under concurrent starts, outages. Each test
// gets a schema of its own in one private PostgreSQL (support/postgres-server.ts); a missing
// PostgreSQL fails these suites.
import { expect } from "chai";
import pg from "pg";
import { MemoryEngine } from "../engine/memory-engine.js";
import { PostgresStoreEngine } from "../engine/postgres/postgres-engine.js";
import { isPostgresFault, openPool } from "../engine/postgres/connection.js";
import { migrate } from "../engine/postgres/migrate.js";
import { migrations } from "../engine/postgres/migrations/index.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { RedisSessionCache } from "../engine/store/session-cache.js";
import type { ConversationRef } from "../engine/types.js";
import { describeEngineConformance, message, storedItem } from "./helpers/engine-conformance.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { until } from "./helpers/until.js";

/** A schema name for the suite's space (`t12:` → `t12_`). */
const schemaOf = (space: string) => space.replace(/[^a-z0-9]/gi, "_").toLowerCase();

describeEngineConformance("memory + postgres store", {
  kind: "memory",
  async start() {
    const server = await startPostgres();
    return {
      shared: false,
      open: (space) =>
        PostgresStoreEngine.open(new MemoryEngine(), { url: server.url, schema: schemaOf(space) }),
      stop: () => server.destroy(),
    };
  },
});

describeEngineConformance("redis + postgres store", {
  kind: "redis",
  async start() {
    const [server, redis] = await Promise.all([startPostgres(), startRedis()]);
    return {
      shared: true,
      open: async (space) =>
        PostgresStoreEngine.open(await RedisEngine.connect({ url: redis.url, prefix: space }), {
          url: server.url,
          schema: schemaOf(space),
        }),
      async stop() {
        await Promise.all([server.destroy(), redis.destroy()]);
      },
    };
  },
});

describe("engine: postgres only", function () {
  let server: TestPostgres;
  const pools: pg.Pool[] = [];

  before(async function () {
    server = await startPostgres();
  });
  after(async function () {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await server.destroy();
  });

  const newPool = (schema: string) => {
    const pool = new pg.Pool({ connectionString: server.url, options: `-c search_path=${schema}` });
    pools.push(pool);
    return pool;
  };

  it("4 processes starting at once on an empty database all succeed; each migration runs once", async function () {
    const schema = "concurrent";
    const results = await Promise.all(
      Array.from({ length: 4 }, () => migrate(newPool(schema), schema)),
    );
    const all = migrations.map((m) => m.version);
    // Exactly one start applied each migration; the others found it applied.
    expect(results.flat().sort()).to.deep.equal(all);
    const { rows } = await newPool(schema).query(
      "SELECT version FROM herald_migrations ORDER BY version",
    );
    expect(rows.map((r: { version: number }) => r.version)).to.deep.equal(all);
    expect(await migrate(newPool(schema), schema)).to.deep.equal([]);
  });

  it("a failing migration leaves nothing behind and stops the start with its name", async function () {
    const schema = "failing";
    const broken = [
      ...migrations,
      { version: 999, name: "broken", sql: "CREATE TABLE half (x int); SELECT nonsense" },
    ];
    let error: unknown = null;
    try {
      await migrate(newPool(schema), schema, broken);
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).to.equal("migration 999 (broken) failed");
    const pool = newPool(schema);
    const { rows } = await pool.query("SELECT to_regclass('half') AS t");
    expect(rows[0].t).to.equal(null);
    const applied = await pool.query("SELECT max(version) AS v FROM herald_migrations");
    expect(applied.rows[0].v).to.equal(Math.max(...migrations.map((m) => m.version)));
  });

  it("concurrent message appends share a transaction; one that fails there fails alone", async function () {
    const engine = await PostgresStoreEngine.open(new MemoryEngine(), {
      url: server.url,
      schema: "batched",
    });
    try {
      const store = engine.store;
      const refs = Array.from({ length: 6 }, (_, i): ConversationRef => ({
        kind: "direct",
        a: `a${i}`,
        b: "z",
      }));
      const statements = countStatements(engine.pool, /herald_append_messages?(?=\()/);
      const sent = await Promise.all(
        refs.map((ref, i) => store.append(ref, message(`a${i}`, { to: "z", ts: 1_000 + i }))),
      );
      expect(sent.map((r) => storedItem(r).seq)).to.deep.equal([1, 1, 1, 1, 1, 1]);
      expect(statements.splice(0)).to.deep.equal(["herald_append_messages"]); // one, for all six

      // A ts no bigint holds fails that append's statement: it fails, the others are stored.
      const results = await Promise.allSettled(
        refs.map((ref, i) =>
          store.append(ref, message(`a${i}`, { to: "z", ts: i === 2 ? 1e300 : 2_000 })),
        ),
      );
      // The batch failed, then each was tried alone.
      expect(statements.splice(0)).to.deep.equal([
        "herald_append_messages",
        ...refs.map(() => "herald_append_message"),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal([
        "fulfilled",
        "fulfilled",
        "rejected",
        "fulfilled",
        "fulfilled",
        "fulfilled",
      ]);
      for (const [i, ref] of refs.entries())
        expect((await store.history(ref, 0, 10)).map((m) => m.ts)).to.deep.equal(
          i === 2 ? [1_002] : [1_000 + i, 2_000],
        );
    } finally {
      await engine.close();
    }
  });

  it("opening an unreachable server rejects with a clear error without the password, an outage", async function () {
    const url = server.url.replace("herald@", "herald:secret@").replace(/:\d+\//, ":1/");
    let error: unknown = null;
    try {
      await openPool({ url });
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).to.contain("cannot open PostgreSQL at 127.0.0.1:1/herald");
    expect((error as Error).message).to.not.contain("secret");
    expect(isPostgresFault(error)).to.equal(true);
    expect(isPostgresFault(new Error("a bug"))).to.equal(false);
  });
});

describe("engine: redis + postgres store, sessions cached in Redis", function () {
  let server: TestPostgres;
  let redis: TestRedis;
  const engines: PostgresStoreEngine[] = [];

  before(async function () {
    [server, redis] = await Promise.all([startPostgres(), startRedis()]);
  });
  afterEach(async function () {
    await Promise.all(engines.splice(0).map((engine) => engine.close()));
  });
  after(async function () {
    await Promise.all([server.destroy(), redis.destroy()]);
  });

  /** A business instance's engine; every one opened shares the Redis prefix and the schema. */
  async function instance(): Promise<PostgresStoreEngine> {
    const base = await RedisEngine.connect({ url: redis.url, prefix: "cache:" });
    const engine = await PostgresStoreEngine.open(base, { url: server.url, schema: "cache" });
    engines.push(engine);
    return engine;
  }
  const expiryOf = async (engine: PostgresStoreEngine, sessionId: string) => {
    const { rows } = await engine.pool.query<{ ms: number }>(
      "SELECT (extract(epoch FROM expires_at) * 1000)::float8 AS ms FROM sessions WHERE session_id = $1",
      [sessionId],
    );
    return { expiresAt: rows[0]!.ms };
  };
  const pttl = (engine: PostgresStoreEngine, sessionId: string) => {
    const base = engine.base as RedisEngine;
    return base.redis.pttl(base.keys.cachedSession(sessionId));
  };
  const cacheOf = (engine: PostgresStoreEngine) => {
    const base = engine.base as RedisEngine;
    return new RedisSessionCache(base.redis, base.keys);
  };

  it("reads a session's row once, then from Redis; a logout on another instance holds at once, even against a fill from a read before it", async function () {
    const [a, b] = [await instance(), await instance()];
    const { token, sessionId } = await a.store.createSession("u1", 60_000);
    const reads = countStatements(a.pool, /FROM sessions/);
    for (let i = 0; i < 3; i++)
      expect(await a.store.sessionByToken(token)).to.deep.equal({ sessionId, userId: "u1" });
    expect(reads).to.have.length(1);

    const { expiresAt } = await expiryOf(b, sessionId);
    await b.store.deleteSession(sessionId);
    // A request that read the row before the logout fills the cache after it.
    cacheOf(a).fill({ sessionId, expiresAt }, "u1");
    expect(await a.store.sessionByToken(token)).to.equal(null);
    expect(reads).to.have.length(1); // the marker answered
    // The marker lasts past the session's own expiry, so no late fill can outlast it.
    expect(await pttl(a, sessionId)).to.be.above(expiresAt - Date.now());
  });

  it("force offline on another instance ends every cached session of the user at once", async function () {
    const [a, b] = [await instance(), await instance()];
    const mine = [
      await a.store.createSession("u2", 60_000),
      await a.store.createSession("u2", 60_000),
    ];
    const theirs = await a.store.createSession("u3", 60_000);
    for (const { token } of [...mine, theirs, ...mine, theirs])
      expect(await a.store.sessionByToken(token)).to.not.equal(null);
    const ended = await b.store.deleteSessionsOf("u2");
    expect(ended.sort()).to.deep.equal(mine.map((s) => s.sessionId).sort());
    for (const { token } of mine) expect(await a.store.sessionByToken(token)).to.equal(null);
    expect(await a.store.sessionByToken(theirs.token)).to.deep.include({ userId: "u3" });
  });

  it("an entry never outlives its session, nor the cache's minute; a fill landing after the session's expiry caches nothing", async function () {
    const a = await instance();
    const short = await a.store.createSession("u4", 500);
    expect(await a.store.sessionByToken(short.token)).to.not.equal(null);
    expect(await pttl(a, short.sessionId)).to.be.within(1, 500);
    const long = await a.store.createSession("u4", 3_600_000);
    expect(await a.store.sessionByToken(long.token)).to.not.equal(null);
    expect(await pttl(a, long.sessionId)).to.be.within(50_000, 60_000);

    // A fill that reaches Redis late (a partition, a queue) carries the session's expiry.
    const late = await a.store.createSession("u4", 60_000);
    cacheOf(a).fill({ sessionId: late.sessionId, expiresAt: Date.now() - 1 }, "u4");
    expect(await cacheOf(a).get(late.sessionId)).to.equal(null);
  });

  it("with Redis down a request's session is an outage and a logout changes nothing", async function () {
    const a = await instance();
    const { token, sessionId } = await a.store.createSession("u5", 60_000);
    await redis.stop();
    try {
      const reading = await a.store.sessionByToken(token).catch((error: unknown) => error);
      expect(a.isOutage(reading)).to.equal(true);
      const logout = await a.store.deleteSession(sessionId).catch((error: unknown) => error);
      expect(a.isOutage(logout)).to.equal(true);
    } finally {
      await redis.start();
    }
    await until(
      () =>
        a.ping().then(
          () => true,
          () => false,
        ),
      10_000,
      "Redis back",
    );
    expect(await a.store.sessionByToken(token)).to.deep.equal({ sessionId, userId: "u5" });
  });
});

/** What `pattern` matched in each statement the pool runs from now on, in order. */
function countStatements(pool: pg.Pool, pattern: RegExp): string[] {
  const called: string[] = [];
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { query: unknown }).query = (...args: unknown[]) => {
    const config = args[0] as string | { text: string };
    const found = pattern.exec(typeof config === "string" ? config : config.text);
    if (found) called.push(found[0]);
    return query(...args);
  };
  return called;
}
