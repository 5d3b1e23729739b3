// npm run bench:faults: the scenarios of test/faults.test.ts (support/fault-scenarios.ts), run
// longer and with more users, one table row per fault. Writes bench/results/faults.json.
import { mkdirSync, writeFileSync } from "node:fs";
import type { FaultResult } from "../support/fault-load.js";
import {
  connectStorm,
  imServerFails,
  redisFails,
  slowConsumer,
  startRig,
} from "../support/fault-scenarios.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const users = option("users", 30);
const loadMs = option("load-ms", 8_000);
const storm = option("storm", 2_000);

const rig = await startRig({ users, tag: `bench${process.pid % 10_000}` });
const results: FaultResult[] = [];
try {
  const run = async (scenario: () => Promise<FaultResult>) => {
    const result = await scenario();
    results.push(result);
    console.log(JSON.stringify(result));
  };
  await run(() => imServerFails(rig, "SIGKILL", loadMs));
  await run(() => imServerFails(rig, "SIGTERM", loadMs));
  // Longer than the 6 s membership TTL: every node re-registers and writes its presence again.
  await run(() => redisFails(rig, "hang", 8_000, loadMs));
  await run(() => redisFails(rig, "restart", 3_000, loadMs));
  await run(() => slowConsumer(rig, 30_000));
  await run(() => connectStorm(rig, storm));
} finally {
  await rig.close();
}

const cell = (value: unknown) => String(value ?? "–");
const rows = results.map((r) => [
  r.fault,
  r.tried,
  r.sent,
  r.accepted,
  Object.entries(r.refused)
    .map(([status, n]) => `${n}×${status}`)
    .join(" ") || "0",
  r.expected,
  r.received,
  r.missing,
  `${r.duplicatesShown} / ${r.rawDuplicates}`,
  r.recoveryMs === null ? "–" : `${r.recoveryMs} ms`,
  `${r.memoryMb} MB`,
  Object.entries(r.notes)
    .map(([k, v]) => `${k}=${v}`)
    .join(", "),
]);
const header = [
  "fault",
  "what was tried",
  "sent",
  "202",
  "refused",
  "deliveries due",
  "received",
  "missing",
  "duplicates shown / pushed",
  "recovery",
  "imServer RSS",
  "notes",
];
console.log(`\n| ${header.join(" | ")} |\n| ${header.map(() => "---").join(" | ")} |`);
for (const row of rows) console.log(`| ${row.map(cell).join(" | ")} |`);
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/faults.json", JSON.stringify(results, null, 2));
