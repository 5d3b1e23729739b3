import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import {
  idListSchema,
  nodeIdSchema,
  parseBody,
  parseQuery,
  passwordSchema,
  usernameSchema,
} from "../validation.js";
import type { RouteDeps } from "./types.js";

const credentials = z.object({ username: usernameSchema, password: passwordSchema });
const userQuery = z.object({ username: usernameSchema });
const usersQuery = z.object({ ids: idListSchema(100).pipe(z.array(z.string()).min(1)) });
/** Optional: the node the client's last socket failed on, so business checks it before granting it. */
const connectBody = z.object({ failed: nodeIdSchema.optional() });

export function accountRoutes(routes: Router, { services, session, json }: RouteDeps): void {
  const { accounts } = services;

  routes.post("/api/register", json, async (ctx) => {
    const { username, password } = parseBody(credentials, ctx.request.body);
    ctx.status = 201;
    ctx.body = await accounts.register(username, password, ctx.ip);
  });

  routes.post("/api/login", json, async (ctx) => {
    const { username, password } = parseBody(credentials, ctx.request.body);
    ctx.body = await accounts.login(username, password, ctx.ip);
  });

  routes.post("/api/logout", session, async (ctx) => {
    await accounts.logout(sessionOf(ctx));
    ctx.status = 204;
  });

  routes.get("/api/me", session, async (ctx) => {
    ctx.body = await accounts.me(sessionOf(ctx).userId);
  });

  routes.post("/api/connect", session, json, async (ctx) => {
    const { failed } = parseBody(connectBody, ctx.request.body ?? {});
    ctx.body = await accounts.connect(sessionOf(ctx), failed);
  });

  routes.get("/api/users", session, async (ctx) => {
    // ?ids= asks for several users by id; ?username= (v1) for one by name.
    if (ctx.query.ids !== undefined) {
      const { ids } = parseQuery(usersQuery, ctx.query);
      ctx.body = { users: await accounts.findByIds(ids) };
      return;
    }
    const { username } = parseQuery(userQuery, ctx.query);
    ctx.body = await accounts.findByName(username);
  });
}
