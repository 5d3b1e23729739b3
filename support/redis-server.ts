// Starts a private redis-server on a free port for a test suite or a benchmark, so it can kill
// and restart it. A missing redis-server fails the caller: Redis suites never skip.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export interface TestRedis {
  port: number;
  url: string;
  /** Stops the server (SIGKILL when `hard`), keeping its data directory for a restart. */
  stop(hard?: boolean): Promise<void>;
  /** Starts it again on the same port; with `persist`, it reloads what it had saved. */
  start(): Promise<void>;
  /** SIGSTOP: the server hangs, its connections stay open and nothing is answered. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/** Runs `redis-server` on `port` with `args`; resolves once it accepts connections. */
export function spawnRedisServer(port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => reject(new Error(`redis-server on ${port} did not start: ${output}`)),
      10_000,
    );
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on ${port} exited with ${code}: ${output}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.off("exit", onExit);
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(
        new Error(
          `cannot run redis-server (install it: apt-get install redis-server): ${err.message}`,
        ),
      );
    });
    child.once("exit", onExit);
  });
}

/**
 * Starts redis-server with `extraArgs`. With `persist`, it writes an append-only file on every
 * write, so a restart keeps all data (used by the restart tests).
 */
export async function startRedis(
  options: { persist?: boolean; extraArgs?: string[] } = {},
): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "herald-redis-"));
  const args = [
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    options.persist ? "yes" : "no",
    "--appendfsync",
    "always",
    ...(options.extraArgs ?? []),
  ];
  let child: ChildProcess | null = null;

  const start = async () => {
    child = await spawnRedisServer(port, args);
  };
  const stop = async (hard = false) => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve());
      running.kill(hard ? "SIGKILL" : "SIGTERM");
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
    async destroy() {
      await stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
