// The one way to add an HTTP route: `api.define(spec, handler)`. The spec's zod schemas both
// parse the request (so the handler gets typed input) and describe the route in
// /api/openapi.json (business/openapi.ts), so the description cannot drift from the code.
import type Router from "@koa/router";
import type { RouterContext, RouterMiddleware } from "@koa/router";
import type { Middleware } from "koa";
import type { z } from "zod";
import type { ErrorCode } from "../http-error.js";
import { parseBody, parseParams, parseQuery } from "../validation.js";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/** A body that is not JSON (a file's bytes): described here, read by the handler itself. */
export interface RawBody {
  contentType: string;
  description: string;
  /** What the body holds, for the description only (e.g. a multipart form's fields). */
  schema?: z.ZodType;
}

/** A success answer: its JSON body's schema, a RawBody (a file's bytes), or null (no body). */
export type Answer = z.ZodType | RawBody | null;

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** Koa's form, `/api/messages/:id`. */
  path: string;
  summary: string;
  /** The group the docs list it under ("accounts", "messages", …). */
  tag: string;
  /** Longer notes for the docs (Markdown). */
  description?: string;
  /** false: no session needed (register, login, signed file links). Default true. */
  session?: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  /** A JSON body: adds the JSON body parser after the session check. */
  body?: z.ZodType<B>;
  /** A body the handler streams itself (uploads); exclusive with `body`. */
  rawBody?: RawBody;
  /** Success statuses and what each answers. */
  responses: Readonly<Record<number, Answer>>;
  /** The route's own error codes; those of the session, the parsers and 503 are added. */
  errors?: readonly ErrorCode[];
}

export interface Input<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

export type Handler<P, Q, B> = (ctx: RouterContext, input: Input<P, Q, B>) => Promise<void>;

export interface SharedMiddleware {
  /** Session check and per-session rate limit (session.ts). */
  session: Middleware;
  /** The JSON body parser (app.ts). */
  json: Middleware;
}

export class ApiRouter {
  readonly router: Router;
  readonly specs: RouteSpec[] = [];

  constructor(
    router: Router,
    private readonly shared: SharedMiddleware,
  ) {
    this.router = router;
  }

  /** Mounts `handler` at spec.method spec.path after the session check, the body parser and
   * the parse of params, query and body, in that order (a bad session wins over a bad body). */
  define<P = undefined, Q = undefined, B = undefined>(
    spec: RouteSpec<P, Q, B>,
    handler: Handler<P, Q, B>,
  ): void {
    this.specs.push(spec as RouteSpec);
    const chain: Middleware[] = [];
    if (spec.session !== false) chain.push(this.shared.session);
    if (spec.body) chain.push(this.shared.json);
    const route: RouterMiddleware = async (ctx) => {
      const input = {
        params: spec.params ? parseParams(spec.params, ctx.params) : undefined,
        query: spec.query ? parseQuery(spec.query, ctx.query) : undefined,
        body: spec.body ? parseBody(spec.body, ctx.request.body) : undefined,
      } as Input<P, Q, B>;
      await handler(ctx, input);
    };
    this.router[spec.method](spec.path, ...chain, route);
  }
}
