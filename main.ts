// `npm start`: business and one imServer node in one process; the embedded engine unless
// REDIS_URL is set.
import { runRole } from "./config/run-role.js";
import { startHerald } from "./herald.js";

runRole(
  "herald",
  async (config, logger) => {
    const herald = await startHerald(config, { logger });
    logger.info(
      { business: herald.business.url, im: herald.im.url, engine: herald.engine.kind },
      `Herald is up: open ${herald.business.url}`,
    );
    return herald;
  },
  {},
);
