import type Router from "@koa/router";
import { z } from "zod";
import { receiveFile } from "../files/incoming.js";
import { VARIANTS } from "../files/links.js";
import { FILE_ID } from "../files/service.js";
import { sessionOf } from "../session.js";
import { parseParams, parseQuery } from "../validation.js";
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

export function fileRoutes(routes: Router, { services, session }: RouteDeps): void {
  const { files } = services;

  routes.post(UPLOAD_PATH, session, async (ctx) => {
    ctx.status = 201;
    ctx.body = await files.upload(sessionOf(ctx).userId, () => receiveFile(ctx.req));
  });

  // Before /api/files/:fileId, which would take "limits" for an id.
  routes.get("/api/files/limits", session, (ctx) => {
    ctx.body = files.limits();
  });

  routes.get("/api/files/:fileId", session, async (ctx) => {
    const { fileId } = parseParams(fileParams, ctx.params);
    // Koa 3's ctx.origin is the Origin header; links name the address the caller used.
    const origin = `${ctx.protocol}://${ctx.host}`;
    ctx.body = await files.describe(sessionOf(ctx).userId, fileId, origin);
  });

  // The signed link: no session, the signature is the permission.
  routes.get("/files/:fileId/:variant", async (ctx) => {
    const { fileId, variant } = parseParams(linkParams, ctx.params);
    const { exp, sig } = parseQuery(linkQuery, ctx.query);
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
  });
}
