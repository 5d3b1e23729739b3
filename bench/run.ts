// npm run bench: issue #13's scenarios, Herald side by side with its peers, written to
// bench/results/ (<scenario>.json, <scenario>.svg, report.md).
//   node dist/bench/run.js [--quick] [--scenario push-direct,send] [--sides herald,ws] [--reps 3]
// --quick is a smoke run (small counts, ≤ 2 minutes); the default took about 7 minutes on 2
// cores (6 min 43–47 s in session 11). Every phase is bounded in count and time, and so is the
// whole run (30 min).
import { spawnSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FILE_LIMIT } from "./lib/proc.js";
import { sideResult, writeReport, writeScenario, type ScenarioResult } from "./lib/report.js";
import { SCALES, SCENARIOS } from "./scenarios.js";

// Raise the descriptor limit for this process and all it starts, once, by running again under
// the shell's ulimit (Node cannot set rlimits itself).
if (process.env.BENCH_ULIMIT_RAISED !== "1") {
  const raise = `ulimit -n ${FILE_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"`;
  const again = spawnSync(
    "sh",
    [
      "-c",
      `${raise}; exec "$0" "$@"`,
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    { stdio: "inherit", env: { ...process.env, BENCH_ULIMIT_RAISED: "1" } },
  );
  process.exit(again.status ?? 1);
}

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    scenario: { type: "string" },
    sides: { type: "string" },
    reps: { type: "string" },
  },
});
const scale = { ...SCALES[args.quick ? "quick" : "full"] };
if (args.reps) scale.reps = Number(args.reps);
const wanted = (list: string | undefined, name: string) =>
  list === undefined || list.split(",").includes(name);
const scenarios = SCENARIOS.filter((s) => wanted(args.scenario, s.name));
if (scenarios.length === 0) {
  console.error(`no such scenario; one of: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  process.exit(2);
}
const MAX_MS = (args.quick ? 6 : 30) * 60_000;
const out = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "results");
const command = `node dist/bench/run.js ${process.argv.slice(2).join(" ")}`.trim();
const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`;

/** One line on stderr, redrawn (a line per step when stderr is not a terminal). */
class Progress {
  private done = 0;
  private readonly started = Date.now();
  constructor(private readonly total: number) {}
  show(label: string, step = false): void {
    if (step) this.done++;
    const width = 24;
    const filled = Math.round((this.done / this.total) * width);
    const secs = Math.round((Date.now() - this.started) / 1000);
    const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${this.done}/${this.total} ${secs}s ${label}`;
    if (process.stderr.isTTY)
      process.stderr.write(`\r\x1b[K${line.slice(0, process.stderr.columns - 1)}`);
    else if (step) process.stderr.write(`${line}\n`);
  }
  end(): void {
    if (process.stderr.isTTY) process.stderr.write("\n");
  }
}

const plan = scenarios.map((s) => ({
  scenario: s,
  sides: s.sides.filter((n) => wanted(args.sides, n)),
}));
const progress = new Progress(plan.reduce((sum, p) => sum + p.sides.length * (1 + scale.reps), 0));
// Through process.exit, whose handler (lib/proc.ts) kills every process the run started.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    progress.end();
    process.exit(130);
  });
const watchdog = setTimeout(() => {
  progress.end();
  console.error(`bench: over ${MAX_MS / 60_000} minutes, giving up`);
  process.exit(1);
}, MAX_MS);
watchdog.unref();

const results: ScenarioResult[] = [];
for (const { scenario, sides } of plan) {
  const result: ScenarioResult = {
    scenario: scenario.name,
    title: scenario.title,
    chart: scenario.chart,
    date: new Date().toISOString(),
    command,
    quick: args.quick,
    machine,
    sides: [],
  };
  for (const side of sides) {
    const label = `${scenario.name} / ${side}`;
    progress.show(`${label}: setup`);
    let steps = 0;
    try {
      const reps = await scenario.run(side, scale, (what) => {
        steps++;
        progress.show(`${label}: ${what}`, true);
      });
      result.sides.push(sideResult(side, reps));
    } catch (err) {
      result.sides.push(sideResult(side, [], (err as Error).message.slice(0, 300)));
    }
    // A side that stopped early still moves the bar to where it should be.
    for (; steps < 1 + scale.reps; steps++) progress.show(`${label}: skipped`, true);
  }
  results.push(result);
  writeScenario(out, result);
  writeReport(
    out,
    SCENARIOS.map((s) => s.name),
  );
}
progress.end();

for (const result of results) {
  console.log(`\n${result.scenario}: ${result.title}`);
  console.table(
    Object.fromEntries(
      result.sides.map((s) => [
        s.side + (s.failed ? " (FAILED)" : ""),
        s.error ? { error: s.error } : s.median,
      ]),
    ),
  );
}
console.log(`\nwrote ${out}/report.md and one .json + .svg per scenario`);
// A failed side (a loss, a refusal, an error) fails the run.
process.exit(results.some((r) => r.sides.some((s) => s.failed)) ? 1 : 0);
