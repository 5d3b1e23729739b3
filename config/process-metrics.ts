// Node's own process metrics for both roles' GET /metrics: CPU, memory, handles, event-loop
// delay (nodejs_eventloop_lag_*) and GC pauses (nodejs_gc_duration_seconds{kind}), the figures
// that tell an operator (and bench/) whether a slow request was the process stalling.
import { collectDefaultMetrics, Registry } from "prom-client";

let shared: Registry | undefined;

/**
 * The one registry of this process's metrics, made on first use. prom-client's default
 * collectors cannot be stopped (each set is an event-loop delay monitor and a GC observer), so
 * every role in a process (one process runs both when nothing is configured; the tests start
 * hundreds) shares one set instead of adding its own. The event-loop delay figures cover the
 * time since the previous scrape of any endpoint in the process (prom-client resets them).
 */
export function processRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
