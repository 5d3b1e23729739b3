// The business role on its own (`node dist/business/main.js`), in front of imServer nodes that
// run as their own processes. SIGTERM or SIGINT stops it and exits 0.
import { runRole } from "../config/run-role.js";
import { createEngine } from "../engine/index.js";
import { startBusiness } from "./business.js";

runRole("business", async (config, logger) => {
  const engine = await createEngine(config);
  const business = await startBusiness({ config, engine, logger });
  logger.info({ url: business.url, engine: engine.kind }, "business up");
  return {
    async stop() {
      await business.close();
      await engine.close();
    },
  };
});
