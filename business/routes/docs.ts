// The API description: /api/openapi.json, and /api/docs rendering it with swagger-ui-dist's
// files served from here, so the page makes no request outside this server.
import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { z } from "zod";
import { openApiDocument } from "../openapi.js";
import type { ApiRouter } from "./api-router.js";

const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const ASSETS = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
} as const;
type Asset = keyof typeof ASSETS;
const FILES = z.enum([...(Object.keys(ASSETS) as Asset[]), "init.js"]);

/** The page's own policy: its scripts and styles from here only. Swagger UI sets inline
 * styles, which the web chat's policy (web.ts) forbids. */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Herald API</title>
<link rel="icon" href="/api/docs/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>
`;

/** No inline script under the policy above: the page's start is a file too. validatorUrl null
 * keeps Swagger UI from asking validator.swagger.io about the document. */
const INIT = `SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#docs", validatorUrl: null,
  deepLinking: true, presets: [SwaggerUIBundle.presets.apis] });
`;

const html = { contentType: "text/html", description: "the Swagger UI page" };

export function docsRoutes(api: ApiRouter): void {
  let document: object | undefined;

  api.define(
    {
      method: "get",
      path: "/api/openapi.json",
      summary: "This description (OpenAPI 3.1)",
      tag: "docs",
      session: false,
      responses: { 200: { contentType: "application/json", description: "OpenAPI 3.1" } },
    },
    async (ctx) => {
      // Built on first ask, once every route module has defined its routes.
      document ??= openApiDocument(api.specs);
      ctx.body = document;
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/docs",
      summary: "This description, rendered (Swagger UI)",
      tag: "docs",
      session: false,
      responses: { 200: html },
    },
    async (ctx) => {
      ctx.set("Content-Security-Policy", DOCS_CSP);
      ctx.set("Cache-Control", "no-cache");
      ctx.type = "html";
      ctx.body = PAGE;
    },
  );

  api.define(
    {
      method: "get",
      path: "/api/docs/:file",
      summary: "The docs page's scripts and styles",
      tag: "docs",
      session: false,
      params: z.object({ file: FILES }),
      responses: { 200: { contentType: "application/octet-stream", description: "the file" } },
    },
    async (ctx, { params: { file } }) => {
      ctx.set("Cache-Control", "public, max-age=300");
      if (file === "init.js") {
        ctx.type = "text/javascript; charset=utf-8";
        ctx.body = INIT;
        return;
      }
      ctx.type = ASSETS[file];
      ctx.body = createReadStream(join(SWAGGER_DIR, file));
    },
  );
}
