// Where a phase's latency tail went: each Herald process's event-loop delay and GC pauses over
// the phase (from its own GET /metrics: config/process-metrics.ts), business's own time for the
// requests it answered (its request-duration histogram), and the load generator's event-loop
// delay (it shares the cores, and a request it is late to read looks slow). Read before and
// after a phase; the figures are the differences.
import { monitorEventLoopDelay } from "node:perf_hooks";

/** One family's samples that carry every label in `labels`, summed; 0 when there are none. */
export function promValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map(
      [...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(match[3]);
  }
  return sum;
}

export interface StallFigures {
  /** Business's own share of the phase's sends (POST /api/messages, 202) that took over 25 ms. */
  serverOver25msPct: number;
  /** The bound of business's histogram bucket that holds its 99th percentile of those sends. */
  serverP99AtMostMs: number;
  /** The longest event-loop stall over the phase, per process (business, imServer, load). */
  loopMaxMs: Record<string, number>;
  /** GC pause time over the phase, per Herald process, and how many were mark-compacts. */
  gcMs: Record<string, number>;
  majorGcs: Record<string, number>;
}

/** Both monitors sample every 10 ms (prom-client's default) and record the whole interval
 * between samples, so a loop that never blocks reads 10: a stall is what exceeds it. */
const RESOLUTION_MS = 10;
const stall = (intervalNs: number) => Math.max(0, intervalNs / 1e6 - RESOLUTION_MS);

const SEND = { method: "POST", route: "/api/messages", status: "202" };
const BUSINESS_HIST = "herald_business_http_request_duration_seconds";

/** The histogram's bucket bounds as the scrape prints them (`le`), ascending, without +Inf. */
function bucketBounds(text: string): string[] {
  const bounds = new Set<string>();
  for (const m of text.matchAll(new RegExp(`^${BUSINESS_HIST}_bucket\\{[^}]*le="([^"]+)"`, "gm")))
    if (m[1] !== "+Inf") bounds.add(m[1]!);
  return [...bounds].sort((a, b) => Number(a) - Number(b));
}

/** Starts watching; `urls` names each Herald process's base URL (its /metrics). */
export async function watchStalls(
  urls: Record<string, string>,
): Promise<() => Promise<StallFigures>> {
  const scrape = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(urls).map(async ([name, url]) => [
          name,
          await (await fetch(`${url}/metrics`)).text(),
        ]),
      ),
    ) as Record<string, string>;
  // This scrape also resets each process's event-loop delay histogram (prom-client does).
  const before = await scrape();
  const load = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  load.enable();
  return async () => {
    load.disable();
    const after = await scrape();
    const delta = (name: string, metric: string, labels?: Record<string, string>) =>
      promValue(after[name]!, metric, labels) - promValue(before[name]!, metric, labels);
    const figures: StallFigures = {
      serverOver25msPct: NaN,
      serverP99AtMostMs: NaN,
      loopMaxMs: { load: stall(load.max) },
      gcMs: {},
      majorGcs: {},
    };
    for (const name of Object.keys(urls)) {
      figures.loopMaxMs[name] = stall(
        promValue(after[name]!, "nodejs_eventloop_lag_max_seconds") * 1e9,
      );
      figures.gcMs[name] = delta(name, "nodejs_gc_duration_seconds_sum") * 1e3;
      figures.majorGcs[name] = delta(name, "nodejs_gc_duration_seconds_count", { kind: "major" });
      const sends = delta(name, `${BUSINESS_HIST}_count`, SEND);
      if (sends > 0) {
        const within = (le: string) => delta(name, `${BUSINESS_HIST}_bucket`, { ...SEND, le });
        figures.serverOver25msPct = (100 * (sends - within("0.025"))) / sends;
        const p99 = bucketBounds(after[name]!).find((le) => within(le) >= 0.99 * sends);
        figures.serverP99AtMostMs = p99 === undefined ? Infinity : Number(p99) * 1e3;
      }
    }
    return figures;
  };
}
