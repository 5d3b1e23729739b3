// The business role: the HTTP API, its push client and the presence fan-out, listening on
// config.host:config.businessPort (0 picks a free port).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type Koa from "koa";
import type { Registry } from "prom-client";
import type { Config } from "../config/index.js";
import type { Logger } from "../config/logger.js";
import type { Engine } from "../engine/types.js";
import { createApp, type AppDeps } from "./app.js";
import { BusinessMetrics } from "./metrics.js";
import { createOperator } from "./operators.js";
import { DEFAULT_COST } from "./passwords.js";
import { PushClient } from "./push-client.js";
import { PresenceService } from "./services/presence.js";
import { interimUnreadTotal } from "./webhook/unread.js";
import { createWebhookQueue, Webhook } from "./webhook/webhook.js";

export interface BusinessOptions {
  config: Config;
  engine: Engine;
  logger: Logger;
}

export interface Business {
  app: Koa;
  push: PushClient;
  port: number;
  url: string;
  registry: Registry;
  /** Stops accepting, lets in-flight requests finish (bounded), stops the push client. */
  close(): Promise<void>;
}

/** How long close() waits for in-flight requests before cutting their connections. */
const DRAIN_MS = 5_000;

export async function startBusiness(
  opts: BusinessOptions & Partial<Omit<AppDeps, "config" | "engine" | "logger" | "push">>,
): Promise<Business> {
  const { config, engine, logger } = opts;
  const metrics = opts.metrics ?? new BusinessMetrics();
  // Only with IM_WEBHOOK_URL are the nodes asked about undelivered messages.
  const webhook =
    config.webhook &&
    new Webhook({
      config: config.webhook,
      queue: createWebhookQueue(engine),
      unreadTotal: interimUnreadTotal(engine.store),
      registry: metrics.registry,
      logger,
    });
  const push = new PushClient({
    engine,
    router: config.router,
    tokenTtlMs: config.tokenTtlMs,
    logger,
    metrics: {
      published: (kind) => metrics.pushesPublished.inc({ kind }),
      deadNode: () => metrics.deadNodePublishes.inc(),
    },
    ...(webhook && { undelivered: webhook.report }),
  });
  // The embedded engine forgets accounts with the process: its operators come from the config.
  if (config.adminPassword !== undefined)
    for (const name of config.admins)
      await createOperator(engine, name, config.adminPassword, opts.passwordCost ?? DEFAULT_COST);
  await push.start();
  webhook?.start();
  const presence = new PresenceService({ config, engine, push, metrics, logger });
  await presence.start();

  let draining = false;
  const app = createApp({ ...opts, push, metrics, presence, isDraining: () => draining });
  const server: Server = createServer(app.callback());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.businessPort, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await presence.stop();
    await push.close();
    await webhook?.stop();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url }, "business listening");

  let closing: Promise<void> | null = null;
  return {
    app,
    push,
    port,
    url,
    registry: metrics.registry,
    close() {
      closing ??= (async () => {
        draining = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
        timer.unref();
        await closed;
        clearTimeout(timer);
        await presence.stop();
        await push.close();
        await webhook?.stop();
        logger.info("business closed");
      })();
      return closing;
    },
  };
}
