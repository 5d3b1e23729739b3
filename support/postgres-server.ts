// Starts a private PostgreSQL for a test suite or a benchmark (Debian's `postgresql` package:
// initdb + pg_ctl in a temporary folder, on a free port of 127.0.0.1), so it can stop and restart
// it. A missing PostgreSQL fails the caller: PostgreSQL suites never skip. PostgreSQL refuses to
// run as root, so as root its commands run as the `postgres` user (runuser), who owns the folder.
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { childrenOf } from "./process-tree.js";
import pg from "pg";
import { freePort } from "./redis-server.js";

const run = promisify(execFile);

export interface TestPostgres {
  port: number;
  /** postgres://herald@127.0.0.1:<port>/herald (trust auth: no password). */
  url: string;
  /** Stops the server (immediate mode when `hard`: no checkpoint, as a crash), keeping its
   * data for a restart. */
  stop(hard?: boolean): Promise<void>;
  /** Starts it again on the same port, with everything it had committed. */
  start(): Promise<void>;
  /** SIGSTOP of the server and every backend: it hangs, its connections stay open and nothing
   * is answered (new connections wait in the listen queue). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** The running postmaster's pid (its backends are its children: a benchmark counts their CPU). */
  postmasterPid(): number;
  /** Creates an empty database (a Herald of its own) and resolves to its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/** The folder of initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin. */
function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(
      "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): " +
        "apt-get install postgresql",
    );
  return join(root, versions[0]!, "bin");
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL command, as the `postgres` user when this process is root. */
async function pgCommand(bin: string, args: string[]): Promise<void> {
  const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  try {
    await run(file, argv, { timeout: 60_000 });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${bin} ${args[0]} failed: ${stderr || stdout || String(error)}`, {
      cause: error,
    });
  }
}

/** initdb into a temporary folder and start on a free port; database and user `herald`. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), "herald-pg-"));
  const data = join(dir, "data");
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: group } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(group.trim()));
  }
  const port = await freePort();
  await pgCommand(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "herald",
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C",
    "--no-sync",
  ]).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c max_connections=200",
    // A test server: its data need not survive the machine, only a stop of the server (which
    // synchronous_commit, left on, guarantees for every commit, even in immediate mode).
    "-c fsync=off",
    "-c full_page_writes=off",
  ].join(" ");
  const start = () =>
    pgCommand(join(bin, "pg_ctl"), [
      "start",
      "-D",
      data,
      "-w",
      "-t",
      "30",
      "-l",
      join(dir, "log"),
      "-o",
      options,
    ]);
  const stop = async (hard = false) => {
    if (!existsSync(join(data, "postmaster.pid"))) return;
    await pgCommand(join(bin, "pg_ctl"), [
      "stop",
      "-D",
      data,
      "-w",
      "-m",
      hard ? "immediate" : "fast",
    ]);
  };
  const postmasterPid = () =>
    Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  let paused: number[] = [];
  // The postmaster first, so it forks no backend after its children are listed.
  const pause = () => {
    const postmaster = postmasterPid();
    process.kill(postmaster, "SIGSTOP");
    paused = [postmaster, ...childrenOf(postmaster)];
    for (const pid of paused.slice(1)) process.kill(pid, "SIGSTOP");
  };
  const resume = () => {
    for (const pid of paused.splice(0).reverse()) process.kill(pid, "SIGCONT");
  };
  const url = `postgres://herald@127.0.0.1:${port}/herald`;
  try {
    await start();
    await pgCommand(join(bin, "createdb"), [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "herald",
      "herald",
    ]);
  } catch (error) {
    // Nobody gets a handle to destroy: leave no server running and no folder behind.
    await stop(true).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url,
    stop,
    start,
    pause,
    resume,
    postmasterPid,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
      return url.replace(/\/herald$/, `/${encodeURIComponent(name)}`);
    },
    async destroy() {
      resume(); // a test that failed while it was paused
      await stop(true).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
