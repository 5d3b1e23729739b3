// Starts a private three-master Redis Cluster on free ports for a suite. A missing redis-server or
// redis-cli fails the suite: cluster suites never skip.
import { execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort, spawnRedisServer } from "../../support/redis-server.js";

const run = promisify(execFile);

export interface TestRedisCluster {
  ports: number[];
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3` */
  url: string;
  /** Stops every node and removes their data. */
  destroy(): Promise<void>;
}

const START_MS = 10_000;

function startNode(port: number, dir: string): Promise<ChildProcess> {
  return spawnRedisServer(port, [
    "--dir",
    dir,
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    join(dir, `nodes-${port}.conf`),
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
}

async function cli(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("redis-cli", args, { timeout: START_MS });
    return stdout;
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (err.code === "ENOENT")
      throw new Error("cannot run redis-cli (install it: apt-get install redis-tools)", {
        cause: error,
      });
    throw new Error(`redis-cli ${args.join(" ")} failed: ${err.message} ${err.stdout ?? ""}`, {
      cause: error,
    });
  }
}

/** Waits until every node reports cluster_state:ok (the slots are spread and gossiped). */
async function waitForOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + START_MS;
  for (;;) {
    const infos = await Promise.all(
      ports.map((port) => cli("-h", "127.0.0.1", "-p", String(port), "cluster", "info")),
    );
    if (infos.every((info) => info.includes("cluster_state:ok"))) return;
    if (Date.now() > deadline)
      throw new Error(`the cluster on ${ports.join(",")} is not ok after ${START_MS} ms`);
    await sleep(50);
  }
}

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "herald-cluster-"));
  const children: ChildProcess[] = [];
  const destroy = async () => {
    await Promise.all(
      children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    // Distinct ports (freePort may hand out one twice); a cluster bus port is port + 10000.
    while (ports.length < 3) {
      const port = await freePort();
      if (port <= 55_535 && !ports.includes(port)) ports.push(port);
    }
    for (const port of ports) children.push(await startNode(port, dir));
    const seeds = ports.map((port) => `127.0.0.1:${port}`);
    await cli("--cluster", "create", ...seeds, "--cluster-replicas", "0", "--cluster-yes");
    await waitForOk(ports);
    return { ports, url: `redis+cluster://${seeds.join(",")}`, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}
