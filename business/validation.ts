// Every input crosses zod here: bodies, queries and path params, each failure a 400 HttpError
// whose code says which part was wrong. The schemas shared by several routes live here too.
import { z } from "zod";
import { HttpError } from "./http-error.js";

/** At most 64 KiB once serialised (CONTRACT.md). */
export const MAX_CONTENT_BYTES = 64 * 1024;

export const userIdSchema = z.string().min(1).max(256);
export const usernameSchema = z
  .string()
  .min(3)
  .max(32)
  .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _, . and - only");
/** An imServer node id, as IM_NODE_ID allows it. */
export const nodeIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);
export const passwordSchema = z.string().min(8).max(256);
export const channelNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, _ and -");

/** Any JSON value but null; a missing key is undefined and fails too. */
export const contentSchema = z
  .unknown()
  .refine((value) => value !== undefined && value !== null, "content is required (not null)");

/** A non-negative integer in a query string; no signs, fractions or exponents. */
const queryInt = z
  .string()
  .regex(/^\d{1,15}$/, "a non-negative integer")
  .transform(Number);

export const pageQuerySchema = z.object({
  after: queryInt.default(0),
  limit: queryInt.pipe(z.number().int().min(1).max(200)).default(50),
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
