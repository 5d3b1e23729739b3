// The HTTP layer's error type and the one middleware that turns every failure (a service's
// DomainError, an HttpError, a library's error) into the contract's shape:
// {"error": {"code", "message"}}. Nothing else writes an error body.
import type { Context, Next } from "koa";
import type { Logger } from "../config/logger.js";
import { DomainError, type DomainCode } from "./errors.js";

/** Thrown for what only HTTP knows: a body, query or path that does not parse, a missing or
 * spent session header, a route's own status. */
export class HttpError extends Error {
  override name = "HttpError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
    /** Extra fields of the `error` object (DomainError.fields). */
    readonly fields: Readonly<Record<string, number>> = {},
  ) {
    super(message);
  }
}

/** The status of each domain code. */
const STATUS_BY_DOMAIN_CODE: Record<DomainCode, number> = {
  cannot_target_self: 400,
  invalid_mentions: 400,
  not_editable: 400,
  invalid_attachments: 400,
  invalid_file: 400,
  invalid_upload: 400,
  invalid_credentials: 401,
  unauthorized: 401,
  forbidden: 403,
  banned: 403,
  blocked: 403,
  invite_required: 403,
  muted: 403,
  not_friends: 403,
  not_member: 403,
  not_sender: 403,
  window_passed: 403,
  channel_not_found: 404,
  member_not_found: 404,
  channel_exists: 409,
  channel_full: 409,
  message_not_found: 404,
  link_expired: 403,
  link_invalid: 403,
  file_not_found: 404,
  user_not_found: 404,
  quota_exceeded: 413,
  username_reserved: 403,
  recalled: 409,
  too_many_reactions: 409,
  username_taken: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  unsupported: 501,
};

/** The codes only the HTTP layer raises (HttpError), with their statuses. */
const STATUS_BY_HTTP_CODE = {
  invalid_body: 400,
  invalid_query: 400,
  invalid_param: 400,
  invalid_json: 400,
  unsupported_media_type: 415,
} as const;

/** Every code an answer's `error.code` may carry, as a route declares it (routes/api-router.ts). */
export type ErrorCode = DomainCode | keyof typeof STATUS_BY_HTTP_CODE;

/** The one code → status table: the API description reads it, as the middleware does. */
export function statusOf(code: ErrorCode): number {
  return code in STATUS_BY_HTTP_CODE
    ? STATUS_BY_HTTP_CODE[code as keyof typeof STATUS_BY_HTTP_CODE]
    : STATUS_BY_DOMAIN_CODE[code as DomainCode];
}

function fromDomainError({ code, message, retryAfterS, fields }: DomainError): HttpError {
  const headers: Record<string, string> = {};
  if (retryAfterS !== undefined) headers["Retry-After"] = String(retryAfterS);
  return new HttpError(STATUS_BY_DOMAIN_CODE[code], code, message, headers, fields);
}

/** Codes for errors raised by Koa's own middleware (body parser, static files, router). */
const CODE_BY_STATUS: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "too_large",
  415: "unsupported_media_type",
  416: "range_not_satisfiable",
  429: "rate_limited",
  501: "not_implemented",
  503: "unavailable",
};

interface HttpLikeError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
  message?: unknown;
}

/** Maps errors thrown by middleware we do not own (co-body, raw-body, koa-send) to HttpError. */
function fromLibraryError(err: unknown): HttpError | null {
  if (typeof err !== "object" || err === null) return null;
  const e = err as HttpLikeError;
  const status = typeof e.status === "number" ? e.status : e.statusCode;
  if (typeof status !== "number" || status < 400 || status >= 500) return null;
  if (e.type === "entity.too.large")
    return new HttpError(413, "too_large", "request body too large");
  if (err instanceof SyntaxError) return new HttpError(400, "invalid_json", "malformed JSON body");
  const code = CODE_BY_STATUS[status] ?? "bad_request";
  const message = e.expose === true && typeof e.message === "string" ? e.message : code;
  return new HttpError(status, code, message);
}

function send(ctx: Context, error: HttpError): void {
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
  ctx.body = { error: { ...error.fields, code: error.code, message: error.message } };
}

/**
 * The top middleware. `dependencyDown` tells an engine outage (503 `unavailable`) from a bug
 * (500 `internal`) without knowing each engine's error types.
 */
export function errorMiddleware(
  logger: Logger,
  dependencyDown: (err: unknown) => Promise<boolean>,
) {
  return async function errors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      // Nothing answered: an unknown path, or a known path with another method.
      if (ctx.body == null && (ctx.status === 404 || ctx.status === 405 || ctx.status === 501)) {
        const code = CODE_BY_STATUS[ctx.status]!;
        send(ctx, new HttpError(ctx.status, code, `${ctx.method} ${ctx.path}: ${code}`));
      }
    } catch (err) {
      if (err instanceof HttpError) return send(ctx, err);
      if (err instanceof DomainError) return send(ctx, fromDomainError(err));
      const mapped = fromLibraryError(err);
      if (mapped) return send(ctx, mapped);
      if (await dependencyDown(err)) {
        logger.warn({ err, path: ctx.path }, "request failed: engine unavailable");
        return send(ctx, new HttpError(503, "unavailable", "a dependency is unavailable"));
      }
      logger.error({ err, method: ctx.method, path: ctx.path }, "request failed");
      send(ctx, new HttpError(500, "internal", "internal error"));
    }
  };
}
