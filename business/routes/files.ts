import { z } from "zod";
import { receiveFile } from "../files/incoming.js";
import { VARIANTS } from "../files/links.js";
import { FILE_ID } from "../files/service.js";
import { sessionOf } from "../session.js";
import type { ApiRouter } from "./api-router.js";
import { fileAnswer, fileLimitsAnswer, uploadedFile } from "./answers.js";
import type { RouteDeps } from "./types.js";

/** The upload route takes any body type: a JSON-only guard on /api/* must let this path by. */
export const UPLOAD_PATH = "/api/files";

const fileParams = z.object({ fileId: z.string().regex(FILE_ID, "a file id") });
const linkParams = fileParams.extend({ variant: z.enum(VARIANTS) });
const linkQuery = z.object({
  exp: z
    .string()
    .regex(/^\d{1,12}$/, "seconds since the epoch")
    .transform(Number),
  sig: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "a signature"),
});
const tag = "files";

export function fileRoutes(api: ApiRouter, { services }: RouteDeps): void {
  const { files } = services;

  api.define(
    {
      method: "post",
      path: UPLOAD_PATH,
      summary: "Upload one file (multipart, streamed; images are checked and thumbnailed)",
      tag,
      rawBody: {
        contentType: "multipart/form-data",
        description:
          "a part named `file`; or the bytes as the whole body, typed by Content-Type " +
          "and named by X-Filename (URI-encoded)",
        schema: z.object({ file: z.string().meta({ format: "binary" }) }),
      },
      responses: { 201: uploadedFile },
      errors: ["invalid_upload", "invalid_file", "too_large", "quota_exceeded"],
    },
    async (ctx) => {
      ctx.status = 201;
      ctx.body = await files.upload(sessionOf(ctx).userId, () => receiveFile(ctx.req));
    },
  );

  // Before /api/files/:fileId, which would take "limits" for an id.
  api.define(
    {
      method: "get",
      path: "/api/files/limits",
      summary: "What an upload may be: its largest size and how many files one message carries",
      tag,
      responses: { 200: fileLimitsAnswer },
    },
    async (ctx) => {
      ctx.body = files.limits();
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/files/:fileId",
      summary: "A file's record and signed links (uploader or a participant where it was shared)",
      tag,
      params: fileParams,
      responses: { 200: fileAnswer },
      errors: ["file_not_found"],
    },
    async (ctx, { params: { fileId } }) => {
      // Koa 3's ctx.origin is the Origin header; links name the address the caller used.
      const origin = `${ctx.protocol}://${ctx.host}`;
      ctx.body = await files.describe(sessionOf(ctx).userId, fileId, origin);
    },
  );

  api.define(
    {
      method: "get",
      path: "/files/:fileId/:variant",
      summary: "A file's bytes by signed link (no session: the signature is the permission)",
      tag,
      session: false,
      params: linkParams,
      query: linkQuery,
      responses: {
        200: { contentType: "application/octet-stream", description: "the bytes, as uploaded" },
      },
      errors: ["link_expired", "link_invalid", "file_not_found"],
    },
    async (ctx, { params: { fileId, variant }, query: { exp, sig } }) => {
      const { body, size, headers } = await files.download(fileId, variant, exp, sig);
      ctx.set({
        "Content-Type": headers.contentType,
        "Content-Disposition": headers.contentDisposition,
        "X-Content-Type-Options": "nosniff",
        // Opened on its own, a file runs nothing and reaches nothing on this origin.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": `private, max-age=${Math.max(0, exp - Math.floor(Date.now() / 1000))}`,
      });
      ctx.body = body;
      ctx.length = size;
    },
  );
}
