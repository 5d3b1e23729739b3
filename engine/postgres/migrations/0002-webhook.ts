// The webhook queue (business/webhook/postgres-queue.ts): one row per event, queued, leased or
// (for DONE_RETENTION_MS) remembered as done. A leased event's due_at is its lease deadline, so
// one whose holder died is due again when the lease runs out.
import type { Migration } from "../migrate.js";

const sql = String.raw`
CREATE TABLE webhook_events (
  id text PRIMARY KEY,
  body text NOT NULL,
  queued_at bigint NOT NULL,
  due_at bigint NOT NULL,
  lease bigint,
  attempts integer NOT NULL DEFAULT 0,
  done_at bigint
);
CREATE INDEX webhook_events_due ON webhook_events (due_at) WHERE done_at IS NULL;
CREATE INDEX webhook_events_done ON webhook_events (done_at) WHERE done_at IS NOT NULL;

-- The server's clock in ms: every business instance judges due times and leases alike.
CREATE FUNCTION herald_now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
$$;
`;

export const migration: Migration = { version: 2, name: "webhook", sql };
