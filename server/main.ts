// One imServer node on its own (`node dist/server/main.js`), as `npm run cluster` starts them:
// SIGTERM or SIGINT drains it (kicked{reason:"shutdown"} to every connection) and exits 0.
import { ConfigError, loadConfig, type Config } from "../config/index.js";
import { createLogger } from "../config/logger.js";
import { createEngine } from "../engine/index.js";
import { startImServer } from "./im-server.js";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { role: "im" });
  const engine = await createEngine(config);
  const im = await startImServer({ config, engine, logger });
  logger.info({ url: im.url, engine: engine.kind }, "imServer up");

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining");
    im.drain()
      .then(() => engine.close())
      .then(
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
  console.error(err);
  process.exit(1);
});
