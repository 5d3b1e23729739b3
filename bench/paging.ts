// bench/paging: GET /api/messages pages on the PostgreSQL store with 1k and with 1M messages in
// one conversation. A Herald (bench/send.ts's child) runs on a private redis-server and
// PostgreSQL; two users exchange two messages through the API, and the second is the template
// the stream is then filled from, straight into the schema's tables (generate_series, one
// statement per 100k rows): each row an `items` row as herald_append_message writes it (seq,
// id, envelope with its id and ts, body, msg_count, search_text), then the conversation's
// counters (last_seq, last_ts, msg_count) and the sender's cursor, so the store reads them as
// sent. Pages of 50 (after= near the start, the middle, the end) are timed through the API,
// one request at a time, checked for the right seqs; EXPLAIN shows the plan at 1M.
//   node dist/bench/paging.js [--sizes 1000,1000000] [--pages 200]
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { conversationKey } from "../engine/ids.js";
import { startPostgres } from "../support/postgres-server.js";
import { startRedis } from "../support/redis-server.js";
import { listening } from "./lib/proc.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,1000000" },
    pages: { type: "string", default: "200" },
  },
});
const SIZES = args.sizes.split(",").map(Number);
const PAGES = Number(args.pages);
const LIMIT = 50;
/** The first release's history statement: the key filtered through the join, which hides the
 * conv_id from the planner (a parallel full scan and sort at 1M items). */
const BY_KEY = `SELECT c.key, i.seq, i.envelope, i.body, i.recalled, i.edit_body, i.edit_ts
  FROM items i JOIN conversations c ON c.conv_id = i.conv_id
  WHERE c.key = $1 AND i.seq > $2 ORDER BY i.seq LIMIT ${LIMIT}`;

/** The store's history statement now (engine/store/postgres.ts history, without the
 * reactions): the conversation's id a scalar subquery, so the planner reads the primary key's
 * range (conv_id, seq > $2) in order, 50 rows. */
const HISTORY = BY_KEY.replace(
  "WHERE c.key = $1",
  "WHERE i.conv_id = (SELECT conv_id FROM conversations WHERE key = $1)",
);

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
  const [alice, bob] = [await user("alice"), await user("bob")];
  for (const text of ["hello", "message 2"]) {
    const sent = await call("POST", "/api/messages", alice.token, {
      to: bob.userId,
      content: { text },
    });
    if (sent.status !== 202) throw new Error(`send: ${JSON.stringify(sent.body)}`);
  }
  const key = conversationKey({ kind: "direct", a: alice.userId, b: bob.userId });
  await db.connect();

  /** Fills the stream up to `size` items from its seq-2 template, 100k rows a statement. */
  const fill = async (size: number) => {
    const [{ last }] = (
      await db.query<{ last: number }>(
        "SELECT last_seq AS last FROM conversations WHERE key = $1",
        [key],
      )
    ).rows as [{ last: number }];
    for (let from = last + 1; from <= size; from += 100_000) {
      const to = Math.min(size, from + 99_999);
      await db.query(
        `INSERT INTO items (conv_id, seq, id, kind, sender, ts, envelope, body, msg_count,
             search_text)
         SELECT t.conv_id, g, n.id, 'message', t.sender, t.ts + g,
           replace(replace(t.envelope, t.id, n.id), '"ts":' || t.ts, '"ts":' || (t.ts + g)),
           replace(t.body, 'message 2', 'message ' || g), g, 'message ' || g
         FROM items t JOIN conversations c ON c.conv_id = t.conv_id,
           generate_series($2::integer, $3::integer) AS g,
           LATERAL (SELECT md5(t.conv_id || ':' || g)::uuid::text AS id) AS n
         WHERE c.key = $1 AND t.seq = 2`,
        [key, from, to],
      );
    }
    // The counters and the sender's cursor, as the append leaves them.
    await db.query(
      `UPDATE conversations c SET last_seq = $2::integer, msg_count = $2::integer, last_ts = t.ts + $2::integer
         FROM items t WHERE c.key = $1 AND t.conv_id = c.conv_id AND t.seq = 2`,
      [key, size],
    );
    await db.query(
      `UPDATE cursors SET read_seq = $2::integer FROM conversations c
         WHERE c.key = $1 AND cursors.conv_id = c.conv_id AND cursors.user_id = $3`,
      [key, size, alice.userId],
    );
    await db.query("VACUUM ANALYZE items");
  };

  const results: Record<string, object> = {};
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
      const at = (q: number) => Math.round(latencies[Math.floor(q * (PAGES - 1))]! * 100) / 100;
      results[`${size} items, after ${after} (${where})`] = {
        "p50 ms": at(0.5),
        "p99 ms": at(0.99),
        "items rows": Number(rows[0]!.n),
        "items MB": Math.round(Number(rows[0]!.bytes) / 1e6),
        "load s": loadS,
      };
    }
    for (const [name, statement] of [
      ["the store's statement (the conversation's id looked up first)", HISTORY],
      ["the first release's statement (the key through the join)", BY_KEY],
    ]) {
      const plan = await db.query<{ "QUERY PLAN": string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${statement}`,
        [key, positions.middle],
      );
      console.log(`EXPLAIN, page after ${positions.middle} of ${size} items, ${name}:`);
      console.log(plan.rows.map((row) => `  ${row["QUERY PLAN"]}`).join("\n"));
    }
  }
  console.log(
    `GET /api/messages?peer=…&after=…&limit=${LIMIT}, ${PAGES} pages each, one at a time:`,
  );
  console.table(results);
  mkdirSync(join(here, "../../bench/results"), { recursive: true });
  writeFileSync(join(here, "../../bench/results/paging.json"), JSON.stringify(results, null, 2));
} finally {
  await db.end().catch(() => {});
  server.kill();
  await redis.destroy();
  await postgres.destroy();
}
