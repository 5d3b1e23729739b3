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
  userIdSchema,
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

const visibility = z.enum(["public", "private"]);
const history = z.enum(["all", "since_join"]);
const role = z.enum(["owner", "admin", "member"]);
const createBody = z.object({
  name: channelNameSchema,
  visibility: visibility.default("public"),
  title: z.string().max(200).default(""),
  history: history.default("all"),
});
const channelView = z.object({
  name: z.string(),
  members: z.array(z.string()),
  online: z.number().int(),
  title: z.string(),
  visibility,
  history,
  owner: z.string().nullable(),
  role: role.nullable().describe("the caller's; null when not a member"),
});
const memberView = z.object({
  userId: z.string(),
  username: z.string(),
  role,
  mutedUntil: z.number().int().optional().describe("ms, while a mute stands"),
});
const channelMember = z.object({ name: channelNameSchema, userId: userIdSchema });
const membersQuery = z.object({
  after: queryIntSchema.default(0).describe("the `next` of the page before"),
  limit: queryIntSchema.pipe(z.number().int().min(1).max(500)).default(100),
});
const kickQuery = z.object({ ban: z.enum(["true", "false"]).default("false") });
/** A mute lasts 1 s to a year. */
const muteBody = z.object({
  seconds: z
    .number()
    .int()
    .min(1)
    .max(365 * 24 * 3600),
});
/** What acting on another member may fail with (channel-policy.ts). */
const moderationErrors = [
  "channel_not_found",
  "user_not_found",
  "cannot_target_self",
  "not_member",
  "forbidden",
] as const;

export function channelRoutes(api: ApiRouter, { services }: RouteDeps): void {
  const { channels, channelAdmin } = services;

  api.define(
    {
      method: "get",
      path: "/api/channels",
      summary:
        "Channels the caller may see (public, and private ones they are in) by name, a page " +
        "at a time (?after= the last name seen)",
      tag,
      query: listQuery,
      responses: {
        200: z.object({
          channels: z.array(
            z.object({
              name: z.string(),
              title: z.string(),
              visibility,
              members: z.number().int(),
              online: z.number().int(),
            }),
          ),
          next: z.string().nullable(),
        }),
      },
    },
    async (ctx, { query: { after, limit } }) => {
      ctx.body = await channels.list(sessionOf(ctx).userId, after, limit);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/channels",
      summary: "Create a channel; the caller is its owner",
      tag,
      body: createBody,
      responses: { 201: channelView },
      errors: ["channel_exists"],
    },
    async (ctx, { body }) => {
      ctx.body = await channelAdmin.create(sessionOf(ctx).userId, body);
      ctx.status = 201;
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/channels/:name/members",
      summary: "A page of a channel's members in join order, with roles (members only)",
      tag,
      params: channel,
      query: membersQuery,
      responses: {
        200: z.object({
          members: z.array(memberView),
          next: z.number().int().nullable().describe("?after= of the next page; null: no more"),
        }),
      },
      errors: memberErrors,
    },
    async (ctx, { params: { name }, query: { after, limit } }) => {
      ctx.body = await channelAdmin.members(sessionOf(ctx).userId, name, after, limit);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/channels/:name/members/:userId",
      summary: "Make a member an admin or a plain member (owner only)",
      tag,
      params: channelMember,
      body: z.object({ role: z.enum(["admin", "member"]) }),
      responses: { 200: memberView },
      errors: [...moderationErrors, "member_not_found"],
    },
    async (ctx, { params: { name, userId }, body: { role } }) => {
      ctx.body = await channelAdmin.setRole(sessionOf(ctx).userId, name, userId, role);
    },
  );

  api.define(
    {
      method: "delete",
      path: "/api/channels/:name/members/:userId",
      summary: "Kick a member (owner or admin); with ?ban=true also ban them from joining again",
      tag,
      params: channelMember,
      query: kickQuery,
      responses: { 204: null },
      errors: moderationErrors,
    },
    async (ctx, { params: { name, userId }, query: { ban } }) => {
      await channelAdmin.kick(sessionOf(ctx).userId, name, userId, ban === "true");
      ctx.status = 204;
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/channels/:name/owner",
      summary: "Hand ownership to a member (owner only); the old owner becomes an admin",
      tag,
      params: channel,
      body: z.object({ userId: userIdSchema }),
      responses: { 200: memberView },
      errors: [...moderationErrors, "member_not_found"],
    },
    async (ctx, { params: { name }, body: { userId } }) => {
      ctx.body = await channelAdmin.transferOwner(sessionOf(ctx).userId, name, userId);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/channels/:name/invites",
      summary: "Invite a user (owner or admin); they get an `invited` push",
      tag,
      params: channel,
      body: z.object({ userId: userIdSchema }),
      responses: { 200: z.object({ channel: z.string(), userId: z.string() }) },
      errors: [...moderationErrors, "banned"],
    },
    async (ctx, { params: { name }, body: { userId } }) => {
      await channelAdmin.invite(sessionOf(ctx).userId, name, userId);
      ctx.body = { channel: name, userId };
    },
  );

  api.define(
    {
      method: "delete",
      path: "/api/channels/:name/bans/:userId",
      summary: "Lift a ban (owner or admin)",
      tag,
      params: channelMember,
      responses: { 204: null },
      errors: moderationErrors,
    },
    async (ctx, { params: { name, userId } }) => {
      await channelAdmin.unban(sessionOf(ctx).userId, name, userId);
      ctx.status = 204;
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/channels/:name/members/:userId/mute",
      summary: "Mute a member for `seconds` (owner or admin): their posts get 403 `muted`",
      tag,
      params: channelMember,
      body: muteBody,
      responses: { 200: memberView },
      errors: [...moderationErrors, "member_not_found"],
    },
    async (ctx, { params: { name, userId }, body: { seconds } }) => {
      ctx.body = await channelAdmin.mute(sessionOf(ctx).userId, name, userId, seconds);
    },
  );

  api.define(
    {
      method: "delete",
      path: "/api/channels/:name/members/:userId/mute",
      summary: "Lift a member's mute (owner or admin)",
      tag,
      params: channelMember,
      responses: { 204: null },
      errors: [...moderationErrors, "member_not_found"],
    },
    async (ctx, { params: { name, userId } }) => {
      await channelAdmin.unmute(sessionOf(ctx).userId, name, userId);
      ctx.status = 204;
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/channels/:name/join",
      summary: "Join a channel (created when it does not exist, the joiner its owner)",
      tag,
      params: channel,
      responses: { 200: membership },
      errors: ["banned", "invite_required", "channel_full"],
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
      summary: "A channel's record, members and how many are online, and the caller's role",
      tag,
      params: channel,
      responses: { 200: channelView },
      errors: ["channel_not_found"],
    },
    async (ctx, { params: { name } }) => {
      ctx.body = await channels.info(name, sessionOf(ctx).userId);
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
      errors: [...memberErrors, "muted", "message_not_found", "invalid_mentions", "quota_exceeded"],
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
