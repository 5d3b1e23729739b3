// `REDIS_URL=… [DATABASE_URL=…] npm run cluster -- --nodes N [--business M]`: M business
// instances (BUSINESS_PORT … BUSINESS_PORT+M-1, behind whatever load balancer you put in front)
// and N imServer nodes (IM_PORT … IM_PORT+N-1, node ids im-<port>) as child processes over one
// Redis and, with DATABASE_URL, one PostgreSQL holding the store: the production layout. Each
// line of their output is prefixed by its role. Ctrl-C or SIGTERM drains them all (SIGTERM to
// each, then a bounded wait) and exits 0.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** How long the children may take to drain before they are killed. */
const STOP_TIMEOUT_MS = 15_000;
const MAX_NODES = 64;

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
}

function fail(message: string): never {
  process.stderr.write(`cluster: ${message}\n`);
  process.exit(1);
}

/** `--nodes N` (default 2) and `--business M` (default 1), each as `--x N` or `--x=N`. */
function parseCounts(argv: readonly string[]): { nodes: number; business: number } {
  const counts = { nodes: 2, business: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split("=", 2) as [string, string | undefined];
    const name = flag === "--nodes" ? "nodes" : flag === "--business" ? "business" : null;
    if (name === null)
      fail(`unknown argument ${arg} (usage: npm run cluster -- --nodes N --business M)`);
    counts[name] = Number(inline ?? argv[++i]);
  }
  for (const name of ["nodes", "business"] as const)
    if (!Number.isInteger(counts[name]) || counts[name] < 1 || counts[name] > MAX_NODES)
      fail(`--${name} must be an integer from 1 to ${MAX_NODES}`);
  return counts;
}

function prefixLines(
  stream: NodeJS.ReadableStream | null,
  prefix: string,
  out: NodeJS.WriteStream,
) {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
    out.write(`${prefix} ${line}\n`);
  });
}

function start(name: string, script: string, env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  prefixLines(child.stdout, `[${name}]`, process.stdout);
  prefixLines(child.stderr, `[${name}]`, process.stderr);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { name, process: child, exited };
}

function main(): void {
  const { nodes, business } = parseCounts(process.argv.slice(2));
  if (!process.env.REDIS_URL)
    fail(
      "REDIS_URL is required: the nodes share state and push commands through Redis, e.g.\n" +
        "  REDIS_URL=redis://127.0.0.1:6379 npm run cluster -- --nodes 3",
    );
  const basePort = Number(process.env.IM_PORT ?? 6001);
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + nodes - 1 > 65535)
    fail("IM_PORT must be a port number with room for every node after it");
  const businessPort = Number(process.env.BUSINESS_PORT ?? 5555);
  if (!Number.isInteger(businessPort) || businessPort < 1 || businessPort + business - 1 > 65535)
    fail("BUSINESS_PORT must be a port number with room for every business instance after it");

  // Each node gets its own port and id; a URL set for the whole cluster would be wrong for all.
  const shared: NodeJS.ProcessEnv = { ...process.env };
  delete shared.IM_PUBLIC_URL;
  delete shared.IM_NODE_ID;
  const children: Child[] = [];
  for (let i = 0; i < business; i++)
    children.push(
      start(business === 1 ? "business" : `business-${businessPort + i}`, "./business/main.js", {
        ...shared,
        BUSINESS_PORT: String(businessPort + i),
      }),
    );
  for (let i = 0; i < nodes; i++) {
    const port = basePort + i;
    children.push(
      start(`im-${port}`, "./server/main.js", {
        ...shared,
        IM_PORT: String(port),
        IM_NODE_ID: `im-${port}`,
      }),
    );
  }

  let stopping = false;
  for (const child of children) {
    child.process.once("exit", (code, signal) => {
      if (stopping) return;
      process.stderr.write(`[cluster] ${child.name} exited (${signal ?? `code ${code}`})\n`);
      if (children.every((c) => c.process.exitCode !== null || c.process.signalCode !== null))
        process.exit(1);
    });
  }

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`[cluster] ${signal}: stopping ${children.length} processes\n`);
    for (const child of children)
      if (child.process.exitCode === null) child.process.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const child of children) child.process.kill("SIGKILL");
    }, STOP_TIMEOUT_MS);
    void Promise.all(children.map((c) => c.exited)).then(() => {
      clearTimeout(timer);
      process.stdout.write("[cluster] stopped\n");
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.stdout.write(
    `[cluster] ${business} business instance(s) on ${businessPort}…${businessPort + business - 1}, ` +
      `${nodes} imServer node(s) on ${basePort}…${basePort + nodes - 1}, store in ` +
      `${process.env.DATABASE_URL ? "PostgreSQL" : "Redis"}\n`,
  );
}

main();
