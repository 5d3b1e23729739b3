// The OpenAPI 3.1 document of the routes defined through ApiRouter, built from their own zod
// schemas (zod's JSON Schema output is draft 2020-12, which OpenAPI 3.1 uses as is).
import { z } from "zod";
import { statusOf, type ErrorCode } from "./http-error.js";
import type { Answer, RawBody, RouteSpec } from "./routes/api-router.js";

type JsonSchema = Record<string, unknown>;

/** What every answer but a success carries (CONTRACT.md): `{error: {code, message}}`. */
export function errorAnswer(codes: readonly string[]) {
  return z.object({
    error: z.object({
      code: z.enum(codes as [string, ...string[]]),
      message: z.string(),
      mutedUntil: z.number().optional().describe("`muted` only: ms until the mute ends"),
    }),
  });
}

const SESSION_ERRORS: ErrorCode[] = ["unauthorized", "rate_limited"];
const BODY_ERRORS: ErrorCode[] = [
  "invalid_body",
  "invalid_json",
  "unsupported_media_type",
  "too_large",
];

/** A route's own codes and those of what ApiRouter.define puts before its handler. */
export function errorCodes(spec: RouteSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>(spec.errors);
  if (spec.session !== false) SESSION_ERRORS.forEach((code) => codes.add(code));
  if (spec.params) codes.add("invalid_param");
  if (spec.query) codes.add("invalid_query");
  if (spec.body) BODY_ERRORS.forEach((code) => codes.add(code));
  codes.add("unavailable");
  return [...codes];
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  // Refinements and transforms have no JSON Schema form: their input (or output) side is shown.
  const converted: JsonSchema = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  delete converted.$schema;
  return converted;
}

/** `/api/messages/:id` → `/api/messages/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, "{$1}");
}

/** A query or path schema's fields as parameters; a union's fields are required only when
 * every branch requires them. */
function parameters(schema: z.ZodType, where: "path" | "query"): JsonSchema[] {
  const root = jsonSchema(schema, "input");
  const branches = (root.anyOf ?? root.oneOf ?? [root]) as JsonSchema[];
  const fields = new Map<string, JsonSchema>();
  for (const branch of branches) {
    for (const [name, property] of Object.entries((branch.properties ?? {}) as JsonSchema)) {
      if (!fields.has(name)) fields.set(name, property as JsonSchema);
    }
  }
  const requiredEverywhere = (name: string) =>
    branches.every((branch) => ((branch.required ?? []) as string[]).includes(name));
  return [...fields].map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || requiredEverywhere(name),
    schema: property,
  }));
}

function isRaw(answer: Answer): answer is RawBody {
  return answer !== null && "contentType" in answer;
}

function successResponse(answer: Answer): JsonSchema {
  if (answer === null) return { description: "no body" };
  if (isRaw(answer)) {
    const content = answer.schema ? { schema: jsonSchema(answer.schema, "output") } : {};
    return { description: answer.description, content: { [answer.contentType]: content } };
  }
  return {
    description: answer.description ?? "success",
    content: { "application/json": { schema: jsonSchema(answer, "output") } },
  };
}

function operation(spec: RouteSpec): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, answer] of Object.entries(spec.responses))
    responses[status] = successResponse(answer);
  const byStatus = new Map<number, string[]>();
  for (const code of errorCodes(spec)) {
    const status = statusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: codes.map((code) => `\`${code}\``).join(", "),
      content: { "application/json": { schema: jsonSchema(errorAnswer(codes), "output") } },
    };
  }
  const op: JsonSchema = {
    operationId: `${spec.method}${openApiPath(spec.path).replace(/\W+(\w)?/g, (_, c?: string) => (c ?? "").toUpperCase())}`,
    summary: spec.summary,
    tags: [spec.tag],
    security: spec.session === false ? [] : [{ session: [] }],
    responses,
  };
  if (spec.description) op.description = spec.description;
  const params = [
    ...(spec.params ? parameters(spec.params, "path") : []),
    ...(spec.query ? parameters(spec.query, "query") : []),
  ];
  if (params.length > 0) op.parameters = params;
  if (spec.body) {
    op.requestBody = {
      required: true,
      content: { "application/json": { schema: jsonSchema(spec.body, "input") } },
    };
  } else if (spec.rawBody) {
    const { contentType, description, schema } = spec.rawBody;
    op.requestBody = {
      required: true,
      description,
      content: { [contentType]: schema ? { schema: jsonSchema(schema, "input") } : {} },
    };
  }
  return op;
}

export function openApiDocument(specs: readonly RouteSpec[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of specs) (paths[openApiPath(spec.path)] ??= {})[spec.method] = operation(spec);
  return {
    openapi: "3.1.0",
    info: {
      title: "Herald HTTP API",
      // The contract's version (CONTRACT.md), not the package's.
      version: "2",
      description:
        "Every error answers `{error: {code, message}}`; a 429 carries `Retry-After`. " +
        "Pushes arrive on the socket that POST /api/connect opens (CONTRACT.md).",
    },
    components: {
      securitySchemes: {
        session: { type: "http", scheme: "bearer", description: "the token from /api/login" },
      },
    },
    paths,
  };
}
