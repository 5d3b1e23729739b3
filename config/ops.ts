// The operations endpoints of both roles, answered the same way: GET /health (200 ready, 503
// with the contract's error shape while the role cannot serve) and GET /metrics (the role's own
// prom-client registry, never the global one). Business mounts them on its Koa router, the
// imServer on its bare HTTP server (serveOps).
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { Logger } from "./logger.js";
import { processRegistry } from "./process-metrics.js";

export const OPS_PATHS = ["/health", "/metrics"] as const;

/** How long /health waits for the engine's ping before it calls the engine unreachable. */
const PING_TIMEOUT_MS = 1_000;

/** true when `engine` answers a ping within a second (a hung Redis never answers). */
export function engineProbe(engine: { ping(): Promise<void> }): () => Promise<boolean> {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((done) => {
      timer = setTimeout(() => done(false), PING_TIMEOUT_MS);
    });
    try {
      return await Promise.race([
        engine.ping().then(
          () => true,
          () => false,
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
}
export type OpsPath = (typeof OPS_PATHS)[number];

export interface OpsTarget {
  readonly registry: Registry;
  /** Why the role cannot serve now (e.g. "draining", "engine unreachable"); null when ready. */
  unready(): Promise<string | null>;
  /** Fields of every /health answer beyond its status (the imServer's nodeId). */
  readonly identity?: Readonly<Record<string, string>>;
  /** METRICS_TOKEN: when set, /metrics answers only `Authorization: Bearer <it>`. */
  readonly metricsToken?: string;
}

export interface OpsAnswer {
  status: number;
  contentType: string;
  body: string;
}

const JSON_TYPE = "application/json; charset=utf-8";

function failure(status: number, code: string, message: string, extra = {}): OpsAnswer {
  return {
    status,
    contentType: JSON_TYPE,
    body: JSON.stringify({ error: { code, message }, ...extra }),
  };
}

/** Compares in constant time, so the token cannot be guessed a byte at a time. */
function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = Buffer.from(authorization ?? "");
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** The answer to GET `path`; rejects when the registry cannot be read (the caller's 500). */
export async function answerOps(
  path: OpsPath,
  target: OpsTarget,
  authorization?: string,
): Promise<OpsAnswer> {
  if (path === "/health") {
    const why = await target.unready();
    if (why !== null) return failure(503, "unavailable", why, target.identity);
    return {
      status: 200,
      contentType: JSON_TYPE,
      body: JSON.stringify({ status: "ok", ...target.identity }),
    };
  }
  if (target.metricsToken !== undefined && !bearerMatches(authorization, target.metricsToken))
    return failure(401, "unauthorized", "metrics need the metrics token");
  // The role's own families, then the process's (distinct names, so the texts concatenate).
  const [own, processWide] = await Promise.all([
    target.registry.metrics(),
    processRegistry().metrics(),
  ]);
  return { status: 200, contentType: target.registry.contentType, body: own + processWide };
}

function isOpsPath(path: string): path is OpsPath {
  return (OPS_PATHS as readonly string[]).includes(path);
}

/** A request listener for a bare HTTP server: the ops endpoints, 404 for anything else. */
export function serveOps(
  target: OpsTarget,
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  const send = (res: ServerResponse, answer: OpsAnswer) => {
    res.writeHead(answer.status, { "content-type": answer.contentType });
    res.end(answer.body);
  };
  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    if (req.method !== "GET" || !isOpsPath(path)) {
      send(res, failure(404, "not_found", "no such resource"));
      return;
    }
    answerOps(path, target, req.headers.authorization).then(
      (answer) => send(res, answer),
      (err: unknown) => {
        logger.error({ err, path }, "ops endpoint failed");
        send(res, failure(500, "internal", "ops endpoint failed"));
      },
    );
  };
}
