// `npm start`: business and one imServer node in one process; the embedded engine unless
// REDIS_URL is set.
import { ConfigError, loadConfig } from "./config/index.js";
import { createLogger } from "./config/logger.js";
import { startHerald } from "./herald.js";

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const herald = await startHerald(config, { logger });
  logger.info(
    { business: herald.business.url, im: herald.im.url, engine: herald.engine.kind },
    `Herald is up: open ${herald.business.url}`,
  );
  const shutdown = (signal: string) => {
    logger.info({ signal }, "draining");
    herald.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
