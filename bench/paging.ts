// bench/paging: GET /api/messages pages on the PostgreSQL store with 1k and with 1M messages in
// one conversation. A Herald (bench/send.ts's child) runs on a private redis-server and
// PostgreSQL; two users exchange two messages through the API, and the second is the template
// the stream is then filled from (support/fill-stream.ts), and so is a DM of two others, as
// long and with the same words, which no search of theirs may read. Pages of 50 (after= near the start,
// the middle, the end) are timed through the API, one request at a time, checked for the right
// seqs. Then GET /api/search at each size, in the DM and over all the caller's conversations,
// for a word every message holds ("message": its newest 20), one only the newest holds and one
// only the oldest holds ("hello", seq 1), each checked for the right first seq. EXPLAIN ANALYZE
// shows each of the store's own statements (HISTORY_PAGE of engine/store/postgres.ts, SEARCH_READS
// of postgres-search.ts) at each size as the store plans them.
//   node dist/bench/paging.js [--sizes 1000,1000000] [--pages 200] [--searches 20]
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { conversationKey } from "../engine/ids.js";
import { HISTORY_PAGE } from "../engine/store/postgres.js";
import { SEARCH_READS, SEARCH_WINDOW } from "../engine/store/postgres-search.js";
import { fillStream } from "../support/fill-stream.js";
import { startPostgres } from "../support/postgres-server.js";
import { startRedis } from "../support/redis-server.js";
import { listening } from "./lib/proc.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,1000000" },
    pages: { type: "string", default: "200" },
    searches: { type: "string", default: "20" },
  },
});
const SIZES = args.sizes.split(",").map(Number);
const PAGES = Number(args.pages);
const SEARCHES = Number(args.searches);
/** A search kind's timing stops early past this (a slow plan at 1M must not hold the run). */
const SEARCH_BUDGET_MS = 30_000;
const LIMIT = 50;
const redis = await startRedis();
const postgres = await startPostgres();
const server = fork(join(here, "send.js"), [], {
  env: { ...process.env, BENCH_ROLE: "server", REDIS_URL: redis.url, DATABASE_URL: postgres.url },
});
const db = new pg.Client({ connectionString: postgres.url });
try {
  const { url } = await listening(server);
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const r = await fetch(url + path, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bench reads answers loosely
    return { status: r.status, body: (await r.json()) as any };
  };
  const user = async (username: string) => {
    await call("POST", "/api/register", undefined, { username, password: "password123" });
    const login = await call("POST", "/api/login", undefined, {
      username,
      password: "password123",
    });
    return login.body as { userId: string; token: string };
  };
  /** A DM of `from`'s two messages to `to` ("hello", then the fill's template); its key. */
  const dm = async (from: { token: string; userId: string }, to: { userId: string }) => {
    for (const text of ["hello", "message 2"]) {
      const sent = await call("POST", "/api/messages", from.token, {
        to: to.userId,
        content: { text },
      });
      if (sent.status !== 202) throw new Error(`send: ${JSON.stringify(sent.body)}`);
    }
    return conversationKey({ kind: "direct", a: from.userId, b: to.userId });
  };
  const [alice, bob] = [await user("alice"), await user("bob")];
  const key = await dm(alice, bob);
  // Two others' DM, as long and with the same words: nobody's search may read it but theirs.
  const [carol, dave] = [await user("carol"), await user("dave")];
  const othersKey = await dm(carol, dave);
  await db.connect();
  // Without JIT, as the store's connections (engine/postgres/connection.ts), and without
  // parallel workers, as its searches (PostgresStore.searchTransaction).
  await db.query("SET jit = off");
  await db.query("SET max_parallel_workers_per_gather = 0");

  const fill = async (size: number) => {
    for (const [conversation, reader] of [
      [key, alice.userId],
      [othersKey, carol.userId],
    ] as const)
      await fillStream(db, {
        key: conversation,
        templateSeq: 2,
        templateText: "message 2",
        word: "message",
        size,
        reader,
      });
  };

  const results: Record<string, object> = {};
  const searched: Record<string, object> = {};
  /** The `q` quantile (0–1) of latencies sorted ascending, in ms to two decimals. */
  const quantile = (sorted: number[], q: number) =>
    Math.round(sorted[Math.floor(q * (sorted.length - 1))]! * 100) / 100;
  const failures: string[] = [];
  /** Times `q` through the API, in the DM or over everything; checks the first hit's seq. */
  const timeSearch = async (size: number, label: string, q: string, first: number) => {
    for (const scope of ["dm", "all"] as const) {
      const path = `/api/search?q=${encodeURIComponent(q)}&limit=20${scope === "dm" ? `&peer=${alice.userId}` : ""}`;
      const latencies: number[] = [];
      let failed = "";
      const until = performance.now() + SEARCH_BUDGET_MS;
      while (!failed && latencies.length < SEARCHES && performance.now() < until) {
        const t = performance.now();
        const found = await call("GET", path, bob.token);
        latencies.push(performance.now() - t);
        const seqs = ((found.body?.items ?? []) as { seq: number }[]).map((item) => item.seq);
        // Only bob's DM: the others' holds the same words at the same seqs.
        const expected = q === "message" ? 20 : 1;
        if (found.status !== 200 || seqs[0] !== first || seqs.length !== expected)
          failed = `${found.status} ${found.body?.error?.code ?? seqs.slice(0, 3).join(",")}`;
      }
      latencies.sort((x, y) => x - y);
      // A failed search is reported (and fails the run at the end), not hidden.
      if (failed) failures.push(`search ${q} (${scope}) at ${size}: ${failed}`);
      searched[`${size} items, ${label}, ${scope === "dm" ? "in the DM" : "everywhere"}`] = {
        "p50 ms": quantile(latencies, 0.5),
        "max ms": quantile(latencies, 1),
        searches: latencies.length,
        failed: failed || "—",
      };
    }
  };
  for (const size of SIZES) {
    const t0 = performance.now();
    await fill(size);
    const loadS = Math.round((performance.now() - t0) / 100) / 10;
    const { rows } = await db.query<{ n: string; bytes: string }>(
      "SELECT count(*) AS n, pg_total_relation_size('items') AS bytes FROM items",
    );
    const positions = { start: 10, middle: Math.floor(size / 2), end: size - LIMIT - 10 };
    for (const [where, after] of Object.entries(positions)) {
      const latencies: number[] = [];
      for (let i = 0; i < PAGES; i++) {
        const t = performance.now();
        const page = await call(
          "GET",
          `/api/messages?peer=${alice.userId}&after=${after}&limit=${LIMIT}`,
          bob.token,
        );
        latencies.push(performance.now() - t);
        if (page.status !== 200)
          throw new Error(`page after ${after}: ${page.status} ${JSON.stringify(page.body)}`);
        const seqs = (page.body.messages as { seq: number; content: { text: string } }[]).map(
          (m) => m.seq,
        );
        if (seqs.length !== LIMIT || seqs[0] !== after + 1)
          throw new Error(`page after ${after}: ${page.status} ${seqs.slice(0, 3).join(",")}`);
      }
      latencies.sort((x, y) => x - y);
      results[`${size} items, after ${after} (${where})`] = {
        "p50 ms": quantile(latencies, 0.5),
        "p99 ms": quantile(latencies, 0.99),
        "items rows": Number(rows[0]!.n),
        "items MB": Math.round(Number(rows[0]!.bytes) / 1e6),
        "load s": loadS,
      };
    }
    // Each as the store runs it: history with its generic plan, search's steps planned for the
    // words (engine/store/postgres-search.ts): bob's DM read back over its window, then below it.
    const [{ conv_id: dm }] = (
      await db.query<{ conv_id: number }>("SELECT conv_id FROM conversations WHERE key = $1", [key])
    ).rows as [{ conv_id: number }];
    const windowFloor = Math.max(0, size - SEARCH_WINDOW);
    const reads: [string, string, unknown[], "generic" | "custom"][] = [
      [
        `history, after ${positions.middle}`,
        HISTORY_PAGE,
        [key, positions.middle, LIMIT, bob.userId],
        "generic",
      ],
      [`search: bob's conversations`, SEARCH_READS.spansOfCaller, [bob.userId], "custom"],
      ...["message", "hello"].flatMap((q): [string, string, unknown[], "custom"][] => [
        [
          `search "${q}", the DM's newest ${SEARCH_WINDOW}`,
          SEARCH_READS.recent,
          [q, `{${dm}}`, `{${windowFloor}}`, 20],
          "custom",
        ],
        [
          `search "${q}", the DM below them`,
          SEARCH_READS.older,
          [q, dm, 0, windowFloor, 20],
          "custom",
        ],
      ]),
    ];
    for (const [name, statement, values, plan] of reads) {
      await db.query(`SET plan_cache_mode = force_${plan}_plan`);
      await db.query(`PREPARE bench_read AS ${statement}`);
      const literals = values.map((v) =>
        typeof v === "number" ? String(v) : db.escapeLiteral(String(v)),
      );
      const explained = await db.query<{ "QUERY PLAN": string }>(
        `EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_read(${literals.join(", ")})`,
      );
      await db.query("DEALLOCATE bench_read");
      console.log(`EXPLAIN, ${size} items, ${name} (${plan} plan):`);
      console.log(explained.rows.map((row) => `  ${row["QUERY PLAN"]}`).join("\n"));
    }
    await timeSearch(size, `"message" (in every message)`, "message", size);
    await timeSearch(size, `"${size}" (the newest only)`, String(size), size);
    await timeSearch(size, `"hello" (the oldest only)`, "hello", 1);
  }
  console.log(
    `GET /api/messages?peer=…&after=…&limit=${LIMIT}, ${PAGES} pages each, one at a time:`,
  );
  console.table(results);
  console.log(`GET /api/search?q=…&limit=20, up to ${SEARCHES} each, one at a time:`);
  console.table(searched);
  mkdirSync(join(here, "../../bench/results"), { recursive: true });
  writeFileSync(
    join(here, "../../bench/results/paging.json"),
    JSON.stringify({ pages: results, searches: searched, failures }, null, 2),
  );
  if (failures.length > 0) {
    console.error(`FAILED: ${failures.join("; ")}`);
    process.exitCode = 1;
  }
} finally {
  await db.end().catch(() => {});
  server.kill();
  await redis.destroy();
  await postgres.destroy();
}
