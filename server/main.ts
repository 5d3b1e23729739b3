// One imServer node on its own (`node dist/server/main.js`), as `npm run cluster` starts them:
// SIGTERM or SIGINT drains it (kicked{reason:"shutdown"} to every connection) and exits 0.
import { runRole } from "../config/run-role.js";
import { createEngine } from "../engine/index.js";
import { startImServer } from "./im-server.js";

runRole("im", async (config, logger) => {
  const engine = await createEngine(config);
  const im = await startImServer({ config, engine, logger });
  logger.info({ url: im.url, nodeId: im.nodeId, engine: engine.kind }, "imServer up");
  return {
    async stop() {
      await im.drain();
      await engine.close();
    },
  };
});
