// How every entry point runs (npm start, the imServer and business roles on their own): read the
// config (a bad value exits 1 with a message naming it), start, and on SIGTERM or SIGINT stop
// once and exit 0.
import { ConfigError, loadConfig, type Config } from "./index.js";
import { createLogger, type Logger } from "./logger.js";

export interface Running {
  stop(): Promise<void>;
}

/** `bindings` go on every log line (default `{role}`; npm start's two roles bind their own). */
export function runRole(
  role: string,
  start: (config: Config, logger: Logger) => Promise<Running>,
  bindings: Record<string, unknown> = { role },
): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, bindings);
  start(config, logger).then(
    (running) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, "draining");
        running.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    },
    (err: unknown) => {
      logger.fatal({ err }, `${role} failed to start`);
      console.error(`${role} failed to start: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
