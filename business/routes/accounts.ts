import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import { parseBody, parseQuery, passwordSchema, usernameSchema } from "../validation.js";
import type { RouteDeps } from "./types.js";

const credentials = z.object({ username: usernameSchema, password: passwordSchema });
const userQuery = z.object({ username: usernameSchema });

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

  routes.post("/api/connect", session, async (ctx) => {
    ctx.body = await accounts.connect(sessionOf(ctx));
  });

  routes.get("/api/users", session, async (ctx) => {
    const { username } = parseQuery(userQuery, ctx.query);
    ctx.body = await accounts.findByName(username);
  });
}
