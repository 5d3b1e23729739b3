// The business HTTP app: security headers → metrics → errors → routes → web chat. No global
// state: everything comes from `deps`, so a test can build one on a fresh engine on port 0.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import Koa, { type Context, type Middleware } from "koa";
import type { Config } from "../config/index.js";
import type { Logger } from "../config/logger.js";
import { engineProbe } from "../config/ops.js";
import type { Engine } from "../engine/types.js";
import { createFileStorage } from "./files/index.js";
import { linkSecret, LinkSigner } from "./files/links.js";
import { FileService } from "./files/service.js";
import type { FileStorage } from "./files/storage.js";
import { errorMiddleware, HttpError } from "./http-error.js";
import { BusinessMetrics } from "./metrics.js";
import { DEFAULT_COST, type ScryptCost } from "./passwords.js";
import type { PushClient } from "./push-client.js";
import { OperatorNames } from "./operators.js";
import { StorageQuota } from "./quota.js";
import { RateLimits, rateRules, type RateRules } from "./rate-limits.js";
import { accountRoutes } from "./routes/accounts.js";
import { adminRoutes } from "./routes/admin.js";
import { ApiRouter } from "./routes/api-router.js";
import { blockRoutes } from "./routes/blocks.js";
import { channelRoutes } from "./routes/channels.js";
import { conversationRoutes } from "./routes/conversations.js";
import { docsRoutes } from "./routes/docs.js";
import { fileRoutes } from "./routes/files.js";
import { friendRoutes } from "./routes/friends.js";
import { messageRoutes } from "./routes/messages.js";
import { searchRoutes } from "./routes/search.js";
import { opsRoutes } from "./routes/ops.js";
import { presenceRoutes } from "./routes/presence.js";
import type { RouteDeps, Services } from "./routes/types.js";
import { AccountService } from "./services/accounts.js";
import { AdminService } from "./services/admin.js";
import { BlockService } from "./services/blocks.js";
import { ChannelAdminService } from "./services/channel-admin.js";
import { ChannelPushes } from "./services/channel-pushes.js";
import { ChannelService } from "./services/channels.js";
import { ConversationAccess } from "./services/conversation-access.js";
import type { ServiceDeps } from "./services/deps.js";
import { FriendService } from "./services/friends.js";
import { MessageChangeService } from "./services/message-changes.js";
import { MessageService } from "./services/messages.js";
import { PresenceService } from "./services/presence.js";
import { SearchService } from "./services/search.js";
import { ReadStateService } from "./services/read-state.js";
import { TypingService } from "./services/typing.js";
import { sessionMiddleware } from "./session.js";
import { securityHeaders, webMiddleware } from "./web.js";

/** Where `npm run build` puts the web chat: dist/web, next to dist/business. */
export const DEFAULT_WEB_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../web");

export interface AppDeps {
  config: Config;
  engine: Engine;
  logger: Logger;
  push: PushClient;
  metrics?: BusinessMetrics;
  /** Built by createApp when absent; startBusiness passes its own to start the event fan-out. */
  presence?: PresenceService;
  /** Built by createApp when absent; startBusiness passes its own to stop its timers on close. */
  channelPushes?: ChannelPushes;
  webRoot?: string;
  /** Replaces rules built from the config (tests: a short window, or a session limit off). */
  rates?: Partial<RateRules>;
  /** Lower only in tests: scrypt at full cost takes tens of ms per hash. */
  passwordCost?: ScryptCost;
  /** /health answers 503 while this is true. */
  isDraining?: () => boolean;
  /** Built from config.files when absent. */
  fileStorage?: FileStorage;
  /** The time file links expire by; tests move it by hand. */
  clock?: () => number;
}

export function buildServices(deps: ServiceDeps, app: AppDeps, rates: RateLimits): Services {
  const quota = new StorageQuota(deps.engine.limits, deps.config.quotaBytesPerDay);
  const operators = new OperatorNames(deps.config.admins);
  const files = new FileService({
    store: deps.engine.store,
    storage: app.fileStorage ?? createFileStorage(deps.config.files),
    limits: deps.engine.limits,
    links: new LinkSigner(
      linkSecret(deps.config.files, deps.config.redisUrl, deps.logger),
      app.clock,
    ),
    logger: deps.logger,
    config: deps.config.files,
    clock: app.clock,
  });
  const access = new ConversationAccess(deps, files);
  const friends = new FriendService(deps);
  const channelPushes = app.channelPushes ?? new ChannelPushes(deps);
  const channels = new ChannelService(deps, access, channelPushes, quota);
  return {
    accounts: new AccountService(deps, rates, operators, app.passwordCost ?? DEFAULT_COST),
    friends,
    blocks: new BlockService(deps, friends),
    messages: new MessageService(deps, access, quota),
    changes: new MessageChangeService(deps, access, quota),
    channels,
    channelAdmin: new ChannelAdminService(deps, access, channels, channelPushes),
    reads: new ReadStateService(deps, access),
    typing: new TypingService(deps, access),
    presence: app.presence ?? new PresenceService(deps),
    admin: new AdminService(deps, operators),
    search: new SearchService(deps, access),
    files,
  };
}

/** Whether the request carries a body: a Content-Length over 0, or a chunked one. */
function hasBody(ctx: Context): boolean {
  const length = ctx.get("Content-Length");
  return ctx.get("Transfer-Encoding") !== "" || (length !== "" && length !== "0");
}

/**
 * The JSON body parser. A body must say `application/json` (415 otherwise), so a foreign page's
 * `text/plain` or form POST, which a browser sends without asking, is refused unread. A body
 * whose Content-Encoding does not decode fails inside zlib, with no HTTP status: a 400 too.
 */
function jsonBody(): Middleware {
  const parse = bodyParser({ enableTypes: ["json"], jsonLimit: "1mb", jsonStrict: true });
  return async (ctx, next) => {
    if (hasBody(ctx) && !ctx.is("application/json"))
      throw new HttpError(415, "unsupported_media_type", "request bodies must be application/json");
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

/** Each app's described routes (the API description's tests walk them). */
const described = new WeakMap<Koa, ApiRouter>();

/** The routes `app` defined through its ApiRouter, and the @koa/router they are mounted on. */
export function describedRoutes(app: Koa): ApiRouter {
  return described.get(app)!;
}

export function createApp(deps: AppDeps): Koa {
  const metrics = deps.metrics ?? new BusinessMetrics();
  const serviceDeps: ServiceDeps = { ...deps, metrics };
  const rates = new RateLimits(deps.engine.limits, { ...rateRules(deps.config), ...deps.rates });
  const services = buildServices(serviceDeps, deps, rates);
  const engineUp = engineProbe(deps.engine);

  const routeDeps: RouteDeps = { services };
  const routes = new Router();
  const api = new ApiRouter(routes, {
    session: sessionMiddleware(deps.engine, rates),
    json: jsonBody(),
  });
  opsRoutes(routes, {
    metrics,
    engineUp,
    isDraining: deps.isDraining ?? (() => false),
    metricsToken: deps.config.metricsToken,
  });
  accountRoutes(api, routeDeps);
  friendRoutes(api, routeDeps);
  blockRoutes(api, routeDeps);
  messageRoutes(api, routeDeps);
  searchRoutes(api, routeDeps);
  channelRoutes(api, routeDeps);
  conversationRoutes(api, routeDeps);
  presenceRoutes(api, routeDeps);
  adminRoutes(api, routeDeps);
  fileRoutes(api, routeDeps);
  docsRoutes(api);

  const app = new Koa();
  described.set(app, api);
  // ctx.ip (the address rate limits key on) is the first X-Forwarded-For entry only behind a proxy.
  app.proxy = deps.config.trustProxy;
  // Only what escapes the error middleware lands here, e.g. a static file stream that fails
  // after its headers were sent, or a socket's HTTP parse error. Never the whole error: a parse
  // error carries the raw request (`rawPacket`), Authorization header and bearer token included.
  app.on("error", (err: unknown) => {
    const { name, code, message } = (err ?? {}) as Record<string, unknown>;
    deps.logger.warn({ error: { name, code, message } }, "response failed");
  });
  app.use(securityHeaders());
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
