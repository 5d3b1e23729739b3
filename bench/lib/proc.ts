// Processes of a benchmark run: every child is started under a raised `ulimit -n` (2,000 sockets
// per process need more than the usual 1,024 descriptors), and measured from the outside through
// /proc, so a server's figures never depend on code inside it, Herald's or a peer's.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { childrenOf } from "../../support/process-tree.js";
import { fileURLToPath } from "node:url";

/** The descriptor limit asked for; the hard limit when it is lower. */
export const FILE_LIMIT = 20_000;
const RAISE = `ulimit -n ${FILE_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"`;

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Every process a run started and has not stopped: killed if the run itself ends early. */
const running = new Set<number>();
export function track(pid: number): () => void {
  running.add(pid);
  return () => running.delete(pid);
}
process.once("exit", () => {
  for (const pid of running) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

export interface Launched {
  name: string;
  child: ChildProcess;
  /** Everything it printed, capped, for the error when it fails to start. */
  output: string[];
  exited: Promise<number | null>;
}

/**
 * Runs `node <script>` (a path relative to dist/bench/) under the raised limit, with an IPC
 * channel: `sh -c 'ulimit …; exec node …'` keeps the pid (exec), so /proc reads the node process.
 * BENCH_PROFILE=<dir> writes a V8 CPU profile of every server process there (on its exit).
 */
export function launch(name: string, script: string, env: Record<string, string> = {}): Launched {
  const path = fileURLToPath(new URL(`../${script}`, import.meta.url));
  const profile = process.env.BENCH_PROFILE;
  const flags =
    profile && script !== "load-clients.js" ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [];
  const child = spawn("sh", ["-c", `${RAISE}; exec "$0" "$@"`, process.execPath, ...flags, path], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    if (output.length < 100) output.push(chunk.toString());
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const untrack = track(child.pid!);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      untrack();
      resolve(code);
    }),
  );
  return { name, child, output, exited };
}

/** Stops a launched process (SIGTERM, SIGKILL past `ms`) and waits for it. */
export async function stop(launched: Launched, ms = 5_000): Promise<void> {
  const { child } = launched;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  await launched.exited;
  clearTimeout(timer);
}

/** The URL a forked child (Herald, or the bare peer) reports once it listens. */
export function listening(child: ChildProcess): Promise<{ url: string }> {
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m as { url: string }));
    child.once("exit", (code) => reject(new Error(`child exited (${code})`)));
  });
}

/** Waits for the first IPC message of `type` from the child, bounded by `ms`. */
export function nextMessage<T extends { type: string }>(
  launched: Launched,
  type: T["type"],
  ms = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`${launched.name}: ${why}: ${launched.output.join("").slice(-1500)}`));
    };
    const timer = setTimeout(() => fail(`no ${type} within ${ms} ms`), ms);
    const onMessage = (message: T) => {
      if (message?.type !== type) return;
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null) => fail(`exited (${code}) before ${type}`);
    const cleanup = () => {
      clearTimeout(timer);
      launched.child.off("message", onMessage);
      launched.child.off("exit", onExit);
    };
    launched.child.on("message", onMessage);
    launched.child.once("exit", onExit);
  });
}

/** Sends `request` and waits for the reply of `type`. */
export function ask<T extends { type: string }>(
  launched: Launched,
  request: object,
  type: T["type"],
  ms = 60_000,
): Promise<T> {
  const reply = nextMessage<T>(launched, type, ms);
  launched.child.send(request);
  return reply;
}

/** Waits until `url` answers 200, bounded by `ms` (and failing at once if the process exits). */
export async function waitHealthy(launched: Launched, url: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && launched.child.exitCode === null) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${launched.name} not healthy: ${launched.output.join("").slice(-1500)}`);
}

/** CPU time (user + system) the process has used, in µs, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  return stat(pid).own;
}

/** utime, stime, cutime, cstime of /proc/<pid>/stat, in µs. */
function stat(pid: number): { own: number; reaped: number } {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  // After "pid (comm) " the state is field 3; utime, stime, cutime, cstime (fields 14–17) are
  // 11–14 here.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const us = (i: number) => (Number(fields[i]) * 1e6) / CLK_TCK;
  return { own: us(11) + us(12), reaped: us(13) + us(14) };
}

/**
 * CPU µs of a process and of all its children, live or gone: its own time, the time of the
 * children it has reaped (cutime + cstime: PostgreSQL's postmaster waits for every backend that
 * ends) and that of each live child (found by its parent pid in /proc).
 */
export function familyCpuMicros(pid: number): number {
  const parent = stat(pid);
  let total = parent.own + parent.reaped;
  for (const child of childrenOf(pid)) {
    try {
      total += stat(child).own;
    } catch {
      // ended since it was listed: its time is now in the parent's cutime
    }
  }
  return Math.round(total);
}

/** Resident set size in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Epoch ms with sub-ms resolution; every process on one machine reads the same clock. */
export const now = () => performance.timeOrigin + performance.now();
