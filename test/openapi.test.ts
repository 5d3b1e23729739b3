// The API description (CONTRACT.md "API description"): every route of the @koa/router table is
// described, /api/openapi.json is OpenAPI 3.1 in shape, every answer of a tour of the whole API
// matches the schema described for its status, and /api/docs renders in Chromium from this
// server alone.
import { expect } from "chai";
import { existsSync } from "node:fs";
import Router from "@koa/router";
import { chromium, type Browser } from "playwright-core";
import { z } from "zod";
import { describedRoutes } from "../business/app.js";
import { errorAnswer, errorCodes, openApiPath } from "../business/openapi.js";
import { statusOf } from "../business/http-error.js";
import { ApiRouter, type RouteSpec } from "../business/routes/api-router.js";
import { OPS_PATHS } from "../config/ops.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import { PostgresStoreEngine } from "../engine/postgres/postgres-engine.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";
import {
  startHarness,
  type ApiResponse,
  type Harness,
  type RequestOptions,
  type TestUser,
} from "./helpers/business.js";

/** Routes left out of the description on purpose: the ops endpoints (config/ops.ts). */
const UNDESCRIBED: readonly string[] = OPS_PATHS;
const CHROMIUM = "/usr/bin/chromium";

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/** "METHOD /path" of each route in the router's table that no spec describes. */
function undescribed(api: ApiRouter): string[] {
  const specs = new Set(api.specs.map((spec) => key(spec.method, spec.path)));
  return api.router.stack.flatMap((layer) =>
    layer.methods
      .filter((method) => method !== "HEAD" && !UNDESCRIBED.includes(String(layer.path)))
      .map((method) => key(method, String(layer.path)))
      .filter((route) => !specs.has(route)),
  );
}

/** The spec of the route that answers `method path`, as the router matches it. */
function specFor(api: ApiRouter, method: string, path: string): RouteSpec | undefined {
  const pathname = new URL(path, "http://x").pathname;
  const matched = api.router.match(pathname, method).pathAndMethod;
  for (const layer of matched) {
    const spec = api.specs.find((s) => key(s.method, s.path) === key(method, String(layer.path)));
    if (spec) return spec;
  }
  return undefined;
}

/** Why `answer` does not match what `spec` describes for its status, or null when it does. */
function mismatch(spec: RouteSpec, answer: ApiResponse): string | null {
  const described = spec.responses[answer.status];
  if (described === null) return answer.body === null ? null : "a body where none is described";
  if (described !== undefined) {
    if ("contentType" in described) {
      return answer.headers.get("content-type") ? null : "no Content-Type on a file answer";
    }
    const parsed = described.safeParse(answer.body);
    return parsed.success ? null : z.prettifyError(parsed.error);
  }
  const codes = errorCodes(spec).filter((code) => statusOf(code) === answer.status);
  if (codes.length === 0) return `status ${answer.status} is not described`;
  const parsed = errorAnswer(codes).safeParse(answer.body);
  return parsed.success ? null : z.prettifyError(parsed.error);
}

// The tour runs on the memory store and on the PostgreSQL one (every route, groups too).
for (const store of ["memory", "postgres"] as const)
  describe(`API description (${store} store)`, function () {
    this.timeout(30_000);

    let postgres: TestPostgres | null = null;
    let h: Harness;
    let api: ApiRouter;
    /** "METHOD /path" of each spec the tour has had answered. */
    const toured = new Set<string>();

    /** One request of the tour: its answer must match its route's description. */
    async function call(
      method: string,
      path: string,
      options: RequestOptions = {},
      expected?: number,
    ): Promise<ApiResponse> {
      const answer = await h.api(method, path, options);
      return check(method, path, answer, expected);
    }

    function check(method: string, path: string, answer: ApiResponse, expected?: number) {
      const spec = specFor(api, method, path);
      expect(spec, `${method} ${path} has no description`).to.not.equal(undefined);
      const why = mismatch(spec!, answer);
      expect(why, `${method} ${path} → ${answer.status} ${JSON.stringify(answer.body)}`).to.equal(
        null,
      );
      if (expected !== undefined) expect(answer.status, `${method} ${path}`).to.equal(expected);
      toured.add(key(spec!.method, spec!.path));
      return answer;
    }

    before(async () => {
      if (store === "postgres") postgres = await startPostgres();
      const url = postgres?.url;
      h = await startHarness(
        () =>
          url === undefined
            ? new MemoryEngine()
            : PostgresStoreEngine.open(new MemoryEngine(), { url }),
        { env: { IM_ADMINS: "tour_root" } },
      );
      api = describedRoutes(h.business.app);
      await h.fakeNode("im-tour");
    });

    after(async () => {
      await h.close();
      await postgres?.destroy();
    });

    it("describes every route in the @koa/router table (ops endpoints aside)", () => {
      expect(undescribed(api)).to.deep.equal([]);
      expect(api.specs.length).to.be.greaterThan(30);
    });

    it("the router walk finds a route mounted without a description", () => {
      const router = new Router();
      const bare = new ApiRouter(router, {
        session: (_, next) => next(),
        json: (_, next) => next(),
      });
      router.get("/api/hidden", (ctx) => void (ctx.body = {}));
      expect(undescribed(bare)).to.deep.equal(["GET /api/hidden"]);
    });

    it("GET /api/openapi.json is OpenAPI 3.1: every operation has responses and its path params", async () => {
      const { status, body: doc } = await call("GET", "/api/openapi.json");
      expect(status).to.equal(200);
      expect(doc.openapi).to.equal("3.1.0");
      expect(doc.info.title).to.be.a("string");
      expect(doc.info.version).to.be.a("string");
      expect(doc.components.securitySchemes.session.scheme).to.equal("bearer");
      for (const spec of api.specs) {
        const op = doc.paths[openApiPath(spec.path)]?.[spec.method];
        expect(op, key(spec.method, spec.path)).to.be.an("object");
      }
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a JSON document
      for (const [path, operations] of Object.entries<Record<string, any>>(doc.paths)) {
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        for (const [method, op] of Object.entries(operations)) {
          const where = `${method} ${path}`;
          expect(["get", "post", "put", "patch", "delete"], where).to.include(method);
          expect(op.summary, where).to.be.a("string");
          const responses = Object.entries<{ description?: unknown }>(op.responses);
          expect(responses.length, where).to.be.greaterThan(0);
          for (const [status, response] of responses) {
            expect(status, where).to.match(/^[1-5]\d\d$/);
            expect(response.description, `${where} ${status}`).to.be.a("string");
          }
          const params = (op.parameters ?? []) as { name: string; in: string }[];
          const named = params.filter((p) => p.in === "path").map((p) => p.name);
          expect(named.sort(), where).to.deep.equal(inPath);
          if (op.security?.length) expect(op.responses["401"], where).to.be.an("object");
        }
      }
      const unauthorized = doc.paths["/api/me"].get.responses["401"];
      const code = unauthorized.content["application/json"].schema.properties.error.properties.code;
      expect(code.enum).to.include("unauthorized");
      expect(doc.paths["/api/messages"].post.responses["403"].description).to.include(
        "not_friends",
      );
      const required = (path: string) =>
        Object.fromEntries(
          (doc.paths[path].get.parameters as { name: string; required: boolean }[]).map((p) => [
            p.name,
            p.required,
          ]),
        );
      // ?ids= or ?username=: neither alone is required; history needs ?peer=, not ?after=.
      expect(required("/api/users")).to.deep.equal({ ids: false, username: false });
      expect(required("/api/messages")).to.deep.equal({ after: false, limit: false, peer: true });
    });

    it("a tour of the whole API answers as described, status by status", async () => {
      // Accounts.
      await call("POST", "/api/register", { body: { username: "tour_root", password: "x" } }, 400);
      await call(
        "POST",
        "/api/register",
        { body: { username: "tour_root", password: "password123" } },
        403,
      );
      const alice = (
        await call(
          "POST",
          "/api/register",
          { body: { username: "tour_alice", password: "password123" } },
          201,
        )
      ).body as TestUser;
      await call(
        "POST",
        "/api/register",
        { body: { username: "tour_alice", password: "password123" } },
        409,
      );
      await call(
        "POST",
        "/api/login",
        { body: { username: "tour_alice", password: "wrong-password" } },
        401,
      );
      alice.token = (
        await call(
          "POST",
          "/api/login",
          { body: { username: "tour_alice", password: "password123" } },
          200,
        )
      ).body.token;
      const bob = await h.user("tour_bob");
      const carol = await h.user("tour_carol");
      const as = (user: TestUser, body?: unknown): RequestOptions => ({ token: user.token, body });
      await call("GET", "/api/me", {}, 401);
      await call("GET", "/api/me", as(alice), 200);
      await call("POST", "/api/connect", as(alice), 200);
      await call("GET", "/api/users?username=tour_bob", as(alice), 200);
      await call("GET", "/api/users?username=nobody_here", as(alice), 404);
      await call("GET", `/api/users?ids=${bob.userId},${carol.userId}`, as(alice), 200);

      // Friends, DMs, edits, reactions, recall.
      await call("POST", "/api/messages", as(alice, { to: bob.userId, content: "hi" }), 403);
      await call("POST", `/api/friends/${alice.userId}`, as(alice), 400);
      expect(
        (await call("POST", `/api/friends/${bob.userId}`, as(alice), 200)).body.status,
      ).to.equal("pending");
      await call("POST", `/api/friends/${alice.userId}`, as(bob), 200);
      await call("POST", `/api/friends/${carol.userId}`, as(alice), 200);
      await call("POST", `/api/friends/${alice.userId}`, as(carol), 200);
      await call("GET", "/api/friends", as(alice), 200);
      await call("GET", `/api/presence?ids=${bob.userId}`, as(alice), 200);
      const dm = (
        await call(
          "POST",
          "/api/messages",
          as(alice, { to: bob.userId, content: { text: "hi" } }),
          202,
        )
      ).body;
      await call(
        "POST",
        "/api/messages",
        as(alice, { to: [bob.userId, carol.userId], content: "both" }),
        202,
      );
      await call("POST", "/api/messages", as(alice, { to: bob.userId }), 400);
      // Only the PostgreSQL store has full-text search.
      await call("GET", "/api/search?q=hi", as(alice), store === "postgres" ? 200 : 501);
      await call("GET", `/api/search?q=&peer=${bob.userId}`, as(alice), 400);
      await call("PATCH", `/api/messages/${dm.id}`, as(alice, { content: "hi!" }), 202);
      await call("PATCH", `/api/messages/${dm.id}`, as(bob, { content: "mine" }), 403);
      await call("POST", `/api/messages/${dm.id}/reactions`, as(bob, { emoji: "👍" }), 202);
      await call("POST", `/api/messages/${dm.id}/reactions`, as(bob, { emoji: "👍" }), 204);
      await call(
        "DELETE",
        `/api/messages/${dm.id}/reactions/${encodeURIComponent("👍")}`,
        as(bob),
        202,
      );
      await call("POST", `/api/typing`, as(bob, { peer: alice.userId }), 204);
      await call("GET", `/api/messages?peer=${bob.userId}`, as(alice), 200);
      await call("DELETE", `/api/messages/${dm.id}`, as(alice), 202);
      await call("PATCH", `/api/messages/${dm.id}`, as(alice, { content: "again" }), 409);
      await call("GET", `/api/messages?peer=${alice.userId}`, as(bob), 200);
      await call("DELETE", `/api/messages/nope`, as(alice), 404);
      await call("DELETE", `/api/friends/${carol.userId}`, as(alice), 204);
      await call("POST", "/api/messages", as(alice, { to: carol.userId, content: "hi" }), 403);

      // Channels.
      await call("POST", "/api/channels/tour/join", as(alice), 200);
      await call("POST", "/api/channels/tour/join", as(bob), 200);
      await call("GET", "/api/channels", as(alice), 200);
      await call("GET", "/api/channels/tour", as(alice), 200);
      await call("GET", "/api/channels/nowhere", as(alice), 404);
      await call("GET", "/api/channels/bad%20name", as(alice), 400);
      const post = (
        await call(
          "POST",
          "/api/channels/tour/messages",
          as(alice, { content: "hello", mentions: [bob.userId] }),
          202,
        )
      ).body;
      await call("POST", "/api/channels/tour/messages", as(carol, { content: "let me in" }), 403);
      await call("GET", "/api/channels/tour/messages?limit=10", as(bob), 200);
      await call("POST", "/api/read", as(bob, { channel: "tour", seq: post.seq }), 200);
      await call("POST", "/api/read", as(bob, { peer: alice.userId, seq: 1 }), 200);
      await call("POST", "/api/read", as(bob, { seq: 1 }), 400);
      await call("GET", `/api/channels/tour/readers?seq=${post.seq}`, as(alice), 200);
      await call("GET", "/api/conversations", as(bob), 200);
      await call(
        "POST",
        "/api/sync",
        as(bob, {
          cursors: [
            { channel: "tour", seq: 0 },
            { peer: alice.userId, seq: 0 },
          ],
        }),
        200,
      );
      await call(
        "POST",
        "/api/sync",
        { token: bob.token, raw: "{", headers: { "content-type": "application/json" } },
        400,
      );
      await call(
        "POST",
        "/api/sync",
        { token: bob.token, raw: "x", headers: { "content-type": "text/plain" } },
        415,
      );
      await call("POST", "/api/channels/tour/leave", as(bob), 200);

      // Channels with owners (alice owns "tour"), moderation and blocks.
      await call("POST", "/api/channels", as(alice, { name: "club", visibility: "private" }), 201);
      await call("POST", "/api/channels", as(bob, { name: "club" }), 409);
      await call("POST", "/api/channels", as(bob, { name: "bad name" }), 400);
      await call("GET", "/api/channels/club", as(bob), 404);
      await call("POST", "/api/channels/club/join", as(bob), 403);
      await call("POST", "/api/channels/club/invites", as(alice, { userId: bob.userId }), 200);
      await call("POST", "/api/channels/club/invites", as(alice, { userId: "nobody" }), 404);
      await call("POST", "/api/channels/club/join", as(bob), 200);
      await call("POST", "/api/channels/club/join", as(carol), 403);
      await call("GET", "/api/channels/club/members?limit=10", as(bob), 200);
      await call("GET", "/api/channels/club/members", as(carol), 404);
      const promote = `/api/channels/club/members/${bob.userId}`;
      await call("POST", promote, as(alice, { role: "admin" }), 200);
      await call("POST", promote, as(alice, { role: "owner" }), 400);
      await call(
        "POST",
        `/api/channels/club/members/${alice.userId}`,
        as(bob, { role: "member" }),
        403,
      );
      await call("POST", `${promote}/mute`, as(alice, { seconds: 60 }), 200);
      await call("POST", "/api/channels/club/messages", as(bob, { content: "hush" }), 403);
      await call("DELETE", `${promote}/mute`, as(alice), 204);
      await call(
        "POST",
        `/api/channels/club/members/${carol.userId}/mute`,
        as(alice, { seconds: 9 }),
        404,
      );
      await call("POST", "/api/channels/club/owner", as(alice, { userId: bob.userId }), 200);
      await call("POST", "/api/channels/club/owner", as(alice, { userId: bob.userId }), 403);
      await call("DELETE", `/api/channels/club/members/${alice.userId}?ban=true`, as(bob), 204);
      await call("DELETE", `/api/channels/club/members/${alice.userId}?ban=maybe`, as(bob), 400);
      await call("DELETE", `/api/channels/club/bans/${alice.userId}`, as(bob), 204);
      await call("DELETE", `/api/channels/club/bans/${alice.userId}`, as(carol), 404);
      await call("POST", `/api/blocks/${carol.userId}`, as(alice), 204);
      await call("POST", `/api/blocks/${alice.userId}`, as(alice), 400);
      await call("POST", `/api/friends/${alice.userId}`, as(carol), 403);
      await call("GET", "/api/blocks", as(alice), 200);
      await call("DELETE", `/api/blocks/${carol.userId}`, as(alice), 204);

      // Files: upload, its record, its signed link.
      const form = new FormData();
      form.append(
        "file",
        new Blob([new Uint8Array([1, 2, 3])], { type: "application/octet-stream" }),
        "a.bin",
      );
      const uploadAnswer = await fetch(`${h.business.url}/api/files`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice.token}` },
        body: form,
      });
      const file = check(
        "POST",
        "/api/files",
        {
          status: uploadAnswer.status,
          headers: uploadAnswer.headers,
          body: await uploadAnswer.json(),
        },
        201,
      ).body;
      const record = (await call("GET", `/api/files/${file.fileId}`, as(alice), 200)).body;
      await call("GET", `/api/files/${file.fileId}`, as(carol), 404);
      await call("GET", "/api/files/limits", as(alice), 200);
      const link = new URL(record.url);
      const download = await fetch(link);
      check(
        "GET",
        link.pathname + link.search,
        { status: download.status, headers: download.headers, body: await download.arrayBuffer() },
        200,
      );
      await call("GET", `${link.pathname}?exp=1&sig=abc`, {}, 403);

      // Operators; then logout.
      const root = await h.operator("tour_root");
      await call("POST", "/api/broadcast", as(alice, { content: "all" }), 403);
      await call("POST", "/api/broadcast", as(root, { content: "all" }), 202);
      await call("POST", `/api/users/${carol.userId}/disconnect`, as(root), 204);
      await call("POST", "/api/logout", as(alice), 204);
      await call("POST", "/api/logout", as(alice), 401);

      // The docs' own routes.
      await call("GET", "/api/docs", {}, 200);
      await call("GET", "/api/docs/swagger-ui.css", {}, 200);
      await call("GET", "/api/docs/other.js", {}, 400);

      const missed = api.specs.map((s) => key(s.method, s.path)).filter((k) => !toured.has(k));
      expect(missed, "routes the tour never called").to.deep.equal([]);
    });

    describe("GET /api/docs in Chromium", () => {
      let browser: Browser;

      before(async function () {
        if (!existsSync(CHROMIUM))
          throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
          ],
          headless: true,
        });
      });

      after(() => browser?.close());

      it("renders every route from this server's own files, with no request elsewhere and no error", async () => {
        const page = await browser.newPage();
        const origin = new URL(h.business.url).origin;
        const requests: string[] = [];
        const problems: string[] = [];
        page.on("request", (request) => requests.push(request.url()));
        page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
        page.on("console", (msg) => {
          if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
        });
        await page.goto(`${h.business.url}/api/docs`);
        await page
          .locator(".opblock-summary-path", { hasText: "/api/messages/{id}/reactions/{emoji}" })
          .first()
          .waitFor({ timeout: 15_000 });
        expect(await page.locator(".opblock").count()).to.equal(api.specs.length);
        await page.close();
        expect(problems).to.deep.equal([]);
        expect(requests.length).to.be.greaterThan(3);
        expect(
          requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith("data:")),
        ).to.deep.equal([]);
      });
    });
  });
