// The holes of issue 8 that business closes (docs/CONTRACT.md, "Limits and hardening"), each
// proven against the real HTTP API on both engines: reserved operator names and the admin
// command, limits keyed by what they protect (and shared by business instances over Redis), JSON
// only, the storage quota, force offline ending sessions, the page's headers, paged channels,
// lookalike usernames, and logs that hold no secret whatever Redis answers.
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { ConfigError, loadConfig } from "../config/index.js";
import { createLogger, serializeError } from "../config/logger.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { runAdminCli } from "./helpers/admin-cli.js";
import {
  engineKinds,
  startHarness,
  uniqueName,
  type EngineKind,
  type Harness,
  type TestUser,
} from "./helpers/business.js";
import { TEST_RATE_ENV, testConfig } from "./helpers/config.js";
import { startHerald, type Herald } from "../herald.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";

const PASSWORD = "password123";

async function befriend(h: Harness, a: TestUser, b: TestUser): Promise<void> {
  await h.api("POST", `/api/friends/${b.userId}`, { token: a.token });
  await h.api("POST", `/api/friends/${a.userId}`, { token: b.token });
}

const register = (h: Harness, username: string, headers: Record<string, string> = {}) =>
  h.api("POST", "/api/register", { body: { username, password: PASSWORD }, headers });

function hardeningSuite({ name: engineName, make: makeEngine, stop }: EngineKind): void {
  describe(`hardening: business (${engineName} engine)`, function () {
    const open: Harness[] = [];
    const harness = async (options: Parameters<typeof startHarness>[1] = {}) => {
      const h = await startHarness(makeEngine, options);
      open.push(h);
      return h;
    };
    afterEach(async () => {
      for (const h of open.splice(0)) await h.close();
    });
    after(async () => {
      await stop?.();
    });

    describe("operator names are reserved", () => {
      it("refuses to register a name in IM_ADMINS, in any case, lookalike or compatibility form", async () => {
        const h = await harness({ env: { IM_ADMINS: "root,ops" } });
        for (const name of ["root", "ROOT", "r00t", "ｒｏｏｔ", "0PS"]) {
          const r = await register(h, name);
          expect(r.status, name).to.equal(403);
          expect(r.body.error.code).to.equal("username_reserved");
        }
        expect(await h.engine.store.userByName("root")).to.equal(null);
        expect(await h.engine.store.userByName("ops")).to.equal(null);
      });

      it("an operator made on the server can broadcast; a look-alike account cannot exist", async () => {
        const h = await harness({ env: { IM_ADMINS: "root" } });
        await h.fakeNode("n1");
        const root = await h.operator("root");
        const sent = await h.api("POST", "/api/broadcast", {
          token: root.token,
          body: { content: "hi" },
        });
        expect(sent.status).to.equal(202);
        expect((await register(h, "RooT")).body.error.code).to.equal("username_reserved");
      });
    });

    describe("limits keyed by what they protect", () => {
      it("registrations per client address: the 21st in a minute gets 429, another address does not", async () => {
        const h = await harness({
          env: { ...TEST_RATE_ENV, RATE_REGISTER_PER_MIN: "20", TRUST_PROXY: "1" },
        });
        const from = { "x-forwarded-for": "203.0.113.5, 10.0.0.1" };
        const statuses = await Promise.all(
          Array.from({ length: 30 }, () => register(h, uniqueName(), from)),
        );
        expect(statuses.filter((r) => r.status === 201)).to.have.length(20);
        const refused = statuses.filter((r) => r.status === 429);
        expect(refused).to.have.length(10);
        expect(refused[0]!.body.error.code).to.equal("rate_limited");
        expect(Number(refused[0]!.headers.get("retry-after"))).to.be.within(1, 60);
        const elsewhere = await register(h, uniqueName(), { "x-forwarded-for": "198.51.100.1" });
        expect(elsewhere.status).to.equal(201);
      });

      it("without TRUST_PROXY, X-Forwarded-For is ignored: a forged header buys no new allowance", async () => {
        const h = await harness({ env: { ...TEST_RATE_ENV, RATE_REGISTER_PER_MIN: "3" } });
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++)
          statuses.push(
            (await register(h, uniqueName(), { "x-forwarded-for": `192.0.2.${i}` })).status,
          );
        expect(statuses).to.deep.equal([201, 201, 201, 429, 429]);
      });

      it("failed logins from a foreign address never lock the owner out of their own", async () => {
        const h = await harness({
          env: { ...TEST_RATE_ENV, RATE_LOGIN_FAILURES_PER_MIN: "10", TRUST_PROXY: "1" },
        });
        const u = await h.user();
        const attacker = { "x-forwarded-for": "203.0.113.66" };
        const guesses = await Promise.all(
          Array.from({ length: 25 }, () =>
            h.api("POST", "/api/login", {
              body: { username: u.username, password: "a wrong guess" },
              headers: attacker,
            }),
          ),
        );
        expect(guesses.filter((r) => r.status === 429)).to.have.length(15);
        const owner = await h.api("POST", "/api/login", {
          body: { username: u.username, password: PASSWORD },
          headers: { "x-forwarded-for": "198.51.100.20" },
        });
        expect(owner.status).to.equal(200);
      });

      it("requests per user across sessions: a second session does not double the allowance", async () => {
        const h = await harness({ env: { ...TEST_RATE_ENV, RATE_USER_PER_S: "5" } });
        const u = await h.user();
        const second = await h.api("POST", "/api/login", {
          body: { username: u.username, password: PASSWORD },
        });
        const tokens = [u.token, second.body.token as string];
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++)
          statuses.push((await h.api("GET", "/api/me", { token: tokens[i % 2] })).status);
        // The window opens at the first request, so all six fall in it.
        expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429]);
        const other = await h.user();
        expect((await h.api("GET", "/api/me", { token: other.token })).status).to.equal(200);
      });

      it("a request its session's limit refuses does not count for its user", async () => {
        const minute = (points: number) => ({ points, durationS: 60 });
        const h = await harness({ rates: { session: minute(2), user: minute(3) } });
        const u = await h.user();
        const second = await h.api("POST", "/api/login", {
          body: { username: u.username, password: PASSWORD },
        });
        const me = async (token: string) => (await h.api("GET", "/api/me", { token })).status;
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) statuses.push(await me(u.token));
        expect(statuses).to.deep.equal([200, 200, 429, 429]);
        // The user's allowance of 3 took only the 2 that passed: one more, on another session.
        expect(await me(second.body.token as string)).to.equal(200);
        expect(await me(second.body.token as string)).to.equal(429);
      });

      it("/api/connect per user: past RATE_CONNECT_PER_MIN it answers 429", async () => {
        const h = await harness({ env: { ...TEST_RATE_ENV, RATE_CONNECT_PER_MIN: "3" } });
        await h.fakeNode("n1");
        const u = await h.user();
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++)
          statuses.push((await h.api("POST", "/api/connect", { token: u.token })).status);
        expect(statuses).to.deep.equal([200, 200, 200, 429]);
      });
    });

    describe("request bodies are JSON only", () => {
      it("a text/plain login (what a foreign page can post) is 415 and counts as no failure", async () => {
        const h = await harness({ env: { ...TEST_RATE_ENV, RATE_LOGIN_FAILURES_PER_MIN: "2" } });
        const u = await h.user();
        for (let i = 0; i < 5; i++) {
          const r = await h.api("POST", "/api/login", {
            raw: JSON.stringify({ username: u.username, password: "wrong password" }),
            headers: { "content-type": "text/plain" },
          });
          expect(r.status).to.equal(415);
          expect(r.body.error.code).to.equal("unsupported_media_type");
        }
        const owner = await h.api("POST", "/api/login", {
          body: { username: u.username, password: PASSWORD },
        });
        expect(owner.status).to.equal(200);
      });

      it("a POST without a body needs no Content-Type", async () => {
        const h = await harness();
        const u = await h.user();
        const r = await h.api("POST", "/api/channels/quiet/join", { token: u.token });
        expect(r.status).to.equal(200);
      });
    });

    describe("storage quota", () => {
      it("refuses content past QUOTA_USER_BYTES_PER_DAY with 413 quota_exceeded, storing nothing", async () => {
        const h = await harness({ env: { QUOTA_USER_BYTES_PER_DAY: "1000" } });
        await h.fakeNode("n1");
        const [a, b, c] = [await h.user(), await h.user(), await h.user()];
        await befriend(h, a, b);
        await befriend(h, a, c);
        const text = "x".repeat(298); // 300 bytes once serialised
        const send = (to: string | string[], content: unknown) =>
          h.api("POST", "/api/messages", { token: a.token, body: { to, content } });
        expect((await send(b.userId, text)).status).to.equal(202); // 300
        expect((await send([b.userId, c.userId], text)).status).to.equal(202); // 900: one per copy
        const over = await send(b.userId, text);
        expect(over.status).to.equal(413);
        expect(over.body.error.code).to.equal("quota_exceeded");
        await h.api("POST", "/api/channels/room/join", { token: a.token });
        const post = await h.api("POST", "/api/channels/room/messages", {
          token: a.token,
          body: { content: text },
        });
        expect(post.status).to.equal(413);
        // Nor does a send a check refuses (an unknown recipient, a stranger), though the charge
        // and the checks run at once: 100 bytes each, which would not leave room for the last.
        const stranger = await h.user();
        const small = "z".repeat(98);
        expect((await send(randomUUID(), small)).status).to.equal(404);
        expect((await send(stranger.userId, small)).status).to.equal(403);
        expect((await send([b.userId, randomUUID()], small)).status).to.equal(404);
        // A refused message took nothing: what still fits goes through.
        expect((await send(b.userId, "y".repeat(98))).status).to.equal(202); // 1000
        const history = await h.api("GET", `/api/messages?peer=${b.userId}`, { token: a.token });
        expect(history.body.messages).to.have.length(3);
        // Another user has their own allowance.
        expect(
          (
            await h.api("POST", "/api/messages", {
              token: b.token,
              body: { to: a.userId, content: text },
            })
          ).status,
        ).to.equal(202);
      });
    });

    describe("a direct send's checks", () => {
      it("a block refuses first (before replyTo and the quota), at the append itself, charging nothing", async () => {
        const h = await harness({ env: { QUOTA_USER_BYTES_PER_DAY: "1000" } });
        await h.fakeNode("n1");
        const [a, b] = [await h.user(), await h.user()];
        await befriend(h, a, b);
        const text = "x".repeat(298); // 300 bytes once serialised
        const send = (body: Record<string, unknown>) =>
          h.api("POST", "/api/messages", { token: a.token, body: { to: b.userId, ...body } });
        expect((await send({ content: text })).status).to.equal(202); // 300
        expect(
          (await h.api("POST", `/api/blocks/${a.userId}`, { token: b.token })).status,
        ).to.equal(204);
        for (const body of [
          { content: text },
          { content: text, replyTo: randomUUID() },
          { content: "x".repeat(2000) }, // past the quota too
        ]) {
          const refused = await send(body);
          expect(refused.status, JSON.stringify(body).slice(0, 60)).to.equal(403);
          expect(refused.body.error.code).to.equal("blocked");
        }
        expect(
          (await h.api("DELETE", `/api/blocks/${a.userId}`, { token: b.token })).status,
        ).to.equal(204);
        await befriend(h, a, b); // the block ended the friendship
        // Nothing refused was charged: 700 bytes still fit, and nothing refused was stored.
        expect((await send({ content: text })).status).to.equal(202); // 600
        expect((await send({ content: text })).status).to.equal(202); // 900
        expect((await send({ content: text })).status).to.equal(413);
        const history = await h.api("GET", `/api/messages?peer=${b.userId}`, { token: a.token });
        expect(history.body.messages).to.have.length(3);
      });
    });

    describe("force offline", () => {
      it("ends every session of the user and spends their connect tokens: they must log in again", async () => {
        const h = await harness({ env: { IM_ADMINS: "boss" } });
        const node = await h.fakeNode("n1");
        const boss = await h.operator("boss");
        const u = await h.user();
        const second = (
          await h.api("POST", "/api/login", { body: { username: u.username, password: PASSWORD } })
        ).body.token as string;
        const grant = await h.api("POST", "/api/connect", { token: u.token });
        expect(grant.status).to.equal(200);
        const r = await h.api("POST", `/api/users/${u.userId}/disconnect`, { token: boss.token });
        expect(r.status).to.equal(204);
        await node.waitFor(1);
        for (const token of [u.token, second]) {
          const me = await h.api("GET", "/api/me", { token });
          expect(me.status).to.equal(401);
          expect((await h.api("POST", "/api/connect", { token })).status).to.equal(401);
        }
        expect(await h.engine.tokens.take(grant.body.token)).to.deep.equal({ status: "invalid" });
        expect((await h.api("GET", "/api/me", { token: boss.token })).status).to.equal(200);
        const again = await h.api("POST", "/api/login", {
          body: { username: u.username, password: PASSWORD },
        });
        expect(again.status).to.equal(200);
      });
    });

    describe("the page's headers", () => {
      it("serves / and the API with CSP (frame-ancestors 'none'), nosniff and no-referrer", async () => {
        const h = await harness();
        for (const path of ["/", "/api/me"]) {
          const r = await h.api("GET", path);
          const csp = r.headers.get("content-security-policy") ?? "";
          expect(csp, path).to.include("frame-ancestors 'none'");
          expect(csp).to.include("default-src 'self'");
          expect(r.headers.get("x-content-type-options")).to.equal("nosniff");
          expect(r.headers.get("referrer-policy")).to.equal("no-referrer");
          expect(r.headers.get("x-frame-options")).to.equal("DENY");
        }
      });
    });

    describe("GET /api/channels is paged", () => {
      it("pages in name order with after and limit, and a next cursor until the end", async () => {
        const h = await harness();
        const u = await h.user();
        const names = ["c-e", "c-a", "c-d", "c-b", "c-c"];
        for (const name of names)
          await h.api("POST", `/api/channels/${name}/join`, { token: u.token });
        const seen: string[] = [];
        let after = "";
        for (let page = 0; page < 5; page++) {
          const r = await h.api("GET", `/api/channels?limit=2${after ? `&after=${after}` : ""}`, {
            token: u.token,
          });
          expect(r.status).to.equal(200);
          seen.push(...r.body.channels.map((c: { name: string }) => c.name));
          if (r.body.next === null) break;
          after = r.body.next;
        }
        expect(seen).to.deep.equal([...names].sort());
        const all = await h.api("GET", "/api/channels", { token: u.token });
        expect(all.body.channels).to.have.length(5);
        expect(all.body.next).to.equal(null);
        for (const bad of ["limit=0", "limit=501", "after=..%2F", "limit=x"]) {
          const r = await h.api("GET", `/api/channels?${bad}`, { token: u.token });
          expect(r.status, bad).to.equal(400);
          expect(r.body.error.code).to.equal("invalid_query");
        }
      });

      it("answers at most 100 by default and 500 at most", async () => {
        const h = await harness();
        const u = await h.user();
        await Promise.all(
          Array.from({ length: 101 }, (_, i) =>
            h.api("POST", `/api/channels/ch${String(i).padStart(3, "0")}/join`, { token: u.token }),
          ),
        );
        const first = await h.api("GET", "/api/channels", { token: u.token });
        expect(first.body.channels).to.have.length(100);
        expect(first.body.next).to.equal("ch099");
        const rest = await h.api("GET", "/api/channels?after=ch099&limit=500", { token: u.token });
        expect(rest.body.channels.map((c: { name: string }) => c.name)).to.deep.equal(["ch100"]);
        expect(rest.body.next).to.equal(null);
      });
    });

    describe("usernames", () => {
      it("ASCII lookalikes and compatibility forms of a taken name are refused as taken", async () => {
        const h = await harness();
        expect((await register(h, "alice")).status).to.equal(201);
        for (const name of ["aIice", "ALICE", "a1ice", "ａｌｉｃｅ", "A1ICE"]) {
          const r = await register(h, name);
          expect(r.status, name).to.equal(409);
          expect(r.body.error.code).to.equal("username_taken");
        }
        expect((await register(h, "modern")).status).to.equal(201);
        expect((await register(h, "modem")).body.error.code).to.equal("username_taken");
      });

      it("keeps a name in its NFKC form: fullwidth ｂｏｂ registers as bob and logs in as bob", async () => {
        const h = await harness();
        const r = await register(h, "ｂｏｂ");
        expect(r.status).to.equal(201);
        expect(r.body.username).to.equal("bob");
        const login = await h.api("POST", "/api/login", {
          body: { username: "bob", password: PASSWORD },
        });
        expect(login.status).to.equal(200);
        expect(login.body.username).to.equal("bob");
      });

      it("refuses a password with a lone surrogate (400 invalid_body), so none collide as U+FFFD", async () => {
        const h = await harness();
        const u = await h.user();
        for (const password of ["pass\ud800word", "\udc00password"]) {
          const r = await h.api("POST", "/api/register", {
            body: { username: uniqueName(), password },
          });
          expect(r.status).to.equal(400);
          expect(r.body.error.code).to.equal("invalid_body");
        }
        const r = await h.api("POST", "/api/login", {
          body: { username: u.username, password: "pass\ud800word" },
        });
        expect(r.status).to.equal(400);
        // A well-formed pair is a character like any other.
        expect(
          (
            await h.api("POST", "/api/register", {
              body: { username: uniqueName(), password: "emoji 😀 pass" },
            })
          ).status,
        ).to.equal(201);
      });
    });
  });
}

for (const kind of engineKinds()) hardeningSuite(kind);

describe("hardening over one private Redis", function () {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.destroy();
  });

  describe("operators on the server", function () {
    it("npm run admin -- create makes the operator on Redis, and a second run resets it", async () => {
      const prefix = `admin${process.pid}:`;
      const env = { REDIS_URL: redis.url, REDIS_PREFIX: prefix, IM_ADMINS: "chief" };
      const made = await runAdminCli(["create", "chief"], "first password\n", env);
      expect(made.code, made.stderr).to.equal(0);
      expect(made.stdout).to.match(/created operator chief/);
      const h = await startHarness(() => RedisEngine.connect({ url: redis.url, prefix }), {
        env: { IM_ADMINS: "chief" },
      });
      try {
        await h.fakeNode("n1");
        const login = (password: string) =>
          h.api("POST", "/api/login", { body: { username: "chief", password } });
        const first = await login("first password");
        expect(first.status).to.equal(200);
        const sent = await h.api("POST", "/api/broadcast", {
          token: first.body.token,
          body: { content: "notice" },
        });
        expect(sent.status).to.equal(202);

        const reset = await runAdminCli(["create", "chief"], "second password\n", env);
        expect(reset.code, reset.stderr).to.equal(0);
        expect(reset.stdout).to.match(/reset operator chief/);
        expect((await h.api("GET", "/api/me", { token: first.body.token })).status).to.equal(401);
        expect((await login("first password")).status).to.equal(401);
        expect((await login("second password")).status).to.equal(200);
        // Output and errors never show the password.
        expect(made.stdout + made.stderr + reset.stdout + reset.stderr).not.to.include("password");
      } finally {
        await h.close();
      }
    });

    it("npm run admin refuses clearly: no REDIS_URL, a name not in IM_ADMINS, a short password", async () => {
      const embedded = await runAdminCli(["create", "chief"], "long enough\n", {
        IM_ADMINS: "chief",
      });
      expect(embedded.code).to.equal(2);
      expect(embedded.stderr).to.match(/REDIS_URL is not set.*IM_ADMIN_PASSWORD/s);
      const env = { REDIS_URL: redis.url, REDIS_PREFIX: "refuse:", IM_ADMINS: "chief" };
      const stranger = await runAdminCli(["create", "someone"], "long enough\n", env);
      expect(stranger.code).to.equal(2);
      expect(stranger.stderr).to.match(/not in IM_ADMINS/);
      const short = await runAdminCli(["create", "chief"], "short\n", env);
      expect(short.code).to.equal(2);
      expect(short.stderr).to.match(/8-256 characters/);
      const usage = await runAdminCli(["delete", "chief"], "", env);
      expect(usage.code).to.equal(2);
      expect(usage.stderr).to.match(/usage: npm run admin -- create <username>/);
    });

    it("on the embedded engine, IM_ADMIN_PASSWORD makes every IM_ADMINS account at start", async () => {
      const h = await startHarness(() => new MemoryEngine(), {
        env: { IM_ADMINS: "boss,chief", IM_ADMIN_PASSWORD: "start-up secret" },
      });
      try {
        for (const username of ["boss", "chief"]) {
          const login = await h.api("POST", "/api/login", {
            body: { username, password: "start-up secret" },
          });
          expect(login.status, username).to.equal(200);
        }
      } finally {
        await h.close();
      }
    });

    it("IM_ADMIN_PASSWORD with REDIS_URL stops start-up, naming the variable", () => {
      expect(() =>
        loadConfig({ REDIS_URL: redis.url, IM_ADMINS: "boss", IM_ADMIN_PASSWORD: "long enough" }),
      )
        .to.throw(ConfigError)
        .with.property("message")
        .that.matches(/IM_ADMIN_PASSWORD/);
    });
  });

  describe("limits hold across business instances", function () {
    it("failed logins counted by two business processes on one Redis add up", async () => {
      const prefix = `shared${process.pid}:`;
      const env = { ...TEST_RATE_ENV, RATE_LOGIN_FAILURES_PER_MIN: "10" };
      const connect = () => RedisEngine.connect({ url: redis.url, prefix });
      const [one, two] = [
        await startHarness(connect, { env }),
        await startHarness(connect, { env }),
      ];
      try {
        const u = await one.user();
        const fail = (h: Harness) =>
          h.api("POST", "/api/login", { body: { username: u.username, password: "wrong guess" } });
        for (let i = 0; i < 5; i++) {
          expect((await fail(one)).status).to.equal(401);
          expect((await fail(two)).status).to.equal(401);
        }
        expect((await fail(one)).status).to.equal(429);
        expect((await fail(two)).status).to.equal(429);
      } finally {
        await one.close();
        await two.close();
      }
    });
  });

  describe("logs never hold secrets or content", function () {
    it("serializeError keeps an error's class, message and causes, never a command's arguments", () => {
      const reply = Object.assign(new Error("OOM command not allowed"), {
        name: "ReplyError",
        command: { name: "set", args: ["herald:{u:1}:user", '{"passwordHash":"scrypt$..."}'] },
        rawPacket: Buffer.from("Authorization: Bearer secret"),
      });
      const wrapped = new Error("request failed", { cause: reply });
      const line = JSON.stringify(serializeError(wrapped));
      expect(line).to.include("OOM command not allowed");
      expect(line).to.include("request failed");
      expect(line).not.to.include("scrypt$");
      expect(line).not.to.include("passwordHash");
      expect(line).not.to.include("Bearer");
    });

    it("Redis answering errors (OOM, then no permission to write) logs no hash, token or DM text", async () => {
      const lines: string[] = [];
      const logger = createLogger("debug", {}, { write: (line: string) => void lines.push(line) });
      const prefix = `logs${process.pid}:`;
      const h = await startHarness(() => RedisEngine.connect({ url: redis.url, prefix }), {
        logger,
      });
      const admin = new Redis(redis.url);
      try {
        await h.fakeNode("n1");
        const [a, b] = [await h.user(), await h.user()];
        await befriend(h, a, b);
        const secrets = [a.token, b.token, "scrypt$"];
        const attempt = async (round: string) => {
          const text = `the secret text of ${round}`;
          secrets.push(text);
          const answers = [
            await register(h, uniqueName()),
            await h.api("POST", "/api/login", {
              body: { username: a.username, password: PASSWORD },
            }),
            await h.api("POST", "/api/messages", {
              token: a.token,
              body: { to: b.userId, content: { text } },
            }),
          ];
          for (const r of answers) expect(r.status, JSON.stringify(r.body)).to.be.at.least(500);
        };

        await admin.config("SET", "maxmemory-policy", "noeviction");
        await admin.config("SET", "maxmemory", "1");
        await attempt("an OOM");
        await admin.config("SET", "maxmemory", "0");

        // Writes refused except to the limiters' keys, so each request reaches the store's write
        // (the password hash, the session, the message) and fails there.
        await admin.call("ACL", "SETUSER", "default", "resetkeys", "%R~*", `~${prefix}limit:*`);
        try {
          await attempt("a refused write");
        } finally {
          await admin.call("ACL", "SETUSER", "default", "resetkeys", "~*");
        }

        const log = lines.join("\n");
        expect(log).to.include("request failed");
        for (const secret of secrets) expect(log, secret).not.to.include(secret);
      } finally {
        await admin.config("SET", "maxmemory", "0").catch(() => {});
        admin.disconnect();
        await h.close();
      }
    });
  });
});

describe("hardening: the memory engine sweeps", function () {
  it("drops lapsed sessions and long-expired connect tokens on its own, untouched", async () => {
    let now = 1_000_000;
    const engine = new MemoryEngine({ clock: () => now, sweepIntervalMs: 10 });
    try {
      await engine.store.createSession("u1", 1_000);
      const live = await engine.store.createSession("u1", 3_600_000);
      await engine.tokens.issue({ userId: "u1", sessionId: live.sessionId, nodeId: "n" }, 1_000);
      const kept = await engine.tokens.issue(
        { userId: "u1", sessionId: live.sessionId, nodeId: "n" },
        3_600_000,
      );
      expect(engine.store.sessionCount).to.equal(2);
      expect(engine.tokens.size).to.equal(2);
      now += 10 * 60_000; // past the short session and the short token's memory
      await sleep(100);
      expect(engine.store.sessionCount).to.equal(1);
      expect(engine.tokens.size).to.equal(1);
      expect(await engine.store.sessionByToken(live.token)).to.include({ userId: "u1" });
      expect((await engine.tokens.take(kept)).status).to.equal("ok");
    } finally {
      await engine.close();
    }
  });
});

describe("/metrics with METRICS_TOKEN", function () {
  const TOKEN = "metrics-token-0123456789";
  let herald: Herald;
  before(async () => {
    herald = await startHerald(testConfig({ metricsToken: TOKEN }));
  });
  after(async () => {
    await herald.stop();
    await herald.engine.close();
  });

  for (const role of ["business", "im"] as const) {
    it(`answers ${role}'s metrics only with the token; /health needs none`, async () => {
      const base = role === "business" ? herald.business.url : herald.im.url;
      for (const authorization of [undefined, "Bearer wrong", `Bearer ${TOKEN}x`, TOKEN]) {
        const refused = await fetch(`${base}/metrics`, {
          headers: authorization === undefined ? {} : { authorization },
        });
        expect(refused.status, String(authorization)).to.equal(401);
        const body = (await refused.json()) as { error: { code: string } };
        expect(body.error.code).to.equal("unauthorized");
      }
      const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).to.equal(200);
      expect(await ok.text()).to.include("# HELP");
      expect((await fetch(`${base}/health`)).status).to.equal(200);
    });
  }

  it("refuses a METRICS_TOKEN shorter than 16 characters at start-up, naming it", function () {
    expect(() => loadConfig({ METRICS_TOKEN: "short" })).to.throw(ConfigError, /METRICS_TOKEN/);
  });
});
