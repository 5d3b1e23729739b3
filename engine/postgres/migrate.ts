// Versioned schema changes, applied at start by every process that opens the store. An advisory
// lock makes processes that start at once take turns: the first applies what is missing, the
// others then find it applied. Each migration runs in its own transaction with its row in
// herald_migrations, so a failed one leaves nothing behind and is tried again at the next start.
import type { Pool } from "pg";
import { migrations } from "./migrations/index.js";

export interface Migration {
  /** 1, 2, 3 …: applied in this order, each once. */
  version: number;
  name: string;
  /** Run as one simple query: several statements are fine. */
  sql: string;
}

/** Applies the migrations not yet applied in `schema` (created if missing); resolves to the
 * versions this call applied. */
export async function migrate(
  pool: Pool,
  schema: string,
  list: readonly Migration[] = migrations,
): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  let failed = false;
  try {
    // Session-level: held across the transactions below, released in finally (or with the
    // connection, should this process die).
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [`herald-migrate:${schema}`]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.herald_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query<{ version: number }>(
        `SELECT version FROM ${quoteIdent(schema)}.herald_migrations`,
      );
      const done = new Set(rows.map((row) => row.version));
      for (const migration of [...list].sort((x, y) => x.version - y.version)) {
        if (done.has(migration.version)) continue;
        await client.query("BEGIN");
        try {
          await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
          await client.query(migration.sql);
          await client.query(
            `INSERT INTO ${quoteIdent(schema)}.herald_migrations (version, name) VALUES ($1, $2)`,
            [migration.version, migration.name],
          );
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK");
          throw new Error(`migration ${migration.version} (${migration.name}) failed`, {
            cause: error,
          });
        }
        applied.push(migration.version);
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [`herald-migrate:${schema}`]);
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A connection that failed here may still hold or await the lock: closed, never reused.
    client.release(failed);
  }
  return applied;
}

/** A schema name as an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
