import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import { idListSchema, parseQuery } from "../validation.js";
import type { RouteDeps } from "./types.js";

const presenceQuery = z.object({ ids: idListSchema(200) });

export function presenceRoutes(routes: Router, { services, session }: RouteDeps): void {
  routes.get("/api/presence", session, async (ctx) => {
    const { ids } = parseQuery(presenceQuery, ctx.query);
    ctx.body = await services.presence.lookup(sessionOf(ctx).userId, ids);
  });
}
