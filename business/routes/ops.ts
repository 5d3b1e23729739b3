import type Router from "@koa/router";
import { answerOps, OPS_PATHS } from "../../config/ops.js";
import type { BusinessMetrics } from "../metrics.js";

export interface OpsDeps {
  metrics: BusinessMetrics;
  /** Resolves true when the engine answers. */
  engineUp: () => Promise<boolean>;
  isDraining: () => boolean;
  metricsToken?: string;
}

export function opsRoutes(
  router: Router,
  { metrics, engineUp, isDraining, metricsToken }: OpsDeps,
): void {
  const target = {
    registry: metrics.registry,
    metricsToken,
    unready: async () =>
      isDraining() ? "draining" : (await engineUp()) ? null : "engine unreachable",
  };
  for (const path of OPS_PATHS)
    router.get(path, async (ctx) => {
      const answer = await answerOps(path, target, ctx.get("Authorization") || undefined);
      ctx.status = answer.status;
      ctx.type = answer.contentType;
      ctx.body = answer.body;
    });
}
