// The webhook queue in PostgreSQL (next to the PostgreSQL store): durable, shared by every
// business instance, judged by the server's clock (herald_now_ms). Each step is one statement;
// a claim takes due rows FOR UPDATE SKIP LOCKED, so instances claiming at once never get the
// same event.
import type pg from "pg";
import { DONE_RETENTION_MS, type Claimed, type WebhookQueue } from "./queue.js";

export class PostgresWebhookQueue implements WebhookQueue {
  constructor(private readonly pool: pg.Pool) {}

  async add(id: string, body: string): Promise<boolean> {
    // A done row older than the retention counts as gone: the id may be queued again.
    const { rowCount } = await this.pool.query(
      `INSERT INTO webhook_events AS w (id, body, queued_at, due_at)
       VALUES ($1, $2, herald_now_ms(), herald_now_ms())
       ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, queued_at = EXCLUDED.queued_at,
         due_at = EXCLUDED.due_at, lease = NULL, attempts = 0, done_at = NULL
       WHERE w.done_at IS NOT NULL AND w.done_at <= herald_now_ms() - $3`,
      [id, body, DONE_RETENTION_MS],
    );
    return rowCount === 1;
  }

  async claim(max: number, leaseMs: number): Promise<Claimed[]> {
    const { rows } = await this.pool.query<{
      id: string;
      body: string;
      queued_at: number;
      attempts: number;
      lease: number;
      now: number;
    }>(
      `WITH now AS (SELECT herald_now_ms() AS t),
       picked AS (
         SELECT id FROM webhook_events, now WHERE done_at IS NULL AND due_at <= now.t
         ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE webhook_events w
         SET attempts = w.attempts + 1, due_at = now.t + $2, lease = now.t + $2
         FROM picked, now WHERE w.id = picked.id
         RETURNING w.id, w.body, w.queued_at, w.attempts, w.lease, now.t AS now`,
      [Math.max(0, Math.floor(max)), Math.round(leaseMs)],
    );
    return rows
      .sort((x, y) => x.queued_at - y.queued_at)
      .map((row) => ({
        id: row.id,
        body: row.body,
        queuedAt: row.queued_at,
        claimedAt: row.now,
        attempts: row.attempts,
        lease: row.lease,
      }));
  }

  async retry(event: Claimed, delayMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE webhook_events SET lease = NULL, due_at = herald_now_ms() + $3
       WHERE id = $1 AND lease = $2 AND done_at IS NULL`,
      [event.id, event.lease, Math.round(delayMs)],
    );
    return rowCount === 1;
  }

  async finish(id: string): Promise<void> {
    await this.pool.query(
      `WITH forgotten AS (
         DELETE FROM webhook_events WHERE done_at <= herald_now_ms() - $2)
       INSERT INTO webhook_events (id, body, queued_at, due_at, done_at)
       VALUES ($1, '', herald_now_ms(), herald_now_ms(), herald_now_ms())
       ON CONFLICT (id) DO UPDATE SET body = '', lease = NULL, done_at = EXCLUDED.done_at`,
      [id, DONE_RETENTION_MS],
    );
  }

  async depth(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      "SELECT count(*)::integer AS n FROM webhook_events WHERE done_at IS NULL",
    );
    return rows[0]!.n;
  }
}
