import type Router from "@koa/router";
import { HttpError } from "../http-error.js";
import type { BusinessMetrics } from "../metrics.js";

export interface OpsDeps {
  metrics: BusinessMetrics;
  /** Resolves true when the engine answers. */
  engineUp: () => Promise<boolean>;
  isDraining: () => boolean;
}

export function opsRoutes(router: Router, { metrics, engineUp, isDraining }: OpsDeps): void {
  router.get("/health", async (ctx) => {
    if (isDraining()) throw new HttpError(503, "unavailable", "draining");
    if (!(await engineUp())) throw new HttpError(503, "unavailable", "engine unreachable");
    ctx.body = { status: "ok" };
  });

  router.get("/metrics", async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
}
