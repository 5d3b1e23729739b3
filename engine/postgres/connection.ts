// The PostgreSQL pool (node-postgres) and what counts as PostgreSQL being in trouble. A bounded
// wait everywhere: a down or hung server makes a request fail within ~2 s (business answers 503
// `unavailable`), never hang.
import pg from "pg";
import { migrate, quoteIdent } from "./migrate.js";

export interface PostgresOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections this process holds at most (DATABASE_POOL_SIZE). */
  poolSize?: number;
  /** The schema the tables live in (tests give each suite its own); default "public". */
  schema?: string;
  /** How long one query may take before it fails as an outage. */
  queryTimeoutMs?: number;
}

// bigint (int8) columns hold ms timestamps, far below 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Opens a pool, checks that the server answers and applies the pending migrations. */
export async function openPool(options: PostgresOptions): Promise<pg.Pool> {
  const schema = options.schema ?? "public";
  const common = {
    connectionString: options.url,
    connectionTimeoutMillis: 2_000,
    // Every statement is prepared once per connection and gets one generic plan. Left to choose,
    // PostgreSQL planned the per-request session lookup (`= ANY($1)`) anew on every call: a
    // custom plan for a 1-key array always looks cheaper than the generic plan, which assumes
    // 10 (4 % of its CPU under bench/send). The statements look rows up by key, seq or limit,
    // where the generic plan is the one a custom plan would be; the exception is search, whose
    // best plan depends on how common the words are, and which is planned for its words
    // (PostgresStore.searchTransaction).
    // JIT off: a generic plan's estimates are those of an unknown key and limit (a third of a
    // conversation), which passed jit_above_cost, and a page of history at 1M items spent
    // ~200 ms compiling itself on every execution (bench/paging) to read 50 rows in 0.3 ms.
    options: `-c search_path=${quoteIdent(schema)} -c plan_cache_mode=force_generic_plan -c jit=off`,
  };
  const pool = new pg.Pool({
    ...common,
    max: options.poolSize ?? 10,
    query_timeout: options.queryTimeoutMs ?? 2_000,
  });
  // An idle connection the server dropped (a restart) errors here; the pool replaces it.
  pool.on("error", () => {});
  // Migrations on a connection of their own with no query timeout: a long one, or the wait for
  // another starting process's lock, must not fail the start (nor leave a lock request behind).
  const migrating = new pg.Pool({ ...common, max: 1 });
  migrating.on("error", () => {});
  try {
    await migrate(migrating, schema);
  } catch (error) {
    await pool.end();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot open PostgreSQL at ${redactDatabaseUrl(options.url)}: ${reason}`, {
      cause: error,
    });
  } finally {
    await migrating.end();
  }
  return pool;
}

/** The URL without its password, for messages and logs. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
  } catch {
    return "(unparsable DATABASE_URL)";
  }
}

/** True when `error` says PostgreSQL is unreachable, restarting, overloaded or hung. */
export function isPostgresFault(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof AggregateError && error.errors.some(isPostgresFault)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (SOCKET_CODES.has(code)) return true;
    // SQLSTATE: 08 connection exception, 53 insufficient resources, 57P0x shutdown/cannot connect.
    if (/^(08|53|57P0)/.test(code)) return true;
  }
  if (PG_FAULT_MESSAGES.test(error.message)) return true;
  return error.cause !== undefined && error.cause !== error && isPostgresFault(error.cause);
}

const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);
const PG_FAULT_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end)/;
