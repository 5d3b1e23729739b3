// The business HTTP app: errors → metrics → routes → web chat. No global state: everything comes
// from `deps`, so a test can build one on a fresh engine and listen on port 0.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import Koa, { type Middleware } from "koa";
import type { Config } from "../config/index.js";
import type { Logger } from "../config/logger.js";
import { engineProbe } from "../config/ops.js";
import type { Engine } from "../engine/types.js";
import { errorMiddleware, HttpError } from "./http-error.js";
import { BusinessMetrics } from "./metrics.js";
import { DEFAULT_COST, type ScryptCost } from "./passwords.js";
import type { PushClient } from "./push-client.js";
import {
  FailureLimiter,
  TokenBucketLimiter,
  type BucketOptions,
  type Clock,
  type FailureOptions,
} from "./rate-limiter.js";
import { accountRoutes } from "./routes/accounts.js";
import { adminRoutes } from "./routes/admin.js";
import { channelRoutes } from "./routes/channels.js";
import { friendRoutes } from "./routes/friends.js";
import { messageRoutes } from "./routes/messages.js";
import { opsRoutes } from "./routes/ops.js";
import { presenceRoutes } from "./routes/presence.js";
import type { RouteDeps, Services } from "./routes/types.js";
import { AccountService } from "./services/accounts.js";
import { AdminService } from "./services/admin.js";
import { ChannelService } from "./services/channels.js";
import type { ServiceDeps } from "./services/deps.js";
import { FriendService } from "./services/friends.js";
import { MessageService } from "./services/messages.js";
import { PresenceService } from "./services/presence.js";
import { sessionMiddleware } from "./session.js";
import { webMiddleware } from "./web.js";

/** Where `npm run build` puts the web chat: dist/web, next to dist/business. */
export const DEFAULT_WEB_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../web");

/** Burst 60, then 30/s: the contract's 20 req/s per session never waits. */
export const DEFAULT_SESSION_LIMIT: BucketOptions = { burst: 60, perSecond: 30 };
/** The 11th failed login for one username within a minute is refused. */
export const DEFAULT_LOGIN_LIMIT: FailureOptions = { max: 10, windowMs: 60_000 };

export interface AppDeps {
  config: Config;
  engine: Engine;
  logger: Logger;
  push: PushClient;
  metrics?: BusinessMetrics;
  /** Built by createApp when absent; startBusiness passes its own to start the event fan-out. */
  presence?: PresenceService;
  webRoot?: string;
  sessionLimit?: BucketOptions;
  loginLimit?: FailureOptions;
  /** Time for the rate limiters; tests move it by hand. */
  clock?: Clock;
  /** Lower only in tests: scrypt at full cost takes tens of ms per hash. */
  passwordCost?: ScryptCost;
  /** /health answers 503 while this is true. */
  isDraining?: () => boolean;
}

export function buildServices(deps: ServiceDeps, app: AppDeps): Services {
  const loginFailures = new FailureLimiter(app.loginLimit ?? DEFAULT_LOGIN_LIMIT, app.clock);
  return {
    accounts: new AccountService(deps, loginFailures, app.passwordCost ?? DEFAULT_COST),
    friends: new FriendService(deps),
    messages: new MessageService(deps),
    channels: new ChannelService(deps),
    presence: app.presence ?? new PresenceService(deps),
    admin: new AdminService(deps),
  };
}

/**
 * The JSON body parser. Any body on these routes is read as JSON whatever its Content-Type says:
 * the API speaks JSON only, and a form-encoded body then fails loudly as invalid_json. A body
 * whose Content-Encoding does not decode fails inside zlib, with no HTTP status: a 400 too.
 */
function jsonBody(): Middleware {
  const parse = bodyParser({
    enableTypes: ["json"],
    jsonLimit: "1mb",
    jsonStrict: true,
    detectJSON: () => true,
  });
  return async (ctx, next) => {
    let parsed = false;
    try {
      await parse(ctx, () => {
        parsed = true;
        return next();
      });
    } catch (err) {
      // After parsing, or a parser error with a status (413, bad JSON): errorMiddleware maps it.
      const status = (err as { status?: unknown } | null)?.status;
      if (parsed || typeof status === "number") throw err;
      throw new HttpError(400, "invalid_json", "the body's Content-Encoding does not decode");
    }
  };
}

export function createApp(deps: AppDeps): Koa {
  const metrics = deps.metrics ?? new BusinessMetrics();
  const serviceDeps: ServiceDeps = { ...deps, metrics };
  const services = buildServices(serviceDeps, deps);
  const engineUp = engineProbe(deps.engine);
  const limiter = new TokenBucketLimiter(deps.sessionLimit ?? DEFAULT_SESSION_LIMIT, deps.clock);

  const routeDeps: RouteDeps = {
    services,
    session: sessionMiddleware(deps.engine, limiter),
    json: jsonBody(),
  };

  const routes = new Router();
  opsRoutes(routes, { metrics, engineUp, isDraining: deps.isDraining ?? (() => false) });
  accountRoutes(routes, routeDeps);
  friendRoutes(routes, routeDeps);
  messageRoutes(routes, routeDeps);
  channelRoutes(routes, routeDeps);
  presenceRoutes(routes, routeDeps);
  adminRoutes(routes, routeDeps);

  const app = new Koa();
  // Only what escapes the error middleware lands here, e.g. a static file stream that fails
  // after its headers were sent, or a socket's HTTP parse error. Never the whole error: a parse
  // error carries the raw request (`rawPacket`), Authorization header and bearer token included.
  app.on("error", (err: unknown) => {
    const { name, code, message } = (err ?? {}) as Record<string, unknown>;
    deps.logger.warn({ error: { name, code, message } }, "response failed");
  });
  app.use(metrics.middleware());
  // A Redis error (OOM, timeout, closed connection) is an outage at once; anything else is one
  // only if the engine stopped answering.
  app.use(
    errorMiddleware(deps.logger, async (err) => deps.engine.isOutage(err) || !(await engineUp())),
  );
  app.use(routes.routes());
  app.use(routes.allowedMethods());
  const [files, fallback] = webMiddleware(deps.webRoot ?? DEFAULT_WEB_ROOT);
  app.use((ctx, next) => (ctx.path.startsWith("/api/") ? next() : files!(ctx, next)));
  app.use(fallback!);
  return app;
}
