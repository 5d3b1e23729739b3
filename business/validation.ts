// Every input crosses zod here: bodies, queries and path params, each failure a 400 HttpError
// whose code says which part was wrong. The schemas shared by several routes live here too.
import { z } from "zod";
import { normalizeUsername } from "../engine/usernames.js";
import { HttpError } from "./http-error.js";

/** At most 64 KiB once serialised (CONTRACT.md). */
export const MAX_CONTENT_BYTES = 64 * 1024;

/** Ids are made by the server and hold no control character: one with any (NUL, which
 * PostgreSQL text cannot hold, among them) names nothing, and is refused as such. */
const idSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^\P{Cc}+$/u, "no control characters");

export const userIdSchema = idSchema;
/** Judged after NFKC (fullwidth `ａｌｉｃｅ` is `alice`); the normalised form is what is kept. */
export const usernameSchema = z
  .string()
  .max(256)
  .transform(normalizeUsername)
  .pipe(
    z
      .string()
      .min(3)
      .max(32)
      .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _, . and - only"),
  );
/** An imServer node id, as IM_NODE_ID allows it. */
export const nodeIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);
/** A lone surrogate cannot be encoded (UTF-8 turns each into U+FFFD), so such a password would
 * collide with every other one of its length: refused. */
export const passwordSchema = z
  .string()
  .min(8)
  .max(256)
  .refine((password) => !/\p{Surrogate}/u.test(password), "a lone surrogate is not a character");
export const channelNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, _ and -");

/** A message or other stream item id, as a path parameter or in a body. */
export const itemIdSchema = idSchema;

/** A sender's idempotency key (CONTRACT.md "Conversation streams"). */
export const clientMsgIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, _ and -");

export const mentionsSchema = z
  .array(userIdSchema)
  .max(50)
  .refine((ids) => new Set(ids).size === ids.length, "mentions must be distinct");

/** File ids; how many, which and whose is FileService's to judge (400 `invalid_attachments`). */
export const attachmentsSchema = z.array(z.string());

/** 1-16 characters (code points), none of them whitespace or a control character. */
export const emojiSchema = z
  .string()
  .regex(/^[^\s\p{Cc}]+$/u, "no whitespace or control characters")
  .refine((s) => [...s].length <= 16, "at most 16 characters");

/** A seq in a body: a non-negative integer. */
export const seqSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** What a send takes besides `content` and its target. */
export const sendOptionsSchema = {
  clientMsgId: clientMsgIdSchema.optional(),
  replyTo: itemIdSchema.optional(),
  mentions: mentionsSchema.optional(),
  attachments: attachmentsSchema.optional(),
};

/** `{peer}` or `{channel}`: exactly one. */
export function conversationTargetSchema<T extends z.ZodRawShape>(extra: T) {
  return z.union([
    z.object({ peer: userIdSchema, channel: z.never().optional(), ...extra }),
    z.object({ channel: channelNameSchema, peer: z.never().optional(), ...extra }),
  ]);
}

/** Comma-separated ids in a query string, at most `max`. */
export function idListSchema(max: number) {
  return z
    .string()
    .max(max * 257)
    .transform((s) => s.split(",").filter((id) => id.length > 0))
    .pipe(z.array(userIdSchema).max(max));
}

/** Any JSON value but null; a missing key is undefined and fails too. */
export const contentSchema = z
  .unknown()
  .refine((value) => value !== undefined && value !== null, "content is required (not null)");

/** A non-negative integer in a query string; no signs, fractions or exponents. */
export const queryIntSchema = z
  .string()
  .regex(/^\d{1,15}$/, "a non-negative integer")
  .transform(Number);

/** A seq in a query string. */
export const querySeqSchema = queryIntSchema;

export const pageQuerySchema = z.object({
  after: queryIntSchema.default(0),
  limit: queryIntSchema.pipe(z.number().int().min(1).max(200)).default(50),
});

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join(".")}: ` : "") + issue.message)
    .join("; ");
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, code: string, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, code, `invalid ${what}: ${describe(result.error)}`);
  return result.data;
}

export const parseBody = <T>(schema: z.ZodType<T>, body: unknown): T =>
  parseWith(schema, body, "invalid_body", "body");
export const parseQuery = <T>(schema: z.ZodType<T>, query: unknown): T =>
  parseWith(schema, query, "invalid_query", "query");
export const parseParams = <T>(schema: z.ZodType<T>, params: unknown): T =>
  parseWith(schema, params, "invalid_param", "path");

/** How deep content may nest: far past any chat payload, far short of what a stack can walk. */
export const MAX_CONTENT_DEPTH = 64;

/** The nesting depth of a JSON value, stopping as soon as it passes `limit`. */
function depthOver(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * 400 when content nests deeper than MAX_CONTENT_DEPTH, 413 when it is over the size limit;
 * done after the shape check, as the contract orders it.
 */
export function checkContentSize(content: unknown): void {
  if (depthOver(content, MAX_CONTENT_DEPTH)) {
    throw new HttpError(
      400,
      "invalid_body",
      `invalid body: content nests deeper than ${MAX_CONTENT_DEPTH} levels`,
    );
  }
  const serialised = JSON.stringify(content);
  const bytes = Buffer.byteLength(serialised, "utf8");
  if (bytes > MAX_CONTENT_BYTES)
    throw new HttpError(
      413,
      "too_large",
      `content is ${bytes} bytes; at most ${MAX_CONTENT_BYTES}`,
    );
}
