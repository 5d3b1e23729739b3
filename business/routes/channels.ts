import type Router from "@koa/router";
import { z } from "zod";
import { sessionOf } from "../session.js";
import {
  channelNameSchema,
  checkContentSize,
  contentSchema,
  pageQuerySchema,
  parseBody,
  parseParams,
  parseQuery,
  queryIntSchema,
} from "../validation.js";
import type { RouteDeps } from "./types.js";

const channel = z.object({ name: channelNameSchema });
const postBody = z.object({ content: contentSchema });
const listQuery = z.object({
  after: channelNameSchema.default(""),
  limit: queryIntSchema.pipe(z.number().int().min(1).max(500)).default(100),
});

export function channelRoutes(routes: Router, { services, session, json }: RouteDeps): void {
  const { channels } = services;

  routes.get("/api/channels", session, async (ctx) => {
    const { after, limit } = parseQuery(listQuery, ctx.query);
    ctx.body = await channels.list(after, limit);
  });

  routes.post("/api/channels/:name/join", session, async (ctx) => {
    const { name } = parseParams(channel, ctx.params);
    await channels.join(name, sessionOf(ctx).userId);
    ctx.body = { name, member: true };
  });

  routes.post("/api/channels/:name/leave", session, async (ctx) => {
    const { name } = parseParams(channel, ctx.params);
    await channels.leave(name, sessionOf(ctx).userId);
    ctx.body = { name, member: false };
  });

  routes.get("/api/channels/:name", session, async (ctx) => {
    const { name } = parseParams(channel, ctx.params);
    ctx.body = await channels.info(name);
  });

  routes.post("/api/channels/:name/messages", session, json, async (ctx) => {
    const { name } = parseParams(channel, ctx.params);
    const { content } = parseBody(postBody, ctx.request.body);
    checkContentSize(content);
    const { id, seq, ts } = await channels.post(name, sessionOf(ctx).userId, content);
    ctx.status = 202;
    ctx.body = { id, seq, ts };
  });

  routes.get("/api/channels/:name/messages", session, async (ctx) => {
    const { name } = parseParams(channel, ctx.params);
    const { after, limit } = parseQuery(pageQuerySchema, ctx.query);
    ctx.body = { messages: await channels.history(name, sessionOf(ctx).userId, after, limit) };
  });
}
