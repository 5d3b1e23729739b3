// Runs the business role alone (`node dist/business/main.js`), e.g. in front of imServer nodes
// that run as their own processes. SIGTERM/SIGINT drain and exit 0; a bad config exits 1.
import { ConfigError, loadConfig, type Config } from "../config/index.js";
import { createLogger } from "../config/logger.js";
import { createEngine } from "../engine/index.js";
import { startBusiness } from "./business.js";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { role: "business" });
  const engine = await createEngine(config);
  const business = await startBusiness({ config, engine, logger });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    try {
      await business.close();
      await engine.close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "stop failed");
      process.exit(1);
    }
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `business failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
