import { z } from "zod";
import { sessionOf } from "../session.js";
import { idListSchema, nodeIdSchema, passwordSchema, usernameSchema } from "../validation.js";
import type { ApiRouter } from "./api-router.js";
import { connectAnswer, sessionAnswer, userAnswer } from "./answers.js";
import type { RouteDeps } from "./types.js";

const credentials = z.object({ username: usernameSchema, password: passwordSchema });
const userQuery = z.object({ username: usernameSchema, ids: z.never().optional() });
const usersQuery = z.object({ ids: idListSchema(100).pipe(z.array(z.string()).min(1)) });
const tag = "accounts";

/** Optional: the node the client's last socket failed on, so business checks it before granting
 * it. A body-less POST (the v1 request) is read as `{}`. */
const connectBody = z.preprocess(
  (body) => body ?? {},
  z.object({ failed: nodeIdSchema.optional() }),
);

export function accountRoutes(api: ApiRouter, { services }: RouteDeps): void {
  const { accounts } = services;

  api.define(
    {
      method: "post",
      path: "/api/register",
      summary: "Create an account",
      tag,
      session: false,
      body: credentials,
      responses: { 201: userAnswer },
      errors: ["username_taken", "username_reserved", "rate_limited"],
    },
    async (ctx, { body: { username, password } }) => {
      ctx.status = 201;
      ctx.body = await accounts.register(username, password, ctx.ip);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/login",
      summary: "Open a session",
      tag,
      session: false,
      body: credentials,
      responses: { 200: sessionAnswer },
      errors: ["invalid_credentials", "rate_limited"],
    },
    async (ctx, { body: { username, password } }) => {
      ctx.body = await accounts.login(username, password, ctx.ip);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/logout",
      summary: "End this session and close its sockets",
      tag,
      responses: { 204: null },
    },
    async (ctx) => {
      await accounts.logout(sessionOf(ctx));
      ctx.status = 204;
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/me",
      summary: "Who this session is",
      tag,
      responses: { 200: userAnswer },
    },
    async (ctx) => {
      ctx.body = await accounts.me(sessionOf(ctx).userId);
    },
  );

  api.define(
    {
      method: "post",
      path: "/api/connect",
      summary: "A one-time token and the imServer node to open a socket on",
      tag,
      body: connectBody,
      responses: { 200: connectAnswer },
    },
    async (ctx, { body: { failed } }) => {
      ctx.body = await accounts.connect(sessionOf(ctx), failed);
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/users",
      summary: "Find users: several by id (?ids=a,b), or one by name (?username=)",
      tag,
      // ?ids= asks for several users by id; ?username= (v1) for one by name.
      query: z.union([usersQuery, userQuery]),
      responses: {
        200: z.union([
          z.object({ users: z.array(userAnswer) }).describe("?ids="),
          userAnswer.describe("?username="),
        ]),
      },
      errors: ["user_not_found"],
    },
    async (ctx, { query }) => {
      ctx.body =
        "username" in query
          ? await accounts.findByName(query.username)
          : { users: await accounts.findByIds(query.ids) };
    },
  );
}
