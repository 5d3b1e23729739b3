import { z } from "zod";
import { sessionOf } from "../session.js";
import {
  channelNameSchema,
  checkContentSize,
  contentSchema,
  pageQuerySchema,
  queryIntSchema,
  querySeqSchema,
  sendOptionsSchema,
} from "../validation.js";
import type { ApiRouter } from "./api-router.js";
import { messagesAnswer, storedAnswer } from "./answers.js";
import type { RouteDeps } from "./types.js";

const channel = z.object({ name: channelNameSchema });
const postBody = z.object({ content: contentSchema, ...sendOptionsSchema });
const readersQuery = z.object({ seq: querySeqSchema });
const listQuery = z.object({
  after: channelNameSchema.default(""),
  limit: queryIntSchema.pipe(z.number().int().min(1).max(500)).default(100),
});
const membership = z.object({ name: z.string(), member: z.boolean() });
const tag = "channels";
const memberErrors = ["channel_not_found", "not_member"] as const;

export function channelRoutes(api: ApiRouter, { services }: RouteDeps): void {
  const { channels } = services;

  api.define(
    {
      method: "get",
      path: "/api/channels",
      summary: "Channels by name, a page at a time (?after= the last name seen)",
      tag,
      query: listQuery,
      responses: {
        200: z.object({
          channels: z.array(
            z.object({ name: z.string(), members: z.number().int(), online: z.number().int() }),
          ),
          next: z.string().nullable(),
        }),
      },
    },
    async (ctx, { query: { after, limit } }) => {
      ctx.body = await channels.list(after, limit);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/channels/:name/join",
      summary: "Join a channel (created when it does not exist)",
      tag,
      params: channel,
      responses: { 200: membership },
    },
    async (ctx, { params: { name } }) => {
      await channels.join(name, sessionOf(ctx).userId);
      ctx.body = { name, member: true };
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/channels/:name/leave",
      summary: "Leave a channel",
      tag,
      params: channel,
      responses: { 200: membership },
    },
    async (ctx, { params: { name } }) => {
      await channels.leave(name, sessionOf(ctx).userId);
      ctx.body = { name, member: false };
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/channels/:name",
      summary: "A channel's members and how many are online",
      tag,
      params: channel,
      responses: {
        200: z.object({ name: z.string(), members: z.array(z.string()), online: z.number().int() }),
      },
      errors: ["channel_not_found"],
    },
    async (ctx, { params: { name } }) => {
      ctx.body = await channels.info(name);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/channels/:name/messages",
      summary: "Post to a channel (members only)",
      tag,
      params: channel,
      body: postBody,
      responses: { 202: storedAnswer },
      errors: [...memberErrors, "message_not_found", "invalid_mentions", "quota_exceeded"],
    },
    async (ctx, { params: { name }, body: { content, ...options } }) => {
      checkContentSize(content);
      const { id, seq, ts } = await channels.post(name, sessionOf(ctx).userId, content, options);
      ctx.status = 202;
      ctx.body = { id, seq, ts };
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/channels/:name/messages",
      summary: "A channel's history, oldest first, after seq ?after=",
      tag,
      params: channel,
      query: pageQuerySchema,
      responses: { 200: messagesAnswer },
      errors: memberErrors,
    },
    async (ctx, { params: { name }, query: { after, limit } }) => {
      ctx.body = { messages: await channels.history(name, sessionOf(ctx).userId, after, limit) };
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/channels/:name/readers",
      summary: "Who has read a channel up to ?seq=",
      tag,
      params: channel,
      query: readersQuery,
      responses: {
        200: z.object({
          seq: z.number().int(),
          count: z.number().int(),
          userIds: z.array(z.string()),
        }),
      },
      errors: memberErrors,
    },
    async (ctx, { params: { name }, query: { seq } }) => {
      ctx.body = await channels.readers(name, sessionOf(ctx).userId, seq);
    },
  );
}
