import { z } from "zod";
import { sessionOf } from "../session.js";
import {
  checkContentSize,
  contentSchema,
  emojiSchema,
  itemIdSchema,
  pageQuerySchema,
  sendOptionsSchema,
  userIdSchema,
} from "../validation.js";
import type { ApiRouter } from "./api-router.js";
import { messagesAnswer, storedAnswer } from "./answers.js";
import type { RouteDeps } from "./types.js";

const sendBody = z.object({
  to: z.union([
    userIdSchema,
    z
      .array(userIdSchema)
      .min(1)
      .max(100)
      .refine((ids) => new Set(ids).size === ids.length, "recipients must be distinct"),
  ]),
  content: contentSchema,
  receipt: z.boolean().optional(),
  ...sendOptionsSchema,
});

const historyQuery = pageQuerySchema.extend({ peer: userIdSchema });
const message = z.object({ id: itemIdSchema });
const editBody = z.object({ content: contentSchema });
const reactionBody = z.object({ emoji: emojiSchema });
const reaction = z.object({ id: itemIdSchema, emoji: emojiSchema });
const tag = "messages";
/** 202 with the stored item's place, or 204 when nothing was stored. */
const storedOrNot = { 202: storedAnswer, 204: null };
const changeErrors = ["message_not_found", "recalled", "not_friends", "not_member"] as const;

export function messageRoutes(api: ApiRouter, { services }: RouteDeps): void {
  const { messages, changes } = services;

  api.define(
    {
      method: "post",
      path: "/api/messages",
      summary: "Send a direct message to a friend, or to several (`to` an array)",
      tag,
      body: sendBody,
      responses: {
        202: z.union([
          storedAnswer.describe("`to` a string"),
          z
            .object({ messages: z.array(storedAnswer.extend({ to: z.string() })) })
            .describe("`to` an array"),
        ]),
      },
      errors: [
        "cannot_target_self",
        "user_not_found",
        "not_friends",
        "blocked",
        "message_not_found",
        "invalid_mentions",
        "quota_exceeded",
      ],
    },
    async (ctx, { body: { to, content, receipt, ...options } }) => {
      checkContentSize(content);
      const accepted = await messages.sendDirect(
        sessionOf(ctx).userId,
        typeof to === "string" ? [to] : to,
        content,
        receipt === true,
        options,
      );
      ctx.status = 202;
      // One recipient named as a string gets one answer; an array gets a list, even of one.
      if (typeof to === "string") {
        const { id, seq, ts } = accepted[0]!;
        ctx.body = { id, seq, ts };
      } else ctx.body = { messages: accepted };
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/messages",
      summary: "Direct history with ?peer=, oldest first, after seq ?after=",
      tag,
      query: historyQuery,
      responses: { 200: messagesAnswer },
      errors: ["cannot_target_self"],
    },
    async (ctx, { query: { peer, after, limit } }) => {
      ctx.body = { messages: await messages.history(sessionOf(ctx).userId, peer, after, limit) };
    },
  );

  api.define(
    {
      method: "patch",
      path: "/api/messages/:id",
      summary: "Edit a message (its sender, within the window)",
      tag,
      params: message,
      body: editBody,
      responses: { 202: storedAnswer },
      errors: [...changeErrors, "not_editable", "not_sender", "window_passed", "quota_exceeded"],
    },
    async (ctx, { params: { id }, body: { content } }) => {
      checkContentSize(content);
      ctx.status = 202;
      ctx.body = await changes.edit(sessionOf(ctx).userId, id, content);
    },
  );

  api.define(
    {
      method: "delete",
      path: "/api/messages/:id",
      summary: "Recall a message (its sender, within the window)",
      tag,
      params: message,
      responses: { 202: storedAnswer },
      errors: [...changeErrors, "not_editable", "not_sender", "window_passed"],
    },
    async (ctx, { params: { id } }) => {
      ctx.status = 202;
      ctx.body = await changes.recall(sessionOf(ctx).userId, id);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/messages/:id/reactions",
      summary: "Add a reaction",
      tag,
      params: message,
      body: reactionBody,
      responses: storedOrNot,
      errors: [...changeErrors, "not_editable", "too_many_reactions"],
    },
    async (ctx, { params: { id }, body: { emoji } }) => {
      answer(ctx, await changes.react(sessionOf(ctx).userId, id, emoji, "add"));
    },
  );

  api.define(
    {
      method: "delete",
      path: "/api/messages/:id/reactions/:emoji",
      summary: "Remove the caller's reaction",
      tag,
      params: reaction,
      responses: storedOrNot,
      errors: [...changeErrors, "not_editable"],
    },
    async (ctx, { params: { id, emoji } }) => {
      answer(ctx, await changes.react(sessionOf(ctx).userId, id, emoji, "remove"));
    },
  );
}

/** 202 with the stored item's {id, seq, ts}, or 204 when nothing was stored. */
function answer(ctx: { status: number; body: unknown }, stored: object | null): void {
  ctx.status = stored === null ? 204 : 202;
  if (stored !== null) ctx.body = stored;
}
