// A Herald business process for the send and connect scenarios: `node dist/business/main.js`
// as far as the routes go (its engine picked by createEngine, so DATABASE_URL puts the store on
// PostgreSQL), but with a cheap password hash (accounts are setup, not what is measured) and
// the session limit lifted (the bench measures the send path, never a 429).
import { startBusiness } from "../../business/business.js";
import { loadConfig } from "../../config/index.js";
import { createLogger } from "../../config/logger.js";
import { createEngine } from "../../engine/index.js";

const config = loadConfig(process.env);
const logger = createLogger("warn");
const engine = await createEngine(config);
const business = await startBusiness({
  config,
  engine,
  logger,
  rates: { session: { points: 1e9, durationS: 1 } },
  passwordCost: { N: 1024, r: 8, p: 1 },
});
process.send!({ type: "ready", url: business.url });
process.on("SIGTERM", () => void business.close().finally(() => process.exit(0)));
process.on("disconnect", () => process.exit(0));
