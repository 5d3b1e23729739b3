// A real cluster for tests and benchmarks: one business and N imServer processes
// (node dist/business/main.js, node dist/server/main.js) over one Redis, each on a free port,
// ready when its /health answers 200. Nodes can be killed with any signal and added while it runs.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./redis-server.js";

export interface ClusterOptions {
  redisUrl: string;
  /** A key prefix of its own, so clusters sharing a Redis do not see each other. */
  prefix: string;
  router: "partition" | "adapter";
  nodes: number;
  /** Extra environment for every process (IM_ADMINS, IM_ACK_TIMEOUT_MS, ...). */
  env?: Record<string, string>;
}

export interface ProcessHandle {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it printed (LOG_LEVEL=warn keeps this short), for a failing test's message. */
  output: string[];
  exited: Promise<number | null>;
}

export interface ImNodeHandle extends ProcessHandle {
  nodeId: string;
}

export interface TestCluster {
  business: ProcessHandle;
  nodes: ImNodeHandle[];
  /** Starts one more node (with `nodeId`, else im-<port>) and waits for its /health. */
  addNode(nodeId?: string): Promise<ImNodeHandle>;
  /** Sends `signal` and waits for the process to exit. */
  kill(node: ProcessHandle, signal?: NodeJS.Signals): Promise<void>;
  /** The node's herald_im_connections gauge. */
  connections(node: ImNodeHandle): Promise<number>;
  /** SIGTERM to every process still running, then waits for them (SIGKILL past a bound). */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

const script = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

function launch(name: string, path: string, url: string, port: number, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [script(path)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    if (output.length < 200) output.push(chunk.toString());
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { name, url, port, child, output, exited };
}

async function waitHealthy(handle: ProcessHandle): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  void handle.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(`${handle.url}/health`);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${handle.name} not healthy: ${handle.output.join("").slice(-2000)}`);
}

export async function startCluster(options: ClusterOptions): Promise<TestCluster> {
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
    IM_ROUTER: options.router,
    LOG_LEVEL: "warn",
    ...options.env,
  };
  const handles: ProcessHandle[] = [];

  const businessPort = await freePort();
  const business = launch(
    "business",
    "business/main.js",
    `http://127.0.0.1:${businessPort}`,
    businessPort,
    { ...base, BUSINESS_PORT: String(businessPort) },
  );
  handles.push(business);

  const startNode = async (nodeId?: string): Promise<ImNodeHandle> => {
    const port = await freePort();
    const id = nodeId ?? `im-${port}`;
    const handle = launch(id, "server/main.js", `http://127.0.0.1:${port}`, port, {
      ...base,
      IM_PORT: String(port),
      IM_NODE_ID: id,
    });
    handles.push(handle);
    return { ...handle, nodeId: id };
  };

  const stop = async () => {
    await Promise.all(
      handles.map(async (handle) => {
        if (handle.child.exitCode !== null || handle.child.signalCode !== null) return;
        handle.child.kill("SIGTERM");
        const timer = setTimeout(() => handle.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
        await handle.exited;
        clearTimeout(timer);
      }),
    );
  };

  try {
    const nodes = await Promise.all(Array.from({ length: options.nodes }, () => startNode()));
    await Promise.all([business, ...nodes].map(waitHealthy));
    return {
      business,
      nodes,
      async addNode(nodeId) {
        const node = await startNode(nodeId);
        await waitHealthy(node);
        nodes.push(node);
        return node;
      },
      async kill(node, signal = "SIGTERM") {
        node.child.kill(signal);
        await node.exited;
      },
      async connections(node) {
        const response = await fetch(`${node.url}/metrics`);
        const text = await response.text();
        const line = text.split("\n").find((l) => l.startsWith("herald_im_connections "));
        return Number(line?.split(" ")[1] ?? NaN);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
