// The one logger: pino, JSON lines on stdout. An error is logged by an allowlist of its fields:
// libraries hang whatever they had at hand on their errors (ioredis: the failed command and its
// arguments — password hashes, session keys, message text; Node's HTTP parser: the raw request
// bytes, bearer token included), and none of that may reach a log line.
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

const SAFE_FIELDS = ["name", "message", "code", "errno", "syscall", "status", "stack"] as const;
/** How deep causes (and an AggregateError's errors) are followed. */
const MAX_DEPTH = 3;

/** An error as a log line may show it: its class, safe fields and causes, nothing else. */
export function serializeError(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null) return { type: typeof value };
  const error = value as Record<string, unknown>;
  const safe: Record<string, unknown> = { type: value.constructor?.name ?? "Object" };
  for (const field of SAFE_FIELDS) {
    const v = error[field];
    if (typeof v === "string" || typeof v === "number") safe[field] = v;
  }
  if (depth < MAX_DEPTH) {
    if (error.cause !== undefined) safe.cause = serializeError(error.cause, depth + 1);
    if (Array.isArray(error.errors))
      safe.errors = error.errors.slice(0, 10).map((e) => serializeError(e, depth + 1));
  }
  return safe;
}

export function createLogger(
  level: string,
  bindings: Record<string, unknown> = {},
  destination?: DestinationStream,
): Logger {
  const options = { level, base: bindings, serializers: { err: serializeError } };
  return destination ? pino(options, destination) : pino(options);
}
