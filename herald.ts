// Composition: one business and one imServer node over one engine. `npm start` runs this with
// the environment's config; tests run it with their own config and engine.
import type { Config } from "./config/index.js";
import { createLogger, type Logger } from "./config/logger.js";
import { startBusiness, type Business } from "./business/business.js";
import { createEngine } from "./engine/index.js";
import type { Engine } from "./engine/types.js";
import { startImServer, type ImServer } from "./server/im-server.js";

export interface Herald {
  engine: Engine;
  im: ImServer;
  business: Business;
  /** Drains the imServer (kicked{reason:"shutdown"}), then closes business and the engine. */
  stop(): Promise<void>;
}

export async function startHerald(
  config: Config,
  options: { engine?: Engine; logger?: Logger } = {},
): Promise<Herald> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const engine = options.engine ?? (await createEngine(config));
  const im = await startImServer({ config, engine, logger: logger.child({ role: "im" }) });
  const business = await startBusiness({
    config,
    engine,
    logger: logger.child({ role: "business" }),
  });
  let stopping: Promise<void> | null = null;
  return {
    engine,
    im,
    business,
    stop() {
      stopping ??= (async () => {
        await im.drain();
        await business.close();
        if (!options.engine) await engine.close();
      })();
      return stopping;
    },
  };
}
