// Serves the web chat (dist/web, built by esbuild) at `/`: hashed assets cached for a year,
// index.html revalidated on every load so a new build is picked up at once.
import { basename } from "node:path";
import type { ServerResponse } from "node:http";
import type { Context, Middleware, Next } from "koa";
import serve from "koa-static";

/** esbuild's default asset names carry a content hash: `app-5KJ2XQ7A.js`. */
const HASHED = /[.-][A-Za-z0-9]{8,}\.[a-z0-9]+$/;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Herald</title></head>
<body><h1>Herald</h1><p>The web chat is not built. Run <code>npm run build</code>; the HTTP API
is at <code>/api</code>.</p></body></html>
`;

function setHeaders(res: ServerResponse, path: string): void {
  const file = basename(path);
  if (file === "index.html") res.setHeader("Cache-Control", "no-cache");
  else if (HASHED.test(file)) res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
  else res.setHeader("Cache-Control", "public, max-age=300");
}

/** The page's policy (as in index.html's meta tag, plus what only a header can say:
 * frame-ancestors), on every response: the page, its assets and the API alike. */
const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "font-src 'self'; connect-src 'self' http: https: ws: wss:; object-src 'none'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    ctx.set(SECURITY_HEADERS);
    await next();
  };
}

export function webMiddleware(root: string): Middleware[] {
  const files = serve(root, { index: "index.html", setHeaders, hidden: false });
  const fallback = async (ctx: Context, next: Next): Promise<void> => {
    if ((ctx.method === "GET" || ctx.method === "HEAD") && ctx.path === "/") {
      ctx.set("Cache-Control", "no-cache");
      ctx.type = "html";
      ctx.body = NOT_BUILT;
      return;
    }
    await next();
  };
  return [files as Middleware, fallback];
}
