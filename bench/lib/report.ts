// Results: bench/results/<scenario>.json (every rep), <scenario>.svg (a bar chart of the
// scenario's headline figure, medians) and report.md (a table per scenario, rebuilt from every
// <scenario>.json present, so running one scenario refreshes its part of the report).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Figures, RepResult, Scenario } from "../scenarios.js";
import { median } from "./stats.js";

export interface SideResult {
  side: string;
  reps: RepResult[];
  /** Medians over the reps, figure by figure. */
  median: Figures;
  /** A failed rep fails its side: a loss is never averaged away. */
  failed: boolean;
  /** The run could not finish this side at all. */
  error?: string;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  chart: Scenario["chart"];
  date: string;
  command: string;
  quick: boolean;
  machine: string;
  sides: SideResult[];
}

export function sideResult(side: string, reps: RepResult[], error?: string): SideResult {
  const names = [...new Set(reps.flatMap((r) => Object.keys(r.figures)))];
  const med: Figures = {};
  for (const name of names) med[name] = median(reps.map((r) => r.figures[name] ?? NaN));
  return {
    side,
    reps,
    median: med,
    failed: error !== undefined || reps.some((r) => r.failures.length > 0),
    ...(error !== undefined && { error }),
  };
}

const COLORS = ["#3b6ea8", "#e0a030", "#6aa84f", "#a64d79"];

/** A horizontal bar per side, stacked from the chart's parts (medians). */
export function svgChart(result: ScenarioResult): string {
  const { stack, title } = result.chart;
  const labelWidth = 190;
  const barArea = 380;
  const rowHeight = 28;
  const top = 48;
  const rows = result.sides.filter((s) => !s.error);
  const total = (s: SideResult) => stack.reduce((sum, part) => sum + (s.median[part] ?? 0), 0);
  const max = Math.max(1e-9, ...rows.map(total));
  const height = top + rows.length * rowHeight + (stack.length > 1 ? 34 : 14);
  const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + barArea + 110}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="8" y="18" font-size="14" font-weight="bold">${esc(result.title)}</text>`,
    `<text x="8" y="36" fill="#555">${esc(title)}, median of ${rows[0]?.reps.length ?? 0} reps${result.quick ? " (quick smoke run)" : ""}</text>`,
  ];
  rows.forEach((side, i) => {
    const y = top + i * rowHeight;
    parts.push(
      `<text x="8" y="${y + 15}">${esc(side.side)}${side.failed ? " (FAILED)" : ""}</text>`,
    );
    let x = labelWidth;
    stack.forEach((part, j) => {
      const width = ((side.median[part] ?? 0) / max) * barArea;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${width.toFixed(1)}" height="18" fill="${COLORS[j % COLORS.length]}"/>`,
      );
      x += width;
    });
    parts.push(`<text x="${(x + 6).toFixed(1)}" y="${y + 15}">${format(total(side))}</text>`);
  });
  if (stack.length > 1) {
    let x = 8;
    const y = top + rows.length * rowHeight + 14;
    stack.forEach((part, j) => {
      parts.push(
        `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[j % COLORS.length]}"/>`,
      );
      parts.push(`<text x="${x + 16}" y="${y}">${esc(part)}</text>`);
      x += 30 + part.length * 7;
    });
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function format(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  return String(Math.round(value * 100) / 100);
}

function markdown(result: ScenarioResult): string {
  const names = [...new Set(result.sides.flatMap((s) => Object.keys(s.median)))];
  const lines = [
    `## ${result.scenario}: ${result.title}`,
    "",
    `${result.date}, \`${result.command}\`${result.quick ? " — **quick smoke run**" : ""}; ${result.machine}. Medians of the reps; ![chart](${result.scenario}.svg)`,
    "",
    `| side | status | ${names.join(" | ")} |`,
    `| --- | --- | ${names.map(() => "---").join(" | ")} |`,
  ];
  for (const side of result.sides) {
    const status = side.error ? `error: ${side.error}` : side.failed ? "FAILED" : "ok";
    lines.push(
      `| ${side.side} | ${status} | ${names.map((n) => format(side.median[n])).join(" | ")} |`,
    );
  }
  const failures = result.sides.flatMap((s) =>
    s.reps.flatMap((r, i) => r.failures.map((f) => `- ${s.side}, rep ${i + 1}: ${f}`)),
  );
  if (failures.length > 0) lines.push("", "Failures:", "", ...failures);
  return lines.join("\n");
}

export function writeScenario(dir: string, result: ScenarioResult): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${result.scenario}.json`), JSON.stringify(result, null, 2) + "\n");
  writeFileSync(join(dir, `${result.scenario}.svg`), svgChart(result));
}

/** report.md from every scenario's latest JSON, in the scenarios' order. */
export function writeReport(dir: string, order: string[]): string {
  const sections = order
    .map((name) => join(dir, `${name}.json`))
    .filter(existsSync)
    .map((file) => markdown(JSON.parse(readFileSync(file, "utf8")) as ScenarioResult));
  const text = [
    "# Herald benchmark report",
    "",
    "Written by `npm run bench` (bench/run.ts); the method is in README.md, section Benchmarks.",
    "CPU is µs per delivery (or request) summed over every server process and redis-server (and",
    "PostgreSQL's postmaster and backends for herald-postgres);",
    "latencies in ms from the publisher's timestamp to the client's receipt.",
    "",
    ...sections.flatMap((s) => [s, ""]),
  ].join("\n");
  writeFileSync(join(dir, "report.md"), text);
  return join(dir, "report.md");
}
