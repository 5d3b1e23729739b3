// Bundles the web chat (client/web, Preact + the client SDK + socket.io-client) into dist/web:
// index.html plus content-hashed app-[hash].js and app-[hash].css, so business can cache the
// assets forever and index.html never. Nothing is loaded from outside the server.
import { build } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "web");

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

const result = await build({
  entryPoints: { app: join(root, "client", "web", "main.tsx") },
  bundle: true,
  outdir,
  entryNames: "[name]-[hash]",
  format: "esm",
  platform: "browser",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => /^app-[A-Z0-9]+\.js$/i.test(f));
const css = outputs.find((f) => /^app-[A-Z0-9]+\.css$/i.test(f));
if (!js || !css) throw new Error(`build-web: expected app-[hash].js and .css, got ${outputs}`);

const template = await readFile(join(root, "client", "web", "index.html"), "utf8");
const html = template.replace("%APP_CSS%", `/${css}`).replace("%APP_JS%", `/${js}`);
await writeFile(join(outdir, "index.html"), html);
process.stdout.write(`build-web: dist/web/index.html, ${js}, ${css}\n`);
