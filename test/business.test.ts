// The business HTTP API against the contract: real HTTP on 127.0.0.1:0, a fresh engine per
// suite, fake imServer nodes (bus subscribers on their node topic) standing in for server/.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { pino } from "pino";
import { startBusiness } from "../business/business.js";
import { createApp } from "../business/app.js";
import { DEFAULT_COST } from "../business/passwords.js";
import { SESSION_RULE } from "../business/rate-limits.js";
import { createPushClient, PushClient } from "../business/push-client.js";
import { loadConfig } from "../config/index.js";
import { createLogger } from "../config/logger.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { PartitionRouter } from "../engine/router.js";
import type { NodeInfo } from "../engine/types.js";
import { decodeCommand, encode, topics, type PresenceEvent } from "../engine/wire.js";
import {
  startHarness,
  uniqueName,
  engineKinds,
  type EngineKind,
  type Harness,
  type TestUser,
} from "./helpers/business.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";

/** Makes two users friends through the API. */
async function befriend(h: Harness, a: TestUser, b: TestUser): Promise<void> {
  expect((await h.api("POST", `/api/friends/${b.userId}`, { token: a.token })).body).to.deep.equal({
    status: "pending",
  });
  expect((await h.api("POST", `/api/friends/${a.userId}`, { token: b.token })).body).to.deep.equal({
    status: "friends",
  });
}

/** Users created until one is owned by each wanted node (bounded: rendezvous spreads evenly). */
async function usersOwnedBy(h: Harness, nodes: NodeInfo[], wanted: string[]): Promise<TestUser[]> {
  const router = new PartitionRouter(nodes);
  const found = new Map<string, TestUser>();
  for (let i = 0; i < 64 && found.size < new Set(wanted).size; i++) {
    const user = await h.user();
    const owner = router.ownerOf(user.userId)!.nodeId;
    if (wanted.includes(owner) && !found.has(owner)) found.set(owner, user);
  }
  if (found.size < new Set(wanted).size) throw new Error("no user landed on every wanted node");
  return wanted.map((nodeId) => found.get(nodeId)!);
}

function businessSuite({ name: engineName, make: makeEngine, stop }: EngineKind): void {
  describe(`business API (${engineName} engine)`, function () {
    after(async () => {
      await stop?.();
    });
    let h: Harness;
    const open: Harness[] = [];
    /** A harness closed after the test, for tests that need their own config or clock. */
    const own = async (options: Parameters<typeof startHarness>[1]) => {
      const harness = await startHarness(makeEngine, options);
      open.push(harness);
      return harness;
    };

    beforeEach(async () => {
      h = await startHarness(makeEngine, { env: { IM_ADMINS: "Root,ops" } });
    });
    afterEach(async () => {
      await h.close();
      for (const harness of open.splice(0)) await harness.close();
    });

    describe("accounts and sessions", () => {
      it("registers, logs in, answers /api/me and refuses a taken name ignoring case", async () => {
        const reg = await h.api("POST", "/api/register", {
          body: { username: "Alice.B-1", password: "correct horse" },
        });
        expect(reg.status).to.equal(201);
        expect(reg.body).to.have.keys("userId", "username");
        expect(reg.body.username).to.equal("Alice.B-1");

        const taken = await h.api("POST", "/api/register", {
          body: { username: "alice.b-1", password: "another pass" },
        });
        expect(taken.status).to.equal(409);
        expect(taken.body.error.code).to.equal("username_taken");

        const login = await h.api("POST", "/api/login", {
          body: { username: "ALICE.b-1", password: "correct horse" },
        });
        expect(login.status).to.equal(200);
        expect(login.body).to.include({ userId: reg.body.userId, username: "Alice.B-1" });
        expect(login.body.token).to.be.a("string").with.length.greaterThan(20);

        const me = await h.api("GET", "/api/me", { token: login.body.token });
        expect(me.status).to.equal(200);
        expect(me.body).to.deep.equal({ userId: reg.body.userId, username: "Alice.B-1" });
      });

      it("answers 401 invalid_credentials alike for a wrong password and an unknown user", async () => {
        const u = await h.user();
        const wrong = await h.api("POST", "/api/login", {
          body: { username: u.username, password: "wrong password" },
        });
        const unknown = await h.api("POST", "/api/login", {
          body: { username: "nobody_here", password: "wrong password" },
        });
        for (const r of [wrong, unknown]) {
          expect(r.status).to.equal(401);
          expect(r.body.error.code).to.equal("invalid_credentials");
        }
        expect(wrong.body.error.message).to.equal(unknown.body.error.message);
      });

      it("stores passwords as scrypt$16384$8$1$salt$hash at the default cost", async () => {
        const strong = await own({ passwordCost: DEFAULT_COST });
        const u = await strong.user(uniqueName(), "s3cret-pass");
        const record = await strong.engine.store.userByName(u.username);
        const parts = record!.passwordHash.split("$");
        expect(parts.slice(0, 4)).to.deep.equal(["scrypt", "16384", "8", "1"]);
        expect(Buffer.from(parts[4]!, "base64url")).to.have.length(16);
        expect(Buffer.from(parts[5]!, "base64url")).to.have.length(64);
        expect(record!.passwordHash).not.to.include("s3cret-pass");
      });

      it("logout revokes the session and its connect tokens and kicks that session's sockets", async () => {
        const node = await h.fakeNode("n1");
        const u = await h.user();
        const connect = await h.api("POST", "/api/connect", { token: u.token });
        expect(connect.status).to.equal(200);
        const session = await h.engine.store.sessionByToken(u.token);

        const out = await h.api("POST", "/api/logout", { token: u.token });
        expect(out.status).to.equal(204);
        expect(out.body).to.equal(null);
        const [kick] = await node.waitFor(1);
        expect(kick).to.deep.equal({
          v: 1,
          kind: "kick",
          userId: u.userId,
          reason: "logout",
          sessionId: session!.sessionId,
        });
        expect(await h.engine.tokens.take(connect.body.token)).to.deep.equal({ status: "invalid" });
        const me = await h.api("GET", "/api/me", { token: u.token });
        expect(me.status).to.equal(401);
        expect(me.body.error.code).to.equal("unauthorized");
      });

      it("refuses the 11th failed login for one username from one address within a minute with 429 and Retry-After", async () => {
        const limited = await own({ env: { RATE_LOGIN_FAILURES_PER_MIN: "10", TRUST_PROXY: "1" } });
        const u = await limited.user();
        const from = (address: string) => ({ "x-forwarded-for": address });
        for (let i = 0; i < 10; i++) {
          const r = await limited.api("POST", "/api/login", {
            body: { username: u.username, password: "not the password" },
            headers: from("203.0.113.9"),
          });
          expect(r.status).to.equal(401);
        }
        const blocked = await limited.api("POST", "/api/login", {
          body: { username: u.username.toUpperCase(), password: "password123" },
          headers: from("203.0.113.9"),
        });
        expect(blocked.status).to.equal(429);
        expect(blocked.body.error.code).to.equal("rate_limited");
        expect(Number(blocked.headers.get("retry-after"))).to.be.within(1, 60);
        const other = await limited.user();
        expect(other.token).to.be.a("string"); // another username is not affected
        // The owner, from their own address, is never locked out by someone else's guesses.
        const owner = await limited.api("POST", "/api/login", {
          body: { username: u.username, password: "password123" },
          headers: from("198.51.100.7"),
        });
        expect(owner.status).to.equal(200);
      });

      it("lets a login through again once the failures' window has passed", async () => {
        const limited = await own({ rates: { loginFailures: { points: 2, durationS: 1 } } });
        const u = await limited.user();
        const login = (password: string) =>
          limited.api("POST", "/api/login", { body: { username: u.username, password } });
        for (let i = 0; i < 2; i++) expect((await login("not the password")).status).to.equal(401);
        const blocked = await login("password123");
        expect(blocked.status).to.equal(429);
        await sleep(Number(blocked.headers.get("retry-after")) * 1000 + 100);
        expect((await login("password123")).status).to.equal(200);
      });

      it("counts failed logins sent in parallel: at most 10 of 30 are checked, the rest get 429", async () => {
        const limited = await own({ env: { RATE_LOGIN_FAILURES_PER_MIN: "10" } });
        const u = await limited.user();
        const statuses = await Promise.all(
          Array.from({ length: 30 }, () =>
            limited
              .api("POST", "/api/login", {
                body: { username: u.username, password: "not the password" },
              })
              .then((r) => r.status),
          ),
        );
        expect(statuses.filter((s) => s === 401)).to.have.length(10);
        expect(statuses.filter((s) => s === 429)).to.have.length(20);
      });

      it("does not count a successful login as a failure", async () => {
        const limited = await own({ env: { RATE_LOGIN_FAILURES_PER_MIN: "10" } });
        const u = await limited.user();
        const login = (password: string) =>
          limited.api("POST", "/api/login", { body: { username: u.username, password } });
        for (let i = 0; i < 9; i++) expect((await login("not the password")).status).to.equal(401);
        for (let i = 0; i < 5; i++) expect((await login("password123")).status).to.equal(200);
        expect((await login("not the password")).status).to.equal(401); // the 10th failure
        expect((await login("password123")).status).to.equal(429);
      });
    });

    describe("connect (PrevConnectServer)", () => {
      it("answers 503 unavailable while no imServer node is live", async () => {
        const u = await h.user();
        const r = await h.api("POST", "/api/connect", { token: u.token });
        expect(r.status).to.equal(503);
        expect(r.body.error.code).to.equal("unavailable");
      });

      it("issues a single-use token bound to the user, the session and the owner node", async () => {
        const n1 = await h.fakeNode("n1");
        const n2 = await h.fakeNode("n2");
        const u = await h.user();
        const r = await h.api("POST", "/api/connect", { token: u.token });
        expect(r.status).to.equal(200);
        expect(r.body).to.have.keys("url", "path", "token", "nodeId", "expiresIn");
        const owner = new PartitionRouter([n1.info, n2.info]).ownerOf(u.userId)!;
        expect(r.body.nodeId).to.equal(owner.nodeId);
        expect(r.body.url).to.equal(owner.url);
        expect(r.body.path).to.equal("/socket.io");
        expect(r.body.expiresIn).to.be.within(1, 30);
        expect(Buffer.from(r.body.token, "base64url").length).to.be.at.least(16);

        const session = await h.engine.store.sessionByToken(u.token);
        expect(await h.engine.tokens.take(r.body.token)).to.deep.equal({
          status: "ok",
          grant: { userId: u.userId, sessionId: session!.sessionId, nodeId: owner.nodeId },
        });
        expect(await h.engine.tokens.take(r.body.token)).to.deep.equal({ status: "invalid" });
      });

      it("hands out no usable token when a logout runs while it is being issued", async () => {
        await h.fakeNode("n1");
        const u = await h.user();
        const tokens = h.engine.tokens;
        const issue = tokens.issue.bind(tokens);
        let issued = "";
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let reached!: () => void;
        const atIssue = new Promise<void>((resolve) => (reached = resolve));
        tokens.issue = async (grant, ttlMs) => {
          reached();
          await gate; // the logout runs to its end here
          issued = await issue(grant, ttlMs);
          return issued;
        };
        try {
          const connect = h.api("POST", "/api/connect", { token: u.token });
          await atIssue;
          expect((await h.api("POST", "/api/logout", { token: u.token })).status).to.equal(204);
          release();
          const r = await connect;
          expect(r.status).to.equal(401);
          expect(r.body.error.code).to.equal("unauthorized");
          expect(await h.engine.tokens.take(issued)).to.deep.equal({ status: "invalid" });
        } finally {
          tokens.issue = issue;
        }
      });
    });

    describe("friends and user lookup", () => {
      it("requests, accepts by requesting back, and lists friends with names and online flags", async () => {
        const [a, b] = [await h.user(), await h.user()];
        const req = await h.api("POST", `/api/friends/${b.userId}`, { token: a.token });
        expect(req.status).to.equal(200);
        expect(req.body).to.deep.equal({ status: "pending" });

        const aLists = await h.api("GET", "/api/friends", { token: a.token });
        expect(aLists.body).to.deep.equal({
          friends: [],
          incoming: [],
          outgoing: [{ userId: b.userId, username: b.username }],
        });
        const bLists = await h.api("GET", "/api/friends", { token: b.token });
        expect(bLists.body.incoming).to.deep.equal([{ userId: a.userId, username: a.username }]);

        const accept = await h.api("POST", `/api/friends/${a.userId}`, { token: b.token });
        expect(accept.body).to.deep.equal({ status: "friends" });
        await h.fakeNode("n1");
        await h.engine.presence.add(b.userId, "n1", "conn-b");
        const after = await h.api("GET", "/api/friends", { token: a.token });
        expect(after.body).to.deep.equal({
          friends: [{ userId: b.userId, username: b.username, online: true }],
          incoming: [],
          outgoing: [],
        });
      });

      it("DELETE declines, cancels and unfriends, and is idempotent", async () => {
        const [a, b] = [await h.user(), await h.user()];
        await h.api("POST", `/api/friends/${b.userId}`, { token: a.token });
        const decline = await h.api("DELETE", `/api/friends/${a.userId}`, { token: b.token });
        expect(decline.status).to.equal(204);
        expect((await h.api("GET", "/api/friends", { token: a.token })).body.outgoing).to.eql([]);

        await h.api("POST", `/api/friends/${b.userId}`, { token: a.token });
        expect(
          (await h.api("DELETE", `/api/friends/${b.userId}`, { token: a.token })).status,
        ).to.equal(204);
        expect((await h.api("GET", "/api/friends", { token: b.token })).body.incoming).to.eql([]);

        await befriend(h, a, b);
        await h.api("DELETE", `/api/friends/${b.userId}`, { token: a.token });
        expect((await h.api("GET", "/api/friends", { token: b.token })).body.friends).to.eql([]);
        const again = await h.api("DELETE", `/api/friends/${b.userId}`, { token: a.token });
        expect(again.status).to.equal(204);
      });

      it("finds a user by name ignoring case, 404 user_not_found otherwise", async () => {
        const [a, b] = [await h.user(), await h.user()];
        const found = await h.api("GET", `/api/users?username=${b.username.toUpperCase()}`, {
          token: a.token,
        });
        expect(found.body).to.deep.equal({ userId: b.userId, username: b.username });
        const missing = await h.api("GET", "/api/users?username=nobody_at_all", { token: a.token });
        expect(missing.status).to.equal(404);
        expect(missing.body.error.code).to.equal("user_not_found");
      });
    });

    describe("direct messages", () => {
      it("refuses non-friends with 403 not_friends, then stores and pushes once befriended", async () => {
        const [a, b] = [await h.user(), await h.user()];
        const refused = await h.api("POST", "/api/messages", {
          token: a.token,
          body: { to: b.userId, content: "hi" },
        });
        expect(refused.status).to.equal(403);
        expect(refused.body.error.code).to.equal("not_friends");
        expect(await h.engine.store.conversationsOf(a.userId)).to.eql([]);

        await befriend(h, a, b);
        const node = await h.fakeNode("n1"); // after the friend pushes
        const content = { text: "hello <b>", n: [1, 2.5, null, true], nested: { ok: false } };
        const sent = await h.api("POST", "/api/messages", {
          token: a.token,
          body: { to: b.userId, content, receipt: true },
        });
        expect(sent.status).to.equal(202);
        expect(sent.body).to.have.keys("id", "seq", "ts");
        expect(sent.body.seq).to.equal(1);

        const [command] = await node.waitFor(1);
        expect(decodeCommand(JSON.stringify(command))).not.to.equal(null);
        const { to, ...rest } = command as { to: string[] };
        expect([...to].sort()).to.deep.equal([a.userId, b.userId].sort());
        expect(rest).to.deep.equal({
          v: 1,
          kind: "push",
          event: "message",
          receipt: true,
          data: { ...sent.body, kind: "message", from: a.userId, to: b.userId, content },
        });
        const history = await h.api("GET", `/api/messages?peer=${a.userId}`, { token: b.token });
        expect(history.body.messages).to.deep.equal([
          { ...sent.body, kind: "message", from: a.userId, to: b.userId, content },
        ]);
      });

      it("sends to several recipients only when all are friends, answering one entry each", async () => {
        await h.fakeNode("n1");
        const [a, b, c] = [await h.user(), await h.user(), await h.user()];
        await befriend(h, a, b);
        const refused = await h.api("POST", "/api/messages", {
          token: a.token,
          body: { to: [b.userId, c.userId], content: "to both" },
        });
        expect(refused.status).to.equal(403);
        expect(refused.body.error.code).to.equal("not_friends");
        expect(await h.engine.store.conversationsOf(a.userId)).to.eql([]);

        await befriend(h, a, c);
        const sent = await h.api("POST", "/api/messages", {
          token: a.token,
          body: { to: [b.userId, c.userId], content: "to both" },
        });
        expect(sent.status).to.equal(202);
        expect(sent.body.messages.map((m: { to: string }) => m.to)).to.deep.equal([
          b.userId,
          c.userId,
        ]);
        for (const m of sent.body.messages) expect(m).to.have.keys("to", "id", "seq", "ts");
      });

      it("lets anyone message anyone under IM_DM_POLICY=open", async () => {
        const openH = await own({ env: { IM_DM_POLICY: "open" } });
        const [a, b] = [await openH.user(), await openH.user()];
        const sent = await openH.api("POST", "/api/messages", {
          token: a.token,
          body: { to: b.userId, content: 42 },
        });
        expect(sent.status).to.equal(202);
        expect(sent.body.seq).to.equal(1);
      });

      it("refuses DMs across a block both ways even under IM_DM_POLICY=open, and stores nothing", async () => {
        const openH = await own({ env: { IM_DM_POLICY: "open" } });
        const [a, b] = [await openH.user(), await openH.user()];
        const blocked = await openH.api("POST", `/api/blocks/${b.userId}`, { token: a.token });
        expect(blocked.status).to.equal(204);
        for (const [from, to] of [
          [a, b],
          [b, a],
        ] as const) {
          const sent = await openH.api("POST", "/api/messages", {
            token: from.token,
            body: { to: to.userId, content: "hi" },
          });
          expect([sent.status, sent.body.error?.code]).to.deep.equal([403, "blocked"]);
        }
        const history = await openH.api("GET", `/api/messages?peer=${b.userId}`, {
          token: a.token,
        });
        expect(history.body.messages).to.deep.equal([]);
        await openH.api("DELETE", `/api/blocks/${b.userId}`, { token: a.token });
        const after = await openH.api("POST", "/api/messages", {
          token: b.token,
          body: { to: a.userId, content: "hi" },
        });
        expect(after.status).to.equal(202);
      });

      it("accepts content nested up to 64 levels and returns it exactly", async () => {
        const openH = await own({ env: { IM_DM_POLICY: "open" } });
        const [a, b] = [await openH.user(), await openH.user()];
        const content = JSON.parse("[".repeat(62) + '{"deep":[]}' + "]".repeat(62)) as unknown;
        const sent = await openH.api("POST", "/api/messages", {
          token: a.token,
          body: { to: b.userId, content },
        });
        expect(sent.status).to.equal(202);
        const history = await openH.api("GET", `/api/messages?peer=${a.userId}`, {
          token: b.token,
        });
        expect(history.body.messages[0].content).to.deep.equal(content);
      });

      it("pages history by seq with after and limit", async () => {
        const [a, b] = [await h.user(), await h.user()];
        await befriend(h, a, b);
        for (let i = 1; i <= 5; i++) {
          const from = i % 2 ? a : b;
          const to = i % 2 ? b : a;
          const r = await h.api("POST", "/api/messages", {
            token: from.token,
            body: { to: to.userId, content: `m${i}` },
          });
          expect(r.body.seq).to.equal(i);
        }
        const page = async (query: string) =>
          (await h.api("GET", `/api/messages?peer=${b.userId}${query}`, { token: a.token })).body
            .messages as { seq: number; content: string }[];
        expect((await page("&limit=2")).map((m) => m.seq)).to.deep.equal([1, 2]);
        expect((await page("&after=2&limit=2")).map((m) => m.seq)).to.deep.equal([3, 4]);
        expect((await page("&after=4")).map((m) => m.content)).to.deep.equal(["m5"]);
        expect(await page("&after=5")).to.deep.equal([]);
        expect((await page("")).map((m) => m.seq)).to.deep.equal([1, 2, 3, 4, 5]);
      });

      it("treats a dead node's recipient as offline: the message is stored and the sender gets an offline receipt", async () => {
        const live = await h.fakeNode("live");
        const deadInfo = { nodeId: "dead", url: "http://127.0.0.1:1/dead" };
        await h.engine.membership.register(deadInfo, 60_000); // registered, but nobody listens
        await h.business.push.refreshNodes();
        const [sender, recipient] = await usersOwnedBy(h, [live.info, deadInfo], ["live", "dead"]);
        await befriend(h, sender!, recipient!);

        const sent = await h.api("POST", "/api/messages", {
          token: sender!.token,
          body: { to: recipient!.userId, content: "are you there", receipt: true },
        });
        expect(sent.status).to.equal(202);
        const commands = await live.waitFor(2);
        const receipt = commands.find((c) => (c as { event?: string }).event === "receipt");
        expect(receipt).to.deep.include({
          v: 1,
          kind: "push",
          event: "receipt",
          to: [sender!.userId],
        });
        expect((receipt as { data: object }).data).to.deep.include({
          messageId: sent.body.id,
          to: recipient!.userId,
          status: "offline",
        });
        const history = await h.api("GET", `/api/messages?peer=${sender!.userId}`, {
          token: recipient!.token,
        });
        expect(history.body.messages.map((m: { id: string }) => m.id)).to.deep.equal([
          sent.body.id,
        ]);
      });

      it("keeps the 202 and the stored message when the push fails", async () => {
        const [a, b] = [await h.user(), await h.user()];
        await befriend(h, a, b);
        await h.fakeNode("n1");
        const bus = h.engine.bus;
        const original = bus.publish.bind(bus);
        bus.publish = async () => {
          throw new Error("bus down");
        };
        try {
          const sent = await h.api("POST", "/api/messages", {
            token: a.token,
            body: { to: b.userId, content: "kept" },
          });
          expect(sent.status).to.equal(202);
        } finally {
          bus.publish = original;
        }
        const history = await h.api("GET", `/api/messages?peer=${a.userId}`, { token: b.token });
        expect(history.body.messages.map((m: { content: string }) => m.content)).to.eql(["kept"]);
        const metrics = await h.api("GET", "/metrics");
        expect(metrics.body).to.match(/herald_business_push_failures_total 1/);
      });
    });

    describe("channels", () => {
      it("joins (creating), lists counts, posts, refuses non-members and leaves", async () => {
        await h.fakeNode("n1");
        const [a, b] = [await h.user(), await h.user()];
        const join = await h.api("POST", "/api/channels/general_1/join", { token: a.token });
        expect(join.status).to.equal(200);
        expect(
          (await h.api("POST", "/api/channels/general_1/join", { token: a.token })).status,
        ).to.equal(200);
        await h.engine.presence.add(a.userId, "n1", "conn-a");

        const list = await h.api("GET", "/api/channels", { token: b.token });
        expect(list.body).to.deep.equal({
          channels: [{ name: "general_1", title: "", visibility: "public", members: 1, online: 1 }],
          next: null,
        });
        const info = await h.api("GET", "/api/channels/general_1", { token: b.token });
        expect(info.body).to.deep.equal({
          name: "general_1",
          members: [a.userId],
          online: 1,
          title: "",
          visibility: "public",
          history: "all",
          owner: a.userId,
          role: null,
        });

        const post = await h.api("POST", "/api/channels/general_1/messages", {
          token: a.token,
          body: { content: { text: "first" } },
        });
        expect(post.status).to.equal(202);
        expect(post.body).to.have.keys("id", "seq", "ts");
        expect(post.body.seq).to.equal(1);

        const outsider = await h.api("POST", "/api/channels/general_1/messages", {
          token: b.token,
          body: { content: "let me in" },
        });
        expect(outsider.status).to.equal(403);
        expect(outsider.body.error.code).to.equal("not_member");
        const outsiderHistory = await h.api("GET", "/api/channels/general_1/messages", {
          token: b.token,
        });
        expect(outsiderHistory.status).to.equal(403);
        expect(outsiderHistory.body.error.code).to.equal("not_member");

        const history = await h.api("GET", "/api/channels/general_1/messages", { token: a.token });
        expect(history.body.messages).to.deep.equal([
          {
            ...post.body,
            kind: "message",
            from: a.userId,
            channel: "general_1",
            content: { text: "first" },
          },
        ]);

        expect(
          (await h.api("POST", "/api/channels/general_1/leave", { token: b.token })).status,
        ).to.equal(200);
        expect(
          (await h.api("POST", "/api/channels/general_1/leave", { token: a.token })).status,
        ).to.equal(200);
        const gone = await h.api("POST", "/api/channels/general_1/messages", {
          token: a.token,
          body: { content: "still here?" },
        });
        expect(gone.body.error.code).to.equal("not_member");
        const unknown = await h.api("POST", "/api/channels/never_made/leave", { token: a.token });
        expect(unknown.status).to.equal(404);
        expect(unknown.body.error.code).to.equal("channel_not_found");
      });

      it("publishes ONE command per node for a channel message, naming that node's members", async () => {
        const n1 = await h.fakeNode("n1");
        const n2 = await h.fakeNode("n2");
        const router = new PartitionRouter([n1.info, n2.info]);
        // Users until each node owns at least three members, so "one per node" is seen on both.
        const members: TestUser[] = [];
        const owned = (nodeId: string) =>
          members.filter((m) => router.ownerOf(m.userId)!.nodeId === nodeId).length;
        for (let i = 0; i < 60 && (owned("n1") < 3 || owned("n2") < 3); i++)
          members.push(await h.user());
        expect(owned("n1")).to.be.at.least(3);
        expect(owned("n2")).to.be.at.least(3);
        for (const m of members)
          await h.api("POST", "/api/channels/crowd/join", { token: m.token });

        const post = await h.api("POST", "/api/channels/crowd/messages", {
          token: members[0]!.token,
          body: { content: "to all" },
        });
        expect(post.status).to.equal(202);
        await Promise.all([n1.waitFor(1), n2.waitFor(1)]);
        await new Promise((resolve) => setTimeout(resolve, 50)); // room for a stray extra command
        for (const node of [n1, n2]) {
          // The joins' coalesced `conversation` push may land in the window too; the post is
          // what must cost exactly one command per node.
          const messages = node.commands.filter(
            (c) => (c as { event?: string }).event !== "conversation",
          );
          expect(messages).to.have.length(1);
          const command = messages[0] as { to: string[]; event: string; data: object };
          expect(command.event).to.equal("message");
          expect(command.data).to.deep.include({
            id: post.body.id,
            channel: "crowd",
            content: "to all",
          });
          const expected = members
            .filter((m) => router.ownerOf(m.userId)!.nodeId === node.info.nodeId)
            .map((m) => m.userId);
          expect([...command.to].sort()).to.deep.equal(expected.sort());
        }
      });
    });

    it("lists conversations newest first with lastSeq, lastTs, cursors and unread counts", async () => {
      const [a, b, c] = [await h.user(), await h.user(), await h.user()];
      await befriend(h, a, b);
      await befriend(h, a, c);
      await h.api("POST", "/api/channels/quiet/join", { token: a.token });
      const send = async (path: string, body: object) => {
        const r = await h.api("POST", path, { token: a.token, body });
        expect(r.status).to.equal(202);
        await new Promise((resolve) => setTimeout(resolve, 3)); // distinct timestamps
      };
      await send("/api/messages", { to: b.userId, content: 1 });
      await send("/api/messages", { to: b.userId, content: 2 });
      await h.api("POST", "/api/channels/room/join", { token: a.token });
      await send("/api/channels/room/messages", { content: 3 });
      await send("/api/messages", { to: c.userId, content: 4 });

      const r = await h.api("GET", "/api/conversations", { token: a.token });
      expect(r.status).to.equal(200);
      const rows = r.body.conversations as { lastTs: number }[];
      const mine = { unread: 0, mentions: 0 };
      expect(rows.map(({ lastTs: _ts, ...rest }) => rest)).to.deep.equal([
        { kind: "direct", peer: c.userId, lastSeq: 1, readSeq: 1, peerReadSeq: 0, ...mine },
        { kind: "channel", channel: "room", lastSeq: 1, readSeq: 1, ...mine },
        { kind: "direct", peer: b.userId, lastSeq: 2, readSeq: 2, peerReadSeq: 0, ...mine },
        { kind: "channel", channel: "quiet", lastSeq: 0, readSeq: 0, ...mine },
      ]);
      expect(r.body.unreadTotal).to.equal(0);
      const theirs = await h.api("GET", "/api/conversations", { token: b.token });
      expect(theirs.body.unreadTotal).to.equal(2);
      const ts = rows.map((row) => row.lastTs);
      expect(ts).to.deep.equal([...ts].sort((x, y) => y - x));
    });

    describe("presence", () => {
      it("answers for the caller and friends only, leaving other ids out", async () => {
        const [a, b, stranger] = [await h.user(), await h.user(), await h.user()];
        await befriend(h, a, b);
        await h.fakeNode("n1");
        await h.engine.presence.add(b.userId, "n1", "c1");
        await h.engine.presence.add(stranger.userId, "n1", "c2");
        const ids = [a.userId, b.userId, stranger.userId, "no-such-id"].join(",");
        const r = await h.api("GET", `/api/presence?ids=${ids}`, { token: a.token });
        expect(r.status).to.equal(200);
        expect(r.body).to.deep.equal({ [a.userId]: false, [b.userId]: true });
      });

      it("turns a node's presence event into one presence push per node to the user's friends", async () => {
        const [a, b, stranger] = [await h.user(), await h.user(), await h.user()];
        await befriend(h, a, b);
        const n1 = await h.fakeNode("n1");
        const event: PresenceEvent = {
          v: 1,
          kind: "presence",
          userId: b.userId,
          online: true,
          nodeId: "n1",
          ts: 1234,
        };
        await h.engine.bus.publish(topics.events, encode(event));
        const [command] = await n1.waitFor(1);
        expect(command).to.deep.equal({
          v: 1,
          kind: "push",
          event: "presence",
          to: [a.userId],
          data: { userId: b.userId, online: true, ts: 1234 },
        });
        expect(JSON.stringify(n1.commands)).not.to.include(stranger.userId);
      });

      it("with several business instances, one of them fans a presence event out", async () => {
        const second = await startBusiness({
          config: h.config,
          engine: h.engine,
          logger: createLogger("silent"),
        });
        try {
          const [a, b] = [await h.user(), await h.user()];
          await befriend(h, a, b);
          const n1 = await h.fakeNode("n1");
          const event: PresenceEvent = {
            v: 1,
            kind: "presence",
            userId: b.userId,
            online: false,
            nodeId: "n1",
            ts: 5678,
          };
          await h.engine.bus.publish(topics.events, encode(event));
          await n1.waitFor(1);
          // Both instances heard it; had the second also pushed, it would be here by now.
          await new Promise((resolve) => setTimeout(resolve, 300));
          expect(n1.commands).to.have.length(1);
        } finally {
          await second.close();
        }
      });
    });

    describe("operators", () => {
      it("refuses non-operators with 403 forbidden (after 404 for an unknown target)", async () => {
        const node = await h.fakeNode("n1");
        const [u, v] = [await h.user(), await h.user()];
        const broadcast = await h.api("POST", "/api/broadcast", {
          token: u.token,
          body: { content: "x" },
        });
        expect(broadcast.status).to.equal(403);
        expect(broadcast.body.error.code).to.equal("forbidden");
        const kick = await h.api("POST", `/api/users/${v.userId}/disconnect`, { token: u.token });
        expect(kick.status).to.equal(403);
        expect(kick.body.error.code).to.equal("forbidden");
        const unknown = await h.api("POST", "/api/users/nobody/disconnect", { token: u.token });
        expect(unknown.status).to.equal(404);
        expect(unknown.body.error.code).to.equal("user_not_found");
        expect(node.commands).to.deep.equal([]);
      });

      it("lets an operator (name in IM_ADMINS, any case) broadcast to every node and force a user offline", async () => {
        const n1 = await h.fakeNode("n1");
        const n2 = await h.fakeNode("n2");
        const root = await h.operator("root");
        const victim = await h.user();
        const sent = await h.api("POST", "/api/broadcast", {
          token: root.token,
          body: { content: { notice: "maintenance" } },
        });
        expect(sent.status).to.equal(202);
        expect(sent.body).to.have.keys("id", "ts");
        for (const node of [n1, n2]) {
          const [command] = await node.waitFor(1);
          expect(command).to.deep.equal({
            v: 1,
            kind: "broadcast",
            data: {
              id: sent.body.id,
              from: root.userId,
              broadcast: true,
              content: { notice: "maintenance" },
              ts: sent.body.ts,
            },
          });
        }
        const kick = await h.api("POST", `/api/users/${victim.userId}/disconnect`, {
          token: root.token,
        });
        expect(kick.status).to.equal(204);
        for (const node of [n1, n2]) {
          const commands = await node.waitFor(2);
          expect(commands[1]).to.deep.equal({
            v: 1,
            kind: "kick",
            userId: victim.userId,
            reason: "force_offline",
          });
        }
      });
    });

    describe("rate limit per session", () => {
      it("answers 429 rate_limited with Retry-After past the burst, per session only", async () => {
        const limited = await own({ rates: { session: SESSION_RULE } });
        const [a, b] = [await limited.user(), await limited.user()];
        const statuses: number[] = [];
        for (let i = 0; i < 60; i++)
          statuses.push((await limited.api("GET", "/api/me", { token: a.token })).status);
        // The window opens at the session's first request, so all 61 fall in it.
        const refused = await limited.api("GET", "/api/me", { token: a.token });
        expect([...new Set(statuses)]).to.deep.equal([200]);
        expect(refused.status).to.equal(429);
        expect(refused.body.error.code).to.equal("rate_limited");
        const retryAfter = Number(refused.headers.get("retry-after"));
        expect(retryAfter).to.be.within(1, SESSION_RULE.durationS);
        expect((await limited.api("GET", "/api/me", { token: b.token })).status).to.equal(200);
        await sleep(retryAfter * 1000 + 100);
        expect((await limited.api("GET", "/api/me", { token: a.token })).status).to.equal(200);
      });

      it("never refuses a session making 20 requests per second", async () => {
        const limited = await own({ rates: { session: SESSION_RULE } });
        const a = await limited.user();
        const statuses = new Set<number>();
        for (let i = 0; i < 60; i++) {
          statuses.add((await limited.api("GET", "/api/me", { token: a.token })).status);
          await sleep(50); // 3 s at 20 req/s
        }
        expect([...statuses]).to.deep.equal([200]);
      });
    });

    describe("operations", () => {
      it("GET /health answers 200, and 503 unavailable when the engine does not ping", async () => {
        const ok = await h.api("GET", "/health");
        expect(ok.status).to.equal(200);
        const original = h.engine.ping.bind(h.engine);
        h.engine.ping = async () => {
          throw new Error("down");
        };
        try {
          const down = await h.api("GET", "/health");
          expect(down.status).to.equal(503);
          expect(down.body.error.code).to.equal("unavailable");
        } finally {
          h.engine.ping = original;
        }
      });

      it("GET /metrics exposes request durations by route and status, messages stored and pushes", async () => {
        await h.fakeNode("n1");
        const [a, b] = [await h.user(), await h.user()];
        await befriend(h, a, b);
        await h.api("POST", "/api/messages", {
          token: a.token,
          body: { to: b.userId, content: "m" },
        });
        const r = await h.api("GET", "/metrics");
        expect(r.status).to.equal(200);
        expect(r.headers.get("content-type")).to.match(/^text\/plain/);
        expect(r.body).to.match(
          /herald_business_http_request_duration_seconds_count\{method="POST",route="\/api\/messages",status="202"\} 1/,
        );
        expect(r.body).to.match(/herald_business_messages_stored_total\{kind="direct"\} 1/);
        expect(r.body).to.match(/herald_business_pushes_published_total\{kind="message"\} 1/);
      });

      it("GET /metrics also carries the process's own figures, its event-loop stalls among them", async () => {
        await h.api("GET", "/metrics"); // the delay figures count from the previous scrape
        // Node's monitor skips the first 10 ms sample after that reset: stall after it.
        await sleep(30);
        const blocked = performance.now();
        while (performance.now() - blocked < 60); // a 60 ms stall of this (the server's) loop
        await sleep(30); // the monitor samples every 10 ms
        const r = await h.api("GET", "/metrics");
        const text = r.body as string;
        const value = (name: string) =>
          Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
        expect(value("nodejs_eventloop_lag_max_seconds")).to.be.at.least(0.06);
        expect(value("process_cpu_user_seconds_total")).to.be.above(0);
        expect(text).to.include("# TYPE nodejs_gc_duration_seconds histogram");
        // Each family once: the role's and the process's texts concatenate into valid output.
        const families = text.match(/^# TYPE \S+/gm)!;
        expect(new Set(families).size).to.equal(families.length);
        expect(families).to.include("# TYPE herald_business_messages_stored_total");
      });

      it("turns an unexpected failure into 500 internal without details, or 503 when the engine is down", async () => {
        const u = await h.user();
        const store = h.engine.store;
        const original = store.usersById.bind(store);
        store.usersById = async () => {
          throw new Error("secret detail at /srv/app.js:12");
        };
        try {
          const r = await h.api("GET", "/api/me", { token: u.token });
          expect(r.status).to.equal(500);
          expect(r.body).to.deep.equal({ error: { code: "internal", message: "internal error" } });
          h.engine.ping = async () => {
            throw new Error("down");
          };
          const down = await h.api("GET", "/api/me", { token: u.token });
          expect(down.status).to.equal(503);
          expect(down.body.error.code).to.equal("unavailable");
        } finally {
          store.usersById = original;
        }
      });

      it("never logs a bearer token, even from a request that breaks the HTTP parser", async () => {
        const lines: string[] = [];
        const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(line) });
        const own_ = await own({ logger });
        const u = await own_.user();
        const port = new URL(own_.business.url).port;
        // Content-Length says 2 of 7 bytes: the rest parses as a broken next request while the
        // first is still in flight, and Node hands that error (raw bytes and all) to Koa.
        const socket = connect(Number(port), "127.0.0.1");
        const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
        socket.on("error", () => {});
        socket.resume(); // read Node's 400 so the socket can close
        socket.end(
          "POST /api/channels/room/messages HTTP/1.1\r\nHost: x\r\n" +
            `Authorization: Bearer ${u.token}\r\nContent-Type: application/json\r\n` +
            'Content-Length: 2\r\n\r\n{"a":1}',
        );
        await closed;
        await new Promise((resolve) => setImmediate(resolve));
        const log = lines.join("\n");
        expect(log).to.include("response failed");
        expect(log).not.to.include(u.token);
        // Nor as the bytes of a serialised Buffer: {"type":"Buffer","data":[80,79,83,84,...]}.
        expect(log).not.to.include(Buffer.from(u.token).join(","));
      });

      it("answers unknown paths 404 not_found and wrong methods 405 method_not_allowed", async () => {
        const missing = await h.api("GET", "/api/nothing-here");
        expect(missing.status).to.equal(404);
        expect(missing.body.error.code).to.equal("not_found");
        const wrong = await h.api("PUT", "/api/login", { body: {} });
        expect(wrong.status).to.equal(405);
        expect(wrong.body.error.code).to.equal("method_not_allowed");
      });
    });
  });
}

describe("business app standalone", () => {
  let server: Server | null = null;
  let dir: string | null = null;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  async function listen(options: { webRoot: string; draining?: boolean }): Promise<string> {
    const engine = new MemoryEngine();
    const config = loadConfig({ LOG_LEVEL: "silent" });
    const app = createApp({
      config,
      engine,
      logger: createLogger("silent"),
      push: new PushClient({ engine }),
      webRoot: options.webRoot,
      isDraining: () => options.draining === true,
    });
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("createApp runs on port 0 without startBusiness, and /health is 503 while draining", async () => {
    const url = await listen({ webRoot: "/nonexistent", draining: true });
    const r = await fetch(`${url}/health`);
    expect(r.status).to.equal(503);
    expect(((await r.json()) as { error: { code: string } }).error.code).to.equal("unavailable");
  });

  it("serves a small 'not built' page at / when the web chat is not built", async () => {
    const url = await listen({ webRoot: "/nonexistent" });
    const r = await fetch(`${url}/`);
    expect(r.status).to.equal(200);
    expect(r.headers.get("content-type")).to.match(/text\/html/);
    expect(await r.text()).to.match(/web chat is not built/i);
  });

  it("serves the built web chat: index.html no-cache, hashed assets cached for a year", async () => {
    dir = mkdtempSync(join(tmpdir(), "herald-web-"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>chat</title>");
    writeFileSync(join(dir, "app-5KJ2XQ7A.js"), "console.log(1)");
    const url = await listen({ webRoot: dir });
    const index = await fetch(`${url}/`);
    expect(await index.text()).to.include("<title>chat</title>");
    expect(index.headers.get("cache-control")).to.equal("no-cache");
    const asset = await fetch(`${url}/app-5KJ2XQ7A.js`);
    expect(asset.status).to.equal(200);
    expect(asset.headers.get("cache-control")).to.equal("public, max-age=31536000, immutable");
    const api = await fetch(`${url}/api/index.html`);
    expect(api.status).to.equal(404);
  });
});

describe("createPushClient standalone over Redis", () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.destroy();
  });

  it("builds its own engine from a URL and pushes what a Herald node on that Redis receives", async () => {
    const prefix = "standalone:";
    const herald = await RedisEngine.connect({ url: redis.url, prefix });
    const received: unknown[] = [];
    const arrived = new Promise<void>((resolve) => {
      void herald.bus.subscribe(topics.node("n1"), (payload) => {
        received.push(JSON.parse(payload));
        resolve();
      });
    });
    await herald.membership.register({ nodeId: "n1", url: "http://127.0.0.1:1" }, 60_000);
    const push = await createPushClient({ redisUrl: redis.url, prefix });
    try {
      const connect = await push.prevConnect("user-1", "session-1");
      expect(connect).to.include({ nodeId: "n1", url: "http://127.0.0.1:1", path: "/socket.io" });
      expect((await herald.tokens.take(connect!.token)).status).to.equal("ok");
      const message = {
        id: "m1",
        seq: 1,
        kind: "message" as const,
        from: "user-1",
        to: "user-2",
        content: "hi",
        ts: 1,
      };
      const result = await push.send(message, { receipt: true });
      expect(result).to.deep.equal({ nodes: 1, offline: [] });
      await arrived;
      expect(received[0]).to.deep.include({ kind: "push", event: "message", data: message });
    } finally {
      await push.close();
      await herald.close();
    }
  });
});

for (const kind of engineKinds()) businessSuite(kind);
