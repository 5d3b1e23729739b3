import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import { parseQuery, userIdSchema } from "../validation.js";
import type { RouteDeps } from "./types.js";

const presenceQuery = z.object({
  ids: z
    .string()
    .max(200 * 257)
    .transform((s) => s.split(",").filter((id) => id.length > 0))
    .pipe(z.array(userIdSchema).max(200)),
});

export function presenceRoutes(routes: Router, { services, session }: RouteDeps): void {
  routes.get("/api/presence", session, async (ctx) => {
    const { ids } = parseQuery(presenceQuery, ctx.query);
    ctx.body = await services.presence.lookup(sessionOf(ctx).userId, ids);
  });
}
