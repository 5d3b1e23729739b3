// The engine conformance suite: every contract of engine/types.ts, as a function of how to get an
// engine, so test/engine.test.ts runs it for the memory twin and Redis and test/cluster.test.ts
// for a Redis Cluster.
import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { compareStrings } from "../../engine/compare.js";
import { hashToken } from "../../engine/ids.js";
import type { MessageItem, StreamItem } from "../../engine/protocol.js";
import type {
  AppendResult,
  ConnectGrant,
  ConversationRef,
  Engine,
  FileRecord,
  FileShare,
  MemberChangeGuard,
  NewChannel,
  NewItem,
  NewMessage,
  Standing,
} from "../../engine/types.js";
import { topics } from "../../engine/wire.js";

/** Collects bus payloads; `until(n)` resolves once n arrived, or rejects after `ms`. */
export function collector() {
  const items: string[] = [];
  let wake: (() => void) | null = null;
  return {
    items,
    handler: (payload: string) => {
      items.push(payload);
      wake?.();
    },
    async until(count: number, ms = 2_000): Promise<string[]> {
      const deadline = Date.now() + ms;
      while (items.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`got ${items.length} of ${count} payloads in ${ms} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
      return items;
    },
  };
}

export function message(from: string, extra: Partial<Omit<NewMessage, "kind">> = {}): NewMessage {
  return {
    id: `m-${Math.random().toString(36).slice(2)}`,
    kind: "message",
    from,
    content: "hi",
    ts: 1_000,
    ...extra,
  };
}

/** The stored item of an append that must not be refused. */
export function storedItem(result: AppendResult): StreamItem {
  if ("refused" in result) throw new Error(`append refused: ${result.refused}`);
  return result.item;
}

/** A copy of `value` without `keys`. */
function omit(value: object, ...keys: string[]): object {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)));
}

const sorted = (list: readonly string[]) => [...list].sort(compareStrings);

/** JSON values that trip up naive stores: cjson would turn [] into {}, floats lose digits. */
const TRICKY_CONTENT: unknown[] = [
  [],
  {},
  [[]],
  [{}],
  { empty: [], nested: { deeper: { list: [1, [2, [3, []]]], obj: {} } } },
  { b: 1, a: 2 },
  "",
  'she said "hi" \\ and left',
  "héllo 世界 🎉 \u0001 \n\t",
  "null",
  1e21,
  1.5e-7,
  0.1,
  -42,
  Number.MAX_SAFE_INTEGER,
  0,
  true,
  false,
  [null, 1, "x", { "key with spaces": [true] }],
  "x".repeat(60_000),
];

/** What the suite needs from a backend, started once per suite. */
export interface EngineBackend {
  /** An engine over the state named `space` (a key prefix on Redis). */
  open(space: string): Promise<Engine>;
  /** Whether two opens of one space share state (Redis: two processes); if not (memory), the
   * tests that need a second process use the same engine twice. */
  shared: boolean;
  stop(): Promise<void>;
}

export interface EngineFactory {
  /** What `engine.kind` must answer. */
  kind: Engine["kind"];
  /** Starts the backing service (a redis-server, a cluster); fails, never skips, without it. */
  start(): Promise<EngineBackend>;
}

/** Registers the conformance suite, `engine conformance: <name>`, for engines from `factory`. */
export function describeEngineConformance(name: string, factory: EngineFactory): void {
  describe(`engine conformance: ${name}`, function () {
    const kind = factory.kind;
    let backend: EngineBackend | null = null;
    let engine: Engine;
    let space = "";
    let count = 0;
    const extra: Engine[] = [];

    /** Another engine over the same state (Redis: another process; memory: the same one). */
    async function sibling(): Promise<Engine> {
      if (!backend!.shared) return engine;
      const other = await backend!.open(space);
      extra.push(other);
      return other;
    }

    before(async function () {
      backend = await factory.start();
    });
    after(async function () {
      await backend?.stop();
    });
    beforeEach(async function () {
      // A fresh engine per test; on Redis a fresh prefix keeps tests apart in one server.
      space = `t${++count}:`;
      engine = await backend!.open(space);
    });
    afterEach(async function () {
      await Promise.all(extra.splice(0).map((e) => e.close()));
      await engine.close();
    });

    it("reports its kind and answers ping", async function () {
      expect(engine.kind).to.equal(kind);
      await engine.ping();
    });

    describe("bus", function () {
      it("publish resolves 0 when nobody subscribes", async function () {
        expect(await engine.bus.publish(topics.node("nobody"), "x")).to.equal(0);
      });

      it("a publish after subscribe resolves reaches every handler, counted once per subscriber", async function () {
        const one = collector();
        const two = collector();
        await engine.bus.subscribe(topics.node("n1"), one.handler);
        await engine.bus.subscribe(topics.node("n1"), two.handler);
        const publisher = await sibling();
        expect(await publisher.bus.publish(topics.node("n1"), "hello")).to.equal(1);
        expect(await one.until(1)).to.deep.equal(["hello"]);
        expect(await two.until(1)).to.deep.equal(["hello"]);
      });

      it("subscribers counts a topic's subscribers without publishing: 0 once they are gone", async function () {
        const publisher = await sibling();
        expect(await publisher.bus.subscribers(topics.node("counted"))).to.equal(0);
        const got = collector();
        const unsubscribe = await engine.bus.subscribe(topics.node("counted"), got.handler);
        expect(await publisher.bus.subscribers(topics.node("counted"))).to.equal(1);
        await unsubscribe();
        expect(await publisher.bus.subscribers(topics.node("counted"))).to.equal(0);
        expect(got.items).to.deep.equal([]);
      });

      it("delivers payloads in publish order", async function () {
        const got = collector();
        await engine.bus.subscribe(topics.events, got.handler);
        const sent = Array.from({ length: 200 }, (_, i) => `p${i}`);
        await Promise.all(sent.map((p) => engine.bus.publish(topics.events, p)));
        expect(await got.until(sent.length)).to.deep.equal(sent);
      });

      it("claim: the first caller of a key wins, every other loses, until its TTL runs out", async function () {
        const other = await sibling();
        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? other : engine).bus.claim("work-1", 150)),
        );
        expect(claims.filter(Boolean)).to.have.length(1);
        expect(await engine.bus.claim("work-2", 150)).to.equal(true);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(await other.bus.claim("work-1", 150)).to.equal(true);
      });

      it("keeps topics apart", async function () {
        const a = collector();
        const b = collector();
        await engine.bus.subscribe(topics.node("a"), a.handler);
        await engine.bus.subscribe(topics.node("b"), b.handler);
        await engine.bus.publish(topics.node("b"), "for b");
        await engine.bus.publish(topics.node("a"), "for a");
        expect(await a.until(1)).to.deep.equal(["for a"]);
        expect(await b.until(1)).to.deep.equal(["for b"]);
      });

      it("unsubscribe removes only that handler; after the last one, publish counts 0", async function () {
        const one = collector();
        const two = collector();
        const offOne = await engine.bus.subscribe(topics.membership, one.handler);
        const offTwo = await engine.bus.subscribe(topics.membership, two.handler);
        await offOne();
        expect(await engine.bus.publish(topics.membership, "after")).to.equal(1);
        await two.until(1);
        expect(one.items).to.deep.equal([]);
        await offTwo();
        await offTwo(); // idempotent
        expect(await engine.bus.publish(topics.membership, "gone")).to.equal(0);
        // Subscribing again after the last handler left works.
        const three = collector();
        await engine.bus.subscribe(topics.membership, three.handler);
        expect(await engine.bus.publish(topics.membership, "again")).to.equal(1);
        expect(await three.until(1)).to.deep.equal(["again"]);
        expect(two.items).to.deep.equal(["after"]);
      });

      it("concurrent subscribes to one topic all resolve live", async function () {
        const handlers = Array.from({ length: 5 }, () => collector());
        await Promise.all(handlers.map((h) => engine.bus.subscribe(topics.events, h.handler)));
        expect(await engine.bus.publish(topics.events, "x")).to.equal(1);
        for (const h of handlers) expect(await h.until(1)).to.deep.equal(["x"]);
      });
    });

    describe("tokens", function () {
      const grant: ConnectGrant = { userId: "u1", sessionId: "s1", nodeId: "im-1" };

      it("issues a random base64url token of at least 128 bits that yields its grant once", async function () {
        const token = await engine.tokens.issue(grant, 30_000);
        expect(token).to.match(/^[A-Za-z0-9_-]{22,}$/);
        expect(await engine.tokens.issue(grant, 30_000)).to.not.equal(token);
        expect(await engine.tokens.take(token)).to.deep.equal({ status: "ok", grant });
        expect(await engine.tokens.take(token)).to.deep.equal({ status: "invalid" });
      });

      it("an unknown or forged token is invalid", async function () {
        expect(await engine.tokens.take("not-a-token")).to.deep.equal({ status: "invalid" });
        const token = await engine.tokens.issue(grant, 30_000);
        expect(await engine.tokens.take(token + "x")).to.deep.equal({ status: "invalid" });
        expect(await engine.tokens.take(hashToken(token))).to.deep.equal({ status: "invalid" });
      });

      it("20 concurrent takes of one token: exactly one succeeds", async function () {
        const token = await engine.tokens.issue(grant, 30_000);
        const takers = await sibling();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? takers : engine).tokens.take(token)),
        );
        expect(results.filter((r) => r.status === "ok")).to.have.length(1);
        expect(results.filter((r) => r.status === "invalid")).to.have.length(19);
      });

      it("a known, unused token past its expiry is expired, and invalid once spent", async function () {
        const token = await engine.tokens.issue(grant, 30);
        await sleep(80);
        expect(await engine.tokens.take(token)).to.deep.equal({ status: "expired" });
        expect(await engine.tokens.take(token)).to.deep.equal({ status: "invalid" });
      });

      it("revokeSession spends every unused token of that session only", async function () {
        const mine = [
          await engine.tokens.issue(grant, 30_000),
          await engine.tokens.issue({ ...grant, nodeId: "im-2" }, 30_000),
        ];
        const other = await engine.tokens.issue({ ...grant, sessionId: "s2" }, 30_000);
        await engine.tokens.revokeSession("s1");
        await engine.tokens.revokeSession("never-had-tokens");
        for (const token of mine)
          expect(await engine.tokens.take(token)).to.deep.equal({ status: "invalid" });
        expect((await engine.tokens.take(other)).status).to.equal("ok");
        // The session can get new tokens after a revocation.
        const fresh = await engine.tokens.issue(grant, 30_000);
        expect((await engine.tokens.take(fresh)).status).to.equal("ok");
      });
    });

    describe("presence", function () {
      // Connections count only while their node is live in membership.
      beforeEach(async function () {
        for (const nodeId of ["n1", "n2", "n3"])
          await engine.membership.register({ nodeId, url: `http://${nodeId}` }, 60_000);
      });

      it("tells when a user comes online and goes offline across several devices", async function () {
        expect(await engine.presence.add("u1", "n1", "c1")).to.equal(1);
        expect(await engine.presence.add("u1", "n2", "c2")).to.equal(2);
        expect(await engine.presence.add("u1", "n1", "c1")).to.equal(2); // re-added
        expect(await engine.presence.online(["u1", "u2"])).to.deep.equal([true, false]);
        expect(await engine.presence.remove("u1", "n1", "c1")).to.equal(false);
        expect(await engine.presence.online(["u1"])).to.deep.equal([true]);
        expect(await engine.presence.remove("u1", "n2", "c2")).to.equal(true);
        expect(await engine.presence.online(["u1"])).to.deep.equal([false]);
        expect(await engine.presence.remove("u1", "n2", "c2")).to.equal(false);
        expect(await engine.presence.remove("nobody", "n1", "c9")).to.equal(false);
      });

      it("online answers in the asked order, and [] for []", async function () {
        await engine.presence.add("b", "n1", "c1");
        await engine.presence.add("d", "n1", "c2");
        expect(await engine.presence.online(["a", "b", "c", "d", "b"])).to.deep.equal([
          false,
          true,
          false,
          true,
          true,
        ]);
        expect(await engine.presence.online([])).to.deep.equal([]);
      });

      it("concurrent connects and disconnects of one user: exactly one online and one offline flag", async function () {
        const conns = Array.from({ length: 10 }, (_, i) => `c${i}`);
        const added = await Promise.all(conns.map((c) => engine.presence.add("u1", "n1", c)));
        // Each add counts those before it: one is first, and a cap of k lets exactly k in.
        expect([...added].sort((x, y) => x - y)).to.deep.equal(conns.map((_, i) => i + 1));
        const removed = await Promise.all(conns.map((c) => engine.presence.remove("u1", "n1", c)));
        expect(removed.filter(Boolean)).to.have.length(1);
        expect(await engine.presence.online(["u1"])).to.deep.equal([false]);
      });

      it("clearNode forgets the node's connections and returns the users left offline", async function () {
        await engine.presence.add("solo", "n1", "c1");
        await engine.presence.add("solo", "n1", "c2"); // two devices on the dying node
        await engine.presence.add("both", "n1", "c3");
        await engine.presence.add("both", "n2", "c4");
        await engine.presence.add("other", "n2", "c5");
        await engine.presence.add("gone", "n1", "c6");
        await engine.presence.remove("gone", "n1", "c6");
        await engine.membership.deregister("n1");
        expect(sorted(await engine.presence.clearNode("n1"))).to.deep.equal(["solo"]);
        expect(await engine.presence.online(["solo", "both", "other"])).to.deep.equal([
          false,
          true,
          true,
        ]);
        expect(await engine.presence.clearNode("n1")).to.deep.equal([]);
        await engine.membership.deregister("n2");
        expect(sorted(await engine.presence.clearNode("n2"))).to.deep.equal(["both", "other"]);
        // Gone for good: registered again, the nodes hold none of them.
        for (const nodeId of ["n1", "n2"])
          await engine.membership.register({ nodeId, url: `http://${nodeId}` }, 60_000);
        expect(await engine.presence.online(["solo", "both", "other"])).to.deep.equal([
          false,
          false,
          false,
        ]);
        // A user cleared with their node comes online again on their next connection.
        expect(await engine.presence.add("solo", "n3", "c7")).to.equal(1);
      });

      it("countByNode counts each asked node's connections, in order, 0 for an unknown node", async function () {
        await engine.presence.add("a", "n1", "c1");
        await engine.presence.add("a", "n1", "c2");
        await engine.presence.add("b", "n2", "c3");
        await engine.presence.add("c", "n1", "c4");
        await engine.presence.remove("c", "n1", "c4");
        expect(await engine.presence.countByNode(["n2", "n1", "n9"])).to.deep.equal([1, 2, 0]);
        await engine.membership.deregister("n1");
        await engine.presence.clearNode("n1");
        expect(await engine.presence.countByNode(["n1", "n2"])).to.deep.equal([0, 1]);
        expect(await engine.presence.countByNode([])).to.deep.equal([]);
      });

      it("clearNode run by two survivors at once returns the users to one of them", async function () {
        const other = await sibling();
        for (let i = 0; i < 10; i++) await engine.presence.add(`u${i}`, "n1", `c${i}`);
        await engine.membership.deregister("n1");
        const [one, two] = await Promise.all([
          engine.presence.clearNode("n1"),
          other.presence.clearNode("n1"),
        ]);
        expect(sorted([...one, ...two])).to.deep.equal(
          sorted(Array.from({ length: 10 }, (_, i) => `u${i}`)),
        );
        expect(Math.min(one.length, two.length)).to.equal(0);
      });

      it("presence lapses for a node that vanished while no survivor ran", async function () {
        await engine.membership.register({ nodeId: "gone", url: "http://gone" }, 60);
        await engine.presence.add("solo", "gone", "c1");
        await engine.presence.add("solo", "gone", "c2");
        await engine.presence.add("both", "gone", "c3");
        await engine.presence.add("both", "n1", "c4");
        await engine.presence.add("later", "gone", "c5");
        await engine.presence.add("leaver", "gone", "c6");
        await engine.presence.add("leaver", "n1", "c7");
        expect(await engine.presence.online(["solo", "both"])).to.deep.equal([true, true]);
        expect(await engine.presence.countByNode(["gone"])).to.deep.equal([5]);
        await sleep(120); // no heartbeat, no clearNode: the entry just lapses
        expect(await engine.presence.online(["solo", "both", "later"])).to.deep.equal([
          false,
          true,
          false,
        ]);
        expect(await engine.presence.countByNode(["gone", "n1"])).to.deep.equal([0, 2]);
        // Its connections no longer count for the user's transitions either.
        expect(await engine.presence.add("later", "n2", "c8")).to.equal(1);
        expect(await engine.presence.remove("leaver", "n1", "c7")).to.equal(true);
        expect(await engine.presence.online(["later", "leaver"])).to.deep.equal([true, false]);
      });

      it("the calling node counts as live to itself: one offline flag per user when a deregistered node drains", async function () {
        const self = { nodeId: "self", url: "http://self" };
        await engine.membership.register(self, 60_000);
        await engine.presence.add("u1", "self", "c1");
        expect(await engine.presence.add("u1", "self", "c2")).to.equal(2);
        await engine.membership.deregister("self");
        expect(await engine.presence.add("u1", "self", "c3")).to.equal(3);
        expect(await engine.presence.remove("u1", "self", "c1")).to.equal(false);
        expect(await engine.presence.remove("u1", "self", "c2")).to.equal(false);
        expect(await engine.presence.remove("u1", "self", "c3")).to.equal(true);
      });

      it("a re-registered node's presence counts again", async function () {
        const node = { nodeId: "back", url: "http://back" };
        await engine.membership.register(node, 60);
        await engine.presence.add("u1", "back", "c1");
        await engine.presence.add("u2", "back", "c2");
        await sleep(120);
        expect(await engine.presence.online(["u1", "u2"])).to.deep.equal([false, false]);
        expect(await engine.presence.countByNode(["back"])).to.deep.equal([0]);
        expect(await engine.membership.heartbeat(node, 60_000)).to.equal(true);
        expect(await engine.presence.online(["u1", "u2"])).to.deep.equal([true, true]);
        expect(await engine.presence.countByNode(["back"])).to.deep.equal([2]);
        // Once it is gone for good, a survivor that clears it gets its users once.
        await engine.membership.deregister("back");
        expect(sorted(await engine.presence.clearNode("back"))).to.deep.equal(["u1", "u2"]);
      });

      it("clearNode does nothing while the node is live: a survivor's late clear after a re-registration loses nothing", async function () {
        const node = { nodeId: "late", url: "http://late" };
        await engine.membership.register(node, 60);
        await engine.presence.add("u1", "late", "c1");
        await sleep(120); // lapsed: a survivor saw it vanish and is about to clear it
        expect(await engine.membership.heartbeat(node, 60_000)).to.equal(true);
        // The node writes its presence again (PresenceRecorder.rewrite), then the clear lands.
        await engine.presence.add("u1", "late", "c1");
        await engine.presence.add("u2", "late", "c2");
        expect(await engine.presence.clearNode("late")).to.deep.equal([]);
        expect(await engine.presence.online(["u1", "u2"])).to.deep.equal([true, true]);
        expect(await engine.presence.countByNode(["late"])).to.deep.equal([2]);
      });

      it("add counts a user's connections on live nodes only, the caller's own always", async function () {
        await engine.membership.register({ nodeId: "brief", url: "http://brief" }, 60);
        expect(await engine.presence.add("u1", "n1", "c1")).to.equal(1);
        expect(await engine.presence.add("u1", "n2", "c2")).to.equal(2);
        expect(await engine.presence.add("u1", "brief", "c3")).to.equal(3);
        await sleep(120); // brief's entry lapsed: c3 no longer counts
        expect(await engine.presence.add("u1", "n1", "c4")).to.equal(3);
        await engine.presence.remove("u1", "n1", "c1");
        expect(await engine.presence.add("u1", "n2", "c5")).to.equal(3);
        // A caller whose own entry lapsed (a Redis outage) still counts its connections.
        expect(await engine.presence.add("u1", "brief", "c6")).to.equal(4);
      });
    });

    describe("users", function () {
      it("creates a user and finds it by name ignoring case, with its original spelling", async function () {
        const user = await engine.store.createUser("Alice.W", "hash-1");
        expect(user).to.not.equal(null);
        expect(user!.username).to.equal("Alice.W");
        expect(user!.userId).to.be.a("string").and.have.length.greaterThan(0);
        for (const name of ["Alice.W", "alice.w", "ALICE.W"])
          expect(await engine.store.userByName(name)).to.deep.equal({
            ...user!,
            passwordHash: "hash-1",
          });
        expect(await engine.store.userByName("bob")).to.equal(null);
      });

      it("refuses a username taken in another case", async function () {
        const first = await engine.store.createUser("bob", "h");
        expect(await engine.store.createUser("BOB", "h2")).to.equal(null);
        expect(await engine.store.userByName("Bob")).to.deep.include({ userId: first!.userId });
      });

      it("20 concurrent registrations of one name in several cases: exactly one wins", async function () {
        const names = Array.from({ length: 20 }, (_, i) => (i % 2 ? "CaROL" : "carol"));
        const other = await sibling();
        const results = await Promise.all(
          names.map((n, i) => (i % 3 ? engine : other).store.createUser(n, "h")),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).to.have.length(1);
        expect(await engine.store.userByName("carol")).to.deep.include(winners[0]!);
      });

      it("one account per usernameKey: lookalikes and compatibility forms are taken, and find it", async function () {
        const alice = (await engine.store.createUser("alice", "h"))!;
        for (const name of ["aIice", "A1ICE", "ａｌｉｃｅ"]) {
          expect(await engine.store.createUser(name, "h2"), name).to.equal(null);
          expect(await engine.store.userByName(name)).to.deep.include({ userId: alice.userId });
        }
        expect(await engine.store.createUser("alicia", "h")).to.not.equal(null);
      });

      it("setPasswordHash replaces the hash and keeps the rest", async function () {
        const user = (await engine.store.createUser("Dora", "old-hash"))!;
        await engine.store.setPasswordHash(user.userId, "new-hash");
        expect(await engine.store.userByName("dora")).to.deep.equal({
          ...user,
          passwordHash: "new-hash",
        });
        await engine.store.setPasswordHash("no-such-user", "x"); // nothing to change
        expect(await engine.store.usersById(["no-such-user"])).to.deep.equal([null]);
      });

      it("usersById keeps the asked order, null for unknown ids, [] for []", async function () {
        const a = (await engine.store.createUser("aaa", "h"))!;
        const b = (await engine.store.createUser("bbb", "h"))!;
        expect(await engine.store.usersById([b.userId, "nope", a.userId])).to.deep.equal([
          b,
          null,
          a,
        ]);
        expect(await engine.store.usersById([])).to.deep.equal([]);
      });

      it("gives distinct ids", async function () {
        const users = await Promise.all(
          ["u_1", "u_2", "u_3"].map((n) => engine.store.createUser(n, "h")),
        );
        expect(new Set(users.map((u) => u!.userId)).size).to.equal(3);
      });
    });

    describe("sessions", function () {
      it("finds a session by its token, keyed by the token's hash; deleted is gone", async function () {
        const { token, sessionId } = await engine.store.createSession("u1", 60_000);
        expect(sessionId).to.equal(hashToken(token));
        expect(token).to.match(/^[A-Za-z0-9_-]{22,}$/);
        expect(await engine.store.sessionByToken(token)).to.deep.equal({ sessionId, userId: "u1" });
        expect(await engine.store.sessionByToken(sessionId)).to.equal(null); // the hash is no token
        expect(await engine.store.sessionByToken("unknown")).to.equal(null);
        // Read twice first, so a store that caches sessions has it cached: a logout on another
        // instance still holds at once here.
        expect(await engine.store.sessionByToken(token)).to.not.equal(null);
        await (await sibling()).store.deleteSession(sessionId);
        expect(await engine.store.sessionByToken(token)).to.equal(null);
        await engine.store.deleteSession(sessionId); // idempotent
        expect(await engine.store.sessionByToken(token)).to.equal(null);
      });

      it("deleteSessionsOf ends every session of that user only, and names them", async function () {
        const [s1, s2] = [
          await engine.store.createSession("u1", 60_000),
          await engine.store.createSession("u1", 60_000),
        ];
        const other = await engine.store.createSession("u2", 60_000);
        for (const { token } of [s1, s2, s1, s2])
          // twice: cached, if the store caches
          expect(await engine.store.sessionByToken(token)).to.not.equal(null);
        const ended = await (await sibling()).store.deleteSessionsOf("u1");
        expect(sorted(ended)).to.deep.equal(sorted([s1.sessionId, s2.sessionId]));
        expect(await engine.store.sessionByToken(s1.token)).to.equal(null);
        expect(await engine.store.sessionByToken(s2.token)).to.equal(null);
        expect(await engine.store.sessionByToken(other.token)).to.not.equal(null);
        expect(await engine.store.deleteSessionsOf("u1")).to.deep.equal([]);
        const later = await engine.store.createSession("u1", 60_000);
        expect(await engine.store.deleteSessionsOf("u1")).to.deep.equal([later.sessionId]);
      });

      it("expires a session after its TTL", async function () {
        const short = await engine.store.createSession("u1", 400);
        const long = await engine.store.createSession("u1", 60_000);
        expect(await engine.store.sessionByToken(short.token)).to.not.equal(null);
        expect(await engine.store.sessionByToken(short.token)).to.not.equal(null); // now cached, if cached at all
        await sleep(600);
        expect(await engine.store.sessionByToken(short.token)).to.equal(null);
        expect(await engine.store.sessionByToken(long.token)).to.not.equal(null);
      });
    });

    describe("friendships", function () {
      async function states(a: string, b: string) {
        return [await engine.store.friendState(a, b), await engine.store.friendState(b, a)];
      }

      it("request → pending (outgoing/incoming), repeated request stays pending", async function () {
        expect(await states("a", "b")).to.deep.equal(["none", "none"]);
        expect(await engine.store.requestFriend("a", "b")).to.equal("pending");
        expect(await states("a", "b")).to.deep.equal(["outgoing", "incoming"]);
        expect(await engine.store.requestFriend("a", "b")).to.equal("pending");
        expect(await states("a", "b")).to.deep.equal(["outgoing", "incoming"]);
        expect(await engine.store.friendLists("a")).to.deep.equal({
          friends: [],
          incoming: [],
          outgoing: ["b"],
        });
        expect(await engine.store.friendLists("b")).to.deep.equal({
          friends: [],
          incoming: ["a"],
          outgoing: [],
        });
      });

      it("a request back accepts: friends both ways; a request between friends stays friends", async function () {
        await engine.store.requestFriend("a", "b");
        expect(await engine.store.requestFriend("b", "a")).to.equal("friends");
        expect(await states("a", "b")).to.deep.equal(["friends", "friends"]);
        expect(await engine.store.requestFriend("a", "b")).to.equal("friends");
        expect(await engine.store.requestFriend("b", "a")).to.equal("friends");
        expect(await engine.store.friendLists("a")).to.deep.equal({
          friends: ["b"],
          incoming: [],
          outgoing: [],
        });
      });

      it("remove unfriends, cancels and declines, idempotently", async function () {
        await engine.store.requestFriend("a", "b");
        await engine.store.requestFriend("b", "a");
        await engine.store.removeFriend("b", "a"); // unfriend
        expect(await states("a", "b")).to.deep.equal(["none", "none"]);
        await engine.store.requestFriend("a", "b");
        await engine.store.removeFriend("a", "b"); // cancel
        expect(await states("a", "b")).to.deep.equal(["none", "none"]);
        await engine.store.requestFriend("a", "b");
        await engine.store.removeFriend("b", "a"); // decline
        expect(await states("a", "b")).to.deep.equal(["none", "none"]);
        await engine.store.removeFriend("a", "b");
        expect(await engine.store.friendLists("a")).to.deep.equal({
          friends: [],
          incoming: [],
          outgoing: [],
        });
        // After a decline the other side can ask anew.
        expect(await engine.store.requestFriend("b", "a")).to.equal("pending");
        expect(await states("a", "b")).to.deep.equal(["incoming", "outgoing"]);
      });

      it("crossing requests sent at once end as friends, one answered pending", async function () {
        const other = await sibling();
        const answers = await Promise.all([
          engine.store.requestFriend("a", "b"),
          other.store.requestFriend("b", "a"),
        ]);
        expect(sorted(answers)).to.deep.equal(["friends", "pending"]);
        expect(await states("a", "b")).to.deep.equal(["friends", "friends"]);
        expect((await engine.store.friendLists("a")).friends).to.deep.equal(["b"]);
        expect((await engine.store.friendLists("b")).friends).to.deep.equal(["a"]);
      });

      it("concurrent requests and removals leave both lists agreeing with friendState", async function () {
        const other = await sibling();
        for (let round = 0; round < 10; round++) {
          await Promise.all([
            engine.store.requestFriend("a", "b"),
            other.store.removeFriend("b", "a"),
            other.store.requestFriend("b", "a"),
          ]);
          const [seenByA, seenByB] = await states("a", "b");
          const listed = async (user: string, peer: string) => {
            const lists = await engine.store.friendLists(user);
            const found = (["friends", "incoming", "outgoing"] as const).filter((k) =>
              lists[k].includes(peer),
            );
            return found[0] ?? "none";
          };
          expect([await listed("a", "b"), await listed("b", "a")]).to.deep.equal([
            seenByA,
            seenByB,
          ]);
        }
      });

      it("friendLists sorts each relation into its list", async function () {
        await engine.store.requestFriend("me", "f1");
        await engine.store.requestFriend("f1", "me");
        await engine.store.requestFriend("me", "o1");
        await engine.store.requestFriend("me", "o2");
        await engine.store.requestFriend("i1", "me");
        const lists = await engine.store.friendLists("me");
        expect(lists.friends).to.deep.equal(["f1"]);
        expect(sorted(lists.outgoing)).to.deep.equal(["o1", "o2"]);
        expect(lists.incoming).to.deep.equal(["i1"]);
      });
    });

    describe("channels", function () {
      /** A channel made by v1's join, as listChannels shows it. */
      const pub = (name: string, members: number) => ({
        name,
        members,
        title: "",
        visibility: "public",
      });
      it("a channel exists once joined, and still after everyone left", async function () {
        expect(await engine.store.channelExists("general")).to.equal(false);
        expect(await engine.store.leaveChannel("general", "u1")).to.equal(null);
        expect(await engine.store.channelExists("general")).to.equal(false);
        await engine.store.joinChannel("general", "u1");
        expect(await engine.store.channelExists("general")).to.equal(true);
        expect(await engine.store.leaveChannel("general", "u1")).to.deep.equal({
          left: true,
          heir: null,
        });
        expect(await engine.store.channelExists("general")).to.equal(true);
        expect(await engine.store.channelMembers("general")).to.deep.equal([]);
        expect(await engine.store.listChannels()).to.deep.equal([pub("general", 0)]);
      });

      it("join is idempotent; members, isMember, channelsOf and counts follow joins and leaves", async function () {
        await engine.store.joinChannel("dev", "u1");
        await engine.store.joinChannel("dev", "u1");
        await engine.store.joinChannel("dev", "u2");
        await engine.store.joinChannel("ops", "u1");
        expect(sorted(await engine.store.channelMembers("dev"))).to.deep.equal(["u1", "u2"]);
        expect(await engine.store.isMember("dev", "u2")).to.equal(true);
        expect(await engine.store.isMember("ops", "u2")).to.equal(false);
        expect(await engine.store.isMember("nowhere", "u1")).to.equal(false);
        expect(sorted(await engine.store.channelsOf("u1"))).to.deep.equal(["dev", "ops"]);
        expect(await engine.store.channelsOf("u3")).to.deep.equal([]);
        expect(await engine.store.listChannels()).to.deep.equal([pub("dev", 2), pub("ops", 1)]);
        expect(await engine.store.leaveChannel("dev", "u1")).to.deep.equal({
          left: true,
          heir: "u2",
        });
        // not a member: still ok
        expect(await engine.store.leaveChannel("dev", "u1")).to.deep.equal({
          left: false,
          heir: null,
        });
        expect(await engine.store.isMember("dev", "u1")).to.equal(false);
        expect(await engine.store.channelsOf("u1")).to.deep.equal(["ops"]);
        expect(await engine.store.channelMembers("dev")).to.deep.equal(["u2"]);
        expect(await engine.store.listChannels()).to.deep.equal([pub("dev", 1), pub("ops", 1)]);
        expect(await engine.store.channelMembers("nowhere")).to.deep.equal([]);
      });

      it("listChannels pages in name order: after a name, at most limit", async function () {
        for (const name of ["b", "d", "a", "c", "e"]) await engine.store.joinChannel(name, "u1");
        const names = async (after?: string, limit?: number) =>
          (await engine.store.listChannels(after, limit)).map((c) => c.name);
        expect(await names()).to.deep.equal(["a", "b", "c", "d", "e"]);
        expect(await names("", 2)).to.deep.equal(["a", "b"]);
        expect(await names("b", 2)).to.deep.equal(["c", "d"]);
        expect(await names("bb", 10)).to.deep.equal(["c", "d", "e"]);
        expect(await names("e", 10)).to.deep.equal([]);
        expect(await engine.store.listChannels("c", 1)).to.deep.equal([pub("d", 1)]);
      });

      it("concurrent joins and leaves keep an exact member count", async function () {
        const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
        const other = await sibling();
        await Promise.all(
          users.map((u, i) => (i % 2 ? engine : other).store.joinChannel("busy", u)),
        );
        await Promise.all(users.map((u) => engine.store.joinChannel("busy", u)));
        await Promise.all(users.slice(0, 10).map((u) => engine.store.leaveChannel("busy", u)));
        expect(await engine.store.listChannels()).to.deep.equal([pub("busy", 20)]);
        expect(sorted(await engine.store.channelMembers("busy"))).to.deep.equal(
          sorted(users.slice(10)),
        );
      });

      it("concurrent joins and leaves of one user leave channelsOf agreeing with isMember", async function () {
        const other = await sibling();
        for (let round = 0; round < 10; round++) {
          await Promise.all([
            engine.store.joinChannel("flip", "u1"),
            other.store.leaveChannel("flip", "u1"),
            other.store.joinChannel("flip", "u1"),
            engine.store.leaveChannel("flip", "u1"),
          ]);
          const member = await engine.store.isMember("flip", "u1");
          expect(await engine.store.channelsOf("u1")).to.deep.equal(member ? ["flip"] : []);
          expect(await engine.store.channelMembers("flip")).to.deep.equal(member ? ["u1"] : []);
        }
      });
    });

    describe("channels with owners", function () {
      const store = () => engine.store;
      const room = (name: string, extra: Partial<NewChannel> = {}): NewChannel => ({
        name,
        owner: "own",
        title: "Room",
        visibility: "public",
        history: "all",
        created: 5,
        ...extra,
      });
      const guard = (
        actor: string,
        actorStanding: Standing,
        target: string,
        targetStanding: Standing,
      ): MemberChangeGuard => ({ actor, actorStanding, target, targetStanding });
      const roles = async (name: string) =>
        (await store().membersPage(name, 0, 100)).map((m) => `${m.userId}:${m.role}`);

      it("creates a channel once, its creator the owner and only member; info and lookups", async function () {
        expect(await store().createChannel(room("r1", { visibility: "private" }))).to.deep.equal({
          ...room("r1", { visibility: "private" }),
        });
        expect(await store().createChannel(room("r1", { owner: "x" }))).to.equal(null);
        expect(await store().channelInfo("r1")).to.deep.equal(
          room("r1", { visibility: "private" }),
        );
        expect(await store().channelInfo("nope")).to.equal(null);
        expect(await store().member("nope", "own")).to.equal(null);
        const lookup = await store().member("r1", "own");
        expect(lookup).to.deep.include({ visibility: "private", history: "all", banned: false });
        expect(lookup!.member).to.deep.include({ userId: "own", role: "owner", mutedUntil: 0 });
        expect((await store().member("r1", "other"))!.member).to.equal(null);
        expect(await store().channelMembers("r1")).to.deep.equal(["own"]);
        expect(await store().channelsOf("own")).to.deep.equal(["r1"]);
        // A joined (v1) name cannot be created again either.
        await store().joinChannel("v1", "u1");
        expect(await store().createChannel(room("v1"))).to.equal(null);
        expect((await store().channelInfo("v1"))!.owner).to.equal("u1");
      });

      it("join checks the ban, the private channel's invite (spent by the join) and the maximum", async function () {
        await store().createChannel(room("p", { visibility: "private" }));
        expect(await store().joinChannel("p", "u1")).to.deep.equal({ refused: "invite_required" });
        expect(
          await store().changeMember("p", guard("own", "owner", "u1", "outsider"), {
            kind: "invite",
          }),
        ).to.deep.equal({ outcome: "done", heir: null });
        expect(await store().joinChannel("p", "u1", 2)).to.deep.equal({
          outcome: "joined",
          role: "member",
        });
        expect(await store().joinChannel("p", "u1")).to.deep.equal({ outcome: "member" });
        await store().changeMember("p", guard("own", "owner", "u2", "outsider"), {
          kind: "invite",
        });
        expect(await store().joinChannel("p", "u2", 2)).to.deep.equal({ refused: "channel_full" });
        expect(await store().joinChannel("p", "u2", 3)).to.deep.include({ outcome: "joined" });
        // The invite was spent: once left, u1 needs another.
        await store().leaveChannel("p", "u1");
        expect(await store().joinChannel("p", "u1")).to.deep.equal({ refused: "invite_required" });
        await store().changeMember("p", guard("own", "owner", "u2", "member"), {
          kind: "kick",
          ban: true,
        });
        expect(await store().member("p", "u2")).to.deep.include({ member: null, banned: true });
        expect(await store().joinChannel("p", "u2")).to.deep.equal({ refused: "banned" });
        expect(await store().channelsOf("u2")).to.deep.equal([]);
        await store().changeMember("p", guard("own", "owner", "u2", "banned"), { kind: "unban" });
        expect(await store().joinChannel("p", "u2")).to.deep.equal({ refused: "invite_required" });
      });

      it("an owner leaving hands on to the longest-standing admin, else member; the last leaving leaves it ownerless", async function () {
        await store().createChannel(room("h"));
        for (const u of ["m1", "a1", "m2", "a2"]) await store().joinChannel("h", u);
        for (const a of ["a2", "a1"])
          await store().changeMember("h", guard("own", "owner", a, "member"), {
            kind: "role",
            role: "admin",
          });
        expect(await store().leaveChannel("h", "own")).to.deep.equal({ left: true, heir: "a1" });
        expect((await store().channelInfo("h"))!.owner).to.equal("a1");
        expect(await roles("h")).to.deep.equal(["m1:member", "a1:owner", "m2:member", "a2:admin"]);
        expect(await store().leaveChannel("h", "a1")).to.deep.equal({ left: true, heir: "a2" });
        expect(await store().leaveChannel("h", "a2")).to.deep.equal({ left: true, heir: "m1" });
        expect(await store().leaveChannel("h", "m1")).to.deep.equal({ left: true, heir: "m2" });
        expect(await store().leaveChannel("h", "m2")).to.deep.equal({ left: true, heir: null });
        expect((await store().channelInfo("h"))!.owner).to.equal(null);
        expect(await store().joinChannel("h", "late")).to.deep.equal({
          outcome: "joined",
          role: "owner",
        });
      });

      it("a change applies only while both stand where the guard says; mute, role and ownership", async function () {
        await store().createChannel(room("g"));
        await store().joinChannel("g", "m");
        const stale = await store().changeMember("g", guard("own", "owner", "m", "admin"), {
          kind: "mute",
          until: 99,
        });
        expect(stale).to.deep.equal({ outcome: "stale" });
        await store().changeMember("g", guard("own", "owner", "m", "member"), {
          kind: "mute",
          until: 9_000_000_000_000,
        });
        expect((await store().member("g", "m"))!.member!.mutedUntil).to.equal(9_000_000_000_000);
        expect(
          await store().changeMember("g", guard("own", "owner", "m", "member"), {
            kind: "unmute",
          }),
        ).to.deep.equal({ outcome: "done", heir: null });
        expect(
          await store().changeMember("g", guard("own", "owner", "m", "member"), {
            kind: "unmute",
          }),
        ).to.deep.equal({ outcome: "noop" });
        await store().changeMember("g", guard("own", "owner", "m", "member"), { kind: "owner" });
        expect(await roles("g")).to.deep.equal(["own:admin", "m:owner"]);
        expect((await store().channelInfo("g"))!.owner).to.equal("m");
      });

      it("two admins kicking one member at once: exactly one kick is done", async function () {
        const other = await sibling();
        await store().createChannel(room("k"));
        for (const u of ["a1", "a2", "m"]) await store().joinChannel("k", u);
        for (const a of ["a1", "a2"])
          await store().changeMember("k", guard("own", "owner", a, "member"), {
            kind: "role",
            role: "admin",
          });
        const results = await Promise.all(
          (["a1", "a2"] as const).map((a, i) =>
            (i ? other : engine).store.changeMember("k", guard(a, "admin", "m", "member"), {
              kind: "kick",
              ban: false,
            }),
          ),
        );
        expect(results.filter((r) => r.outcome === "done")).to.have.length(1);
        expect(results.filter((r) => r.outcome === "stale")).to.have.length(1);
        expect(await store().isMember("k", "m")).to.equal(false);
      });

      it("the owner leaving while an admin is promoted: exactly one owner after, every time", async function () {
        const other = await sibling();
        for (let round = 0; round < 10; round++) {
          const name = `race${round}`;
          await store().createChannel(room(name));
          for (const u of ["a", "b"]) await store().joinChannel(name, u);
          await store().changeMember(name, guard("own", "owner", "a", "member"), {
            kind: "role",
            role: "admin",
          });
          await Promise.all([
            engine.store.leaveChannel(name, "own"),
            other.store.changeMember(name, guard("own", "owner", "b", "member"), {
              kind: "role",
              role: "admin",
            }),
          ]);
          const all = await store().membersPage(name, 0, 10);
          const owners = all.filter((m) => m.role === "owner");
          expect(owners, name).to.have.length(1);
          expect((await store().channelInfo(name))!.owner).to.equal(owners[0]!.userId);
        }
      });

      it("a post as a member racing a kick lands before it or is refused, never after", async function () {
        const other = await sibling();
        const ref: ConversationRef = { kind: "channel", name: "kp" };
        await store().createChannel(room("kp"));
        for (let round = 0; round < 10; round++) {
          await store().joinChannel("kp", "m");
          const [posted, kicked] = await Promise.all([
            engine.store.append(ref, message("m", { channel: "kp" }), {
              asMember: { now: Date.now() },
            }),
            other.store.changeMember("kp", guard("own", "owner", "m", "member"), {
              kind: "kick",
              ban: false,
            }),
          ]);
          expect(kicked.outcome).to.equal("done");
          if ("refused" in posted) expect(posted.refused).to.equal("not_member");
        }
        const refused = await store().append(ref, message("m", { channel: "kp" }), {
          asMember: { now: Date.now() },
        });
        expect(refused).to.deep.equal({ refused: "not_member" });
        await store().joinChannel("kp", "m");
        await store().changeMember("kp", guard("own", "owner", "m", "member"), {
          kind: "mute",
          until: Date.now() + 60_000,
        });
        const muted = await store().append(ref, message("m", { channel: "kp" }), {
          asMember: { now: Date.now() },
        });
        expect(muted).to.have.property("refused", "muted");
        expect((muted as { mutedUntil: number }).mutedUntil).to.be.greaterThan(Date.now());
      });

      it("a direct message as a peer: refused while blocked or, friends only, unless friends; racing a block it lands before it or is refused", async function () {
        const ref: ConversationRef = { kind: "direct", a: "p", b: "q" };
        const dm = () => message("p", { to: "q" });
        const open = { asPeer: { friendsOnly: false } };
        const friendsOnly = { asPeer: { friendsOnly: true } };
        const refused = dm();
        expect(await store().append(ref, refused, friendsOnly)).to.deep.equal({
          refused: "not_friends",
        });
        // A refused message leaves nothing behind: no item, no conversation for either of them.
        expect(await store().itemById(refused.id)).to.equal(null);
        expect(await store().conversationsOf("p")).to.deep.equal([]);
        expect(await store().conversationsOf("q")).to.deep.equal([]);
        const retried = { ...open, clientMsgId: "before-the-block" };
        expect(storedItem(await store().append(ref, dm(), retried)).seq).to.equal(1);
        await store().requestFriend("p", "q");
        expect(await store().append(ref, dm(), friendsOnly)).to.deep.equal({
          refused: "not_friends",
        });
        await store().requestFriend("q", "p");
        expect(storedItem(await store().append(ref, dm(), friendsOnly)).seq).to.equal(2);
        await store().block("q", "p");
        for (const options of [open, friendsOnly])
          expect(await store().append(ref, dm(), options)).to.deep.equal({ refused: "blocked" });
        // A repeat of a send that was stored answers it still (its 202 was lost, not refused).
        const repeat = await store().append(ref, dm(), retried);
        expect(repeat).to.deep.include({ duplicate: true });
        expect(storedItem(repeat).seq).to.equal(1);
        // Without asPeer nothing is checked (a caller that looked the pair up first).
        expect(storedItem(await store().append(ref, dm())).seq).to.equal(3);
        await store().unblock("q", "p");
        expect(storedItem(await store().append(ref, dm(), open)).seq).to.equal(4);
        expect(await store().append(ref, dm(), friendsOnly)).to.deep.equal({
          refused: "not_friends",
        }); // a block also ends the friendship

        const other = await sibling();
        for (let round = 0; round < 10; round++) {
          const sent = await Promise.all([
            engine.store.append(ref, dm(), open),
            other.store.block("p", "q"),
          ]).then(([posted]) => posted);
          const after = await store().append(ref, dm(), open);
          expect(after).to.deep.equal({ refused: "blocked" });
          if ("refused" in sent) expect(sent.refused).to.equal("blocked");
          await store().unblock("p", "q");
        }
        const items = await store().history(ref, 0, 100);
        expect(items.map((i) => i.seq)).to.deep.equal(items.map((_, i) => i + 1));
      });

      it("membersPage pages in join order by cursor; a rejoin moves to the end; joinSeq is the last seq", async function () {
        const ref: ConversationRef = { kind: "channel", name: "pg" };
        await store().createChannel(room("pg"));
        await store().append(ref, message("own", { channel: "pg" }));
        for (let i = 0; i < 7; i++) await store().joinChannel("pg", `u${i}`);
        await store().leaveChannel("pg", "u2");
        await store().joinChannel("pg", "u2");
        const first = await store().membersPage("pg", 0, 3);
        expect(first.map((m) => m.userId)).to.deep.equal(["own", "u0", "u1"]);
        const rest = await store().membersPage("pg", first[2]!.joinOrder, 10);
        expect(rest.map((m) => m.userId)).to.deep.equal(["u3", "u4", "u5", "u6", "u2"]);
        expect(rest[0]!.joinSeq).to.equal(1);
        expect(first[0]!.joinSeq).to.equal(0);
        expect(await store().membersPage("nope", 0, 10)).to.deep.equal([]);
      });

      it("listChannels shows public channels and the private ones the viewer is in", async function () {
        await store().createChannel(room("a-pub"));
        await store().createChannel(room("b-priv", { visibility: "private" }));
        await store().joinChannel("c-v1", "x");
        const names = async (viewer?: string, after?: string, limit?: number) =>
          (await store().listChannels(after, limit, viewer)).map((c) => c.name);
        expect(await names()).to.deep.equal(["a-pub", "c-v1"]);
        expect(await names("own")).to.deep.equal(["a-pub", "b-priv", "c-v1"]);
        expect(await names("own", "a-pub", 1)).to.deep.equal(["b-priv"]);
        expect(await names("x", "a-pub", 1)).to.deep.equal(["c-v1"]);
        expect((await store().listChannels("a", 1, "own"))[0]).to.deep.equal({
          name: "a-pub",
          members: 1,
          title: "Room",
          visibility: "public",
        });
      });

      it("a block ends friendship and requests at once; refuses requests either way; unblock restores only the ability", async function () {
        await store().requestFriend("a", "b");
        await store().requestFriend("b", "a");
        await store().block("a", "b");
        expect(await store().friendState("a", "b")).to.equal("none");
        expect((await store().friendLists("b")).friends).to.deep.equal([]);
        expect(await store().blockedBetween("b", "a")).to.equal(true);
        expect(await store().blockedBetween("a", "c")).to.equal(false);
        expect(await store().blocksOf("a")).to.deep.equal(["b"]);
        expect(await store().blocksOf("b")).to.deep.equal([]);
        expect(await store().requestFriend("b", "a")).to.equal("blocked");
        expect(await store().requestFriend("a", "b")).to.equal("blocked");
        await store().requestFriend("c", "a");
        await store().block("a", "c");
        expect((await store().friendLists("a")).incoming).to.deep.equal([]);
        await store().unblock("a", "b");
        expect(await store().blockedBetween("a", "b")).to.equal(false);
        expect(await store().friendState("a", "b")).to.equal("none");
        expect(await store().requestFriend("b", "a")).to.equal("pending");
      });
    });

    describe("conversation streams", function () {
      const dm: ConversationRef = { kind: "direct", a: "alice", b: "bob" };
      const mirrored: ConversationRef = { kind: "direct", a: "bob", b: "alice" };
      const room: ConversationRef = { kind: "channel", name: "room" };
      let itemNo = 0;

      /** Appends and expects it stored. */
      async function put(
        ref: ConversationRef,
        item: NewItem,
        clientMsgId?: string,
      ): Promise<StreamItem> {
        const result = await engine.store.append(ref, item, { clientMsgId });
        expect(result).to.not.have.property("refused");
        return storedItem(result);
      }
      const dmText = (from: "alice" | "bob", content: unknown = "hi") =>
        message(from, { to: from === "alice" ? "bob" : "alice", content });
      const change = <K extends "edit" | "recall" | "reaction">(
        kind: K,
        from: string,
        target: string,
        extra: object = {},
      ) =>
        ({
          id: `x-${++itemNo}`,
          kind,
          from,
          ...(from === "carol" || from === "dave" ? { channel: "room" } : {}),
          target,
          ts: 2_000 + itemNo,
          ...extra,
        }) as NewItem;
      const edit = (from: string, target: string, content: unknown) =>
        change("edit", from, target, { content });
      const recall = (from: string, target: string) => change("recall", from, target);
      const react = (from: string, target: string, emoji: string, op: "add" | "remove" = "add") =>
        change("reaction", from, target, { emoji, op });

      it("gives seq 1..50 to 50 concurrent appends, and history returns them in seq order", async function () {
        const other = await sibling();
        const sent = Array.from({ length: 50 }, (_, i) =>
          message(i % 2 ? "alice" : "bob", { to: i % 2 ? "bob" : "alice", ts: 1_000 + i }),
        );
        const stored = (
          await Promise.all(sent.map((m, i) => (i % 2 ? engine : other).store.append(dm, m)))
        ).map(storedItem);
        expect(stored.map((m) => m.seq).sort((x, y) => x - y)).to.deep.equal(
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        stored.forEach((m, i) => expect(m).to.deep.equal({ ...sent[i]!, seq: m.seq }));
        const history = await engine.store.history(dm, 0, 200);
        expect(history.map((m) => m.seq)).to.deep.equal(
          stored.map((m) => m.seq).sort((x, y) => x - y),
        );
        const bySeq = new Map(stored.map((m) => [m.seq, m]));
        for (const item of history) expect(item).to.deep.equal(bySeq.get(item.seq));
      });

      it("pages with after and limit", async function () {
        for (let i = 0; i < 20; i++) await put(room, message("u1", { channel: "room" }));
        const seqs = async (after: number, limit: number) =>
          (await engine.store.history(room, after, limit)).map((m) => m.seq);
        expect(await seqs(0, 5)).to.deep.equal([1, 2, 3, 4, 5]);
        expect(await seqs(10, 3)).to.deep.equal([11, 12, 13]);
        expect(await seqs(18, 10)).to.deep.equal([19, 20]);
        expect(await seqs(20, 10)).to.deep.equal([]);
        expect(await seqs(25, 10)).to.deep.equal([]);
        expect(await seqs(5, 0)).to.deep.equal([]);
        expect(await seqs(-3, 2)).to.deep.equal([1, 2]);
        expect(await engine.store.history({ kind: "channel", name: "empty" }, 0, 10)).to.deep.equal(
          [],
        );
      });

      it("keeps one seq per conversation; a direct one is the same whichever side is a", async function () {
        expect((await put(dm, dmText("alice"))).seq).to.equal(1);
        expect((await put(mirrored, dmText("bob"))).seq).to.equal(2);
        expect((await put(room, message("alice", { channel: "room" }))).seq).to.equal(1);
        const other: ConversationRef = { kind: "direct", a: "alice", b: "carol" };
        expect((await put(other, message("alice", { to: "carol" }))).seq).to.equal(1);
        expect((await engine.store.history(mirrored, 0, 10)).map((m) => m.from)).to.deep.equal([
          "alice",
          "bob",
        ]);
      });

      it("stores content exactly as sent: [], {}, nesting, unicode, quotes, 1e21, 60 KB", async function () {
        for (const content of TRICKY_CONTENT)
          await put(room, message("u1", { channel: "room", content }));
        const history = (await engine.store.history(
          room,
          0,
          TRICKY_CONTENT.length,
        )) as MessageItem[];
        expect(history).to.have.length(TRICKY_CONTENT.length);
        history.forEach((item, i) => {
          expect(item.content).to.deep.equal(TRICKY_CONTENT[i]);
          expect(JSON.stringify(item.content)).to.equal(JSON.stringify(TRICKY_CONTENT[i]));
        });
      });

      it("history items have the push shape: every field as appended plus seq and clientMsgId", async function () {
        const sent = message("alice", {
          to: "bob",
          content: { text: "yo" },
          replyTo: "m-0",
          ts: 1_234,
        });
        const stored = await put(dm, sent, "c-1");
        expect(stored).to.deep.equal({ ...sent, seq: 1, clientMsgId: "c-1" });
        const [item] = await engine.store.history(dm, 0, 1, "bob");
        expect(item).to.deep.equal(stored);
        expect(await engine.store.itemById(sent.id)).to.deep.equal({
          ref: { kind: "direct", a: "alice", b: "bob" },
          item: stored,
        });
        expect(await engine.store.itemById("no-such-item")).to.equal(null);
      });

      it("edits, recalls and reactions take the next seq; history shows each message's current state", async function () {
        const first = await put(dm, dmText("alice", { text: "helo" }));
        const second = await put(dm, dmText("bob", []));
        const edited = await put(dm, edit("alice", first.id, { text: "hello", list: [] }));
        await put(dm, edit("alice", first.id, { text: "hello!" }));
        await put(dm, react("bob", first.id, "👍"));
        await put(dm, react("alice", first.id, "👍"));
        await put(dm, react("alice", first.id, "🎉"));
        await put(dm, react("bob", first.id, "🎉"));
        await put(dm, react("bob", first.id, "🎉", "remove"));
        expect(edited).to.include({ seq: 3, kind: "edit", target: first.id });
        const history = await engine.store.history(dm, 0, 100, "bob");
        expect(history.map((i) => [i.seq, i.kind])).to.deep.equal([
          [1, "message"],
          [2, "message"],
          [3, "edit"],
          [4, "edit"],
          [5, "reaction"],
          [6, "reaction"],
          [7, "reaction"],
          [8, "reaction"],
          [9, "reaction"],
        ]);
        expect(history[0]).to.deep.equal({
          ...first,
          content: { text: "hello!" },
          editedAt: history[3]!.ts,
          reactions: [
            { emoji: "👍", count: 2, me: true },
            { emoji: "🎉", count: 1, me: false },
          ],
        });
        expect(history[1]).to.deep.equal(second); // untouched
        expect(history[2]).to.deep.equal(edited);
        expect((await engine.store.history(dm, 0, 1, "alice"))[0]).to.have.deep.property(
          "reactions",
          [
            { emoji: "👍", count: 2, me: true },
            { emoji: "🎉", count: 1, me: true },
          ],
        );
        expect((await engine.store.itemById(first.id))!.item).to.not.have.property("reactions");
        expect((await engine.store.itemById(edited.id))!.item).to.deep.equal(edited);
      });

      it("a recall deletes the content, replyTo, mentions, edits' content and reactions; the message takes nothing after", async function () {
        await engine.store.joinChannel("room", "carol");
        await engine.store.joinChannel("room", "dave");
        const original = await put(
          room,
          message("carol", {
            channel: "room",
            content: "secret",
            replyTo: "m-0",
            mentions: ["dave"],
          }),
          "c-9",
        );
        const changed = await put(room, edit("carol", original.id, "still secret"));
        await put(room, react("dave", original.id, "👀"));
        const recalled = await put(room, recall("carol", original.id));
        const [message1, edit1, , recall1] = await engine.store.history(room, 0, 10, "dave");
        expect(message1).to.deep.equal({
          ...omit(original, "content", "replyTo", "mentions"),
          recalled: true,
        });
        expect(edit1).to.deep.equal(omit(changed, "content"));
        expect(recall1).to.deep.equal(recalled);
        for (const item of [
          edit("carol", original.id, "again"),
          recall("carol", original.id),
          react("dave", original.id, "👀", "remove"),
          react("dave", original.id, "👍"),
        ])
          expect(await engine.store.append(room, item)).to.deep.equal({ refused: "recalled" });
        expect(await engine.store.history(room, 4, 10)).to.deep.equal([]);
      });

      it("refuses a target that is no message of this conversation, and reactions that change nothing", async function () {
        const mine = await put(dm, dmText("alice"));
        const elsewhere = await put(room, message("carol", { channel: "room" }));
        const anEdit = await put(dm, edit("alice", mine.id, "hey"));
        for (const target of ["unknown", elsewhere.id, anEdit.id])
          for (const item of [
            edit("alice", target, "x"),
            recall("alice", target),
            react("bob", target, "👍"),
          ])
            expect(await engine.store.append(dm, item)).to.deep.equal({ refused: "not_found" });
        expect(await engine.store.append(dm, react("bob", mine.id, "👍", "remove"))).to.deep.equal({
          refused: "noop",
        });
        await put(dm, react("bob", mine.id, "👍"));
        expect(await engine.store.append(dm, react("bob", mine.id, "👍"))).to.deep.equal({
          refused: "noop",
        });
        expect((await engine.store.history(dm, 0, 10)).map((i) => i.kind)).to.deep.equal([
          "message",
          "edit",
          "reaction",
        ]);
        expect(await engine.store.itemById("x-unknown")).to.equal(null);
      });

      it("takes at most 20 distinct emoji per message; more users on one emoji are fine", async function () {
        const target = await put(dm, dmText("alice"));
        const emoji = Array.from({ length: 21 }, (_, i) => `e${i}`);
        const results = await Promise.all(
          emoji.map((e) => engine.store.append(dm, react("bob", target.id, e))),
        );
        expect(results.filter((r) => "refused" in r)).to.deep.equal([
          { refused: "too_many_reactions" },
        ]);
        // In the order they were stored (concurrent appends may land in any order).
        const taken = results
          .filter((r) => !("refused" in r))
          .map((r) => storedItem(r) as Extract<StreamItem, { kind: "reaction" }>)
          .sort((x, y) => x.seq - y.seq)
          .map((r) => r.emoji);
        await put(dm, react("alice", target.id, taken[0]!));
        const reactions = async () =>
          ((await engine.store.history(dm, 0, 1, "bob"))[0] as MessageItem).reactions!;
        expect((await reactions()).map((r) => r.emoji)).to.deep.equal(taken);
        expect((await reactions())[0]).to.deep.equal({ emoji: taken[0], count: 2, me: true });
        // The last user of an emoji leaving it frees its place.
        await put(dm, react("bob", target.id, taken[1]!, "remove"));
        await put(dm, react("bob", target.id, "e-new"));
        expect(await reactions()).to.have.length(20);
        expect((await reactions()).at(-1)).to.deep.equal({ emoji: "e-new", count: 1, me: true });
      });

      it("concurrent reactions from many users count exactly", async function () {
        const other = await sibling();
        const target = await put(room, message("carol", { channel: "room" }));
        const users = Array.from({ length: 30 }, (_, i) => `carol-${i}`);
        const reacting = users.map((u, i) =>
          (i % 2 ? engine : other).store.append(room, {
            ...react(u, target.id, "🔥"),
            channel: "room",
          } as NewItem),
        );
        const removing = users.slice(0, 10).map(async (u, i) => {
          await reacting[i];
          return (i % 2 ? other : engine).store.append(room, {
            ...react(u, target.id, "🔥", "remove"),
            channel: "room",
          } as NewItem);
        });
        const results = await Promise.all([...reacting, ...removing]);
        expect(results.filter((r) => "refused" in r)).to.deep.equal([]);
        const [message1] = await engine.store.history(room, 0, 1, "carol-29");
        expect((message1 as MessageItem).reactions).to.deep.equal([
          { emoji: "🔥", count: 20, me: true },
        ]);
        expect((await engine.store.history(room, 0, 100)).map((i) => i.seq)).to.deep.equal(
          Array.from({ length: 41 }, (_, i) => i + 1),
        );
      });

      it("clientMsgId: a repeat by the same sender stores nothing and answers the first item", async function () {
        const first = await put(dm, dmText("alice", "once"), "retry-1");
        const retry = { ...dmText("alice", "once"), id: "the-retry" };
        const again = await engine.store.append(dm, retry, { clientMsgId: "retry-1" });
        expect(again).to.deep.equal({ item: first, duplicate: true });
        expect(await engine.store.itemById("the-retry")).to.equal(null);
        // Another sender, or another conversation, is another key.
        expect((await put(dm, dmText("bob", "mine"), "retry-1")).seq).to.equal(2);
        expect((await put(room, message("alice", { channel: "room" }), "retry-1")).seq).to.equal(1);
        expect(await engine.store.history(dm, 0, 10)).to.have.length(2);
      });

      it("clientMsgId under 20 concurrent retries from two processes stores exactly once", async function () {
        const other = await sibling();
        const tries = Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? engine : other).store.append(dm, dmText("alice", `try ${i}`), {
            clientMsgId: "flaky-net",
          }),
        );
        const results = (await Promise.all(tries)).map(
          (r) => r as { item: StreamItem; duplicate: boolean },
        );
        expect(results.filter((r) => !r.duplicate)).to.have.length(1);
        const winner = results.find((r) => !r.duplicate)!.item;
        for (const r of results) expect(r.item).to.deep.equal(winner);
        expect(await engine.store.history(dm, 0, 100)).to.deep.equal([winner]);
        expect((await engine.store.conversationsOf("bob"))[0]).to.include({
          lastSeq: 1,
          unread: 1,
        });
      });

      it("markRead moves forward only, clamps to the last seq; unread counts only others' messages", async function () {
        expect(await engine.store.markRead("bob", dm, 5)).to.deep.equal({
          readSeq: 0,
          unread: 0,
          moved: false,
        });
        const m1 = await put(dm, dmText("alice"));
        await put(dm, dmText("alice"));
        await put(dm, edit("alice", m1.id, "edited"));
        await put(dm, react("alice", m1.id, "👍"));
        await put(dm, dmText("alice"));
        // Bob: 3 messages from Alice; edits and reactions never count. [who, ref, seq asked] →
        // [readSeq, unread, moved]; Alice's own messages moved her cursor past them.
        const steps: [string, ConversationRef, number, number, number, boolean][] = [
          ["bob", dm, 0, 0, 3, false],
          ["bob", dm, 2, 2, 1, true],
          ["bob", mirrored, 1, 2, 1, false],
          ["bob", dm, 4, 4, 1, true],
          ["bob", dm, 99, 5, 0, true],
          ["alice", dm, 0, 5, 0, false],
        ];
        for (const [who, ref, seq, readSeq, unread, moved] of steps)
          expect(await engine.store.markRead(who, ref, seq), `${who} reads ${seq}`).to.deep.equal({
            readSeq,
            unread,
            moved,
          });
        await put(dm, dmText("bob"));
        expect(await engine.store.markRead("alice", dm, 0)).to.include({ readSeq: 5, unread: 1 });
        expect(await engine.store.markRead("bob", dm, 0)).to.include({ readSeq: 6, unread: 0 });
      });

      it("concurrent reads from several devices and sends: the cursor never moves back, unread stays exact", async function () {
        const other = await sibling();
        const stores = [engine.store, other.store];
        const cursorSeen: number[] = [];
        const work: Promise<unknown>[] = [];
        for (let i = 0; i < 60; i++) {
          const store = stores[i % 2]!;
          if (i % 3 === 0) work.push(store.append(dm, dmText("alice", i)));
          else if (i % 3 === 1) work.push(store.append(dm, dmText("bob", i)));
          else
            work.push(
              store.markRead("bob", i % 4 ? dm : mirrored, (i * 7) % 40).then((r) => {
                cursorSeen.push(r.readSeq);
                return r;
              }),
            );
        }
        await Promise.all(work);
        const history = await engine.store.history(dm, 0, 200);
        const final = await engine.store.markRead("bob", dm, 0);
        // Bob's cursor is past every one of his messages and every seq a read asked for.
        const bobsLast = Math.max(...history.filter((i) => i.from === "bob").map((i) => i.seq));
        expect(final.readSeq).to.be.at.least(bobsLast);
        expect(final.readSeq).to.be.at.least(Math.max(...cursorSeen));
        const unread = history.filter((i) => i.from === "alice" && i.seq > final.readSeq).length;
        expect(final.unread).to.equal(unread);
        const [summary] = await engine.store.conversationsOf("bob");
        expect(summary).to.include({ readSeq: final.readSeq, unread, lastSeq: 40 });
        // Reads racing each other: each answer is at least what was asked, and the cursor
        // never ends below any answer.
        const racing = await Promise.all(
          Array.from({ length: 20 }, (_, i) => stores[i % 2]!.markRead("alice", dm, i * 2 + 1)),
        );
        racing.forEach((r, i) => expect(r.readSeq).to.be.at.least(i * 2 + 1));
        const alicesLast = Math.max(...history.filter((i) => i.from === "alice").map((i) => i.seq));
        expect((await engine.store.markRead("alice", dm, 0)).readSeq).to.equal(
          Math.max(39, alicesLast),
        );
      });

      it("mentions count the unread messages that mention the user", async function () {
        for (const u of ["carol", "dave", "erin"]) await engine.store.joinChannel("room", u);
        await put(room, message("carol", { channel: "room", mentions: ["dave", "erin"] }));
        await put(room, message("carol", { channel: "room", mentions: ["dave"] }));
        await put(room, message("erin", { channel: "room" }));
        const summary = async (userId: string) =>
          (await engine.store.conversationsOf(userId)).find((c) => c.ref.kind === "channel")!;
        expect(await summary("dave")).to.include({ unread: 3, mentions: 2, readSeq: 0 });
        // Erin's own message moved her cursor past the one that mentions her.
        expect(await summary("erin")).to.include({ unread: 0, mentions: 0, readSeq: 3 });
        expect(await summary("carol")).to.include({ unread: 1, mentions: 0, readSeq: 2 });
        await engine.store.markRead("dave", room, 1);
        expect(await summary("dave")).to.include({ unread: 2, mentions: 1, readSeq: 1 });
        await engine.store.markRead("dave", room, 3);
        expect(await summary("dave")).to.include({ unread: 0, mentions: 0 });
      });

      it("a channel's new member starts caught up; a member who left has no cursor there", async function () {
        await engine.store.joinChannel("room", "carol");
        await put(room, message("carol", { channel: "room" }));
        await put(room, message("carol", { channel: "room" }));
        await engine.store.joinChannel("room", "dave");
        expect(await engine.store.markRead("dave", room, 0)).to.deep.equal({
          readSeq: 2,
          unread: 0,
          moved: false,
        });
        await engine.store.joinChannel("room", "dave"); // again: no change
        await put(room, message("carol", { channel: "room" }));
        expect(await engine.store.readers("room", 3, 10)).to.deep.equal({
          count: 1,
          userIds: ["carol"],
        });
        expect(await engine.store.readers("room", 2, 10)).to.deep.equal({
          count: 2,
          userIds: ["dave", "carol"],
        });
        await engine.store.leaveChannel("room", "dave");
        expect(await engine.store.markRead("dave", room, 3)).to.include({ moved: false });
        expect(await engine.store.readers("room", 1, 10)).to.deep.equal({
          count: 1,
          userIds: ["carol"],
        });
        // A non-member's message moves no cursor there either.
        await put(room, message("zed", { channel: "room" }));
        expect((await engine.store.readers("room", 0, 10)).userIds).to.deep.equal(["carol"]);
      });

      it("readers counts every member at or past a seq and lists at most `limit`", async function () {
        const users = Array.from({ length: 12 }, (_, i) => `r${String(i).padStart(2, "0")}`);
        for (const u of users) await engine.store.joinChannel("room", u);
        for (let i = 0; i < 5; i++) await put(room, message("r00", { channel: "room" }));
        await Promise.all(users.map((u, i) => engine.store.markRead(u, room, i % 6)));
        const at3 = users.filter((u, i) => u === "r00" || i % 6 >= 3);
        const readers = await engine.store.readers("room", 3, 4);
        expect(readers.count).to.equal(at3.length);
        expect(readers.userIds).to.have.length(4);
        for (const id of readers.userIds) expect(at3).to.include(id);
        expect(await engine.store.readers("nowhere", 1, 10)).to.deep.equal({
          count: 0,
          userIds: [],
        });
      });

      it("conversationsOf: directs with an item and every joined channel, newest first, with cursors and counts", async function () {
        await engine.store.joinChannel("busy", "me");
        await engine.store.joinChannel("quiet", "me");
        await engine.store.joinChannel("elsewhere", "you");
        await engine.store.joinChannel("busy", "you");
        const chat = (peer: string): ConversationRef => ({ kind: "direct", a: peer, b: "me" });
        await put(chat("old"), message("old", { to: "me", ts: 100 }));
        await put(chat("new"), message("me", { to: "new", ts: 250 }));
        await put(chat("new"), message("new", { to: "me", ts: 300 }));
        await put({ kind: "channel", name: "busy" }, message("you", { channel: "busy", ts: 200 }));
        await put(
          { kind: "channel", name: "elsewhere" },
          message("you", { channel: "elsewhere", ts: 999 }),
        );
        const dmSummary = (peer: string, lastSeq: number, lastTs: number, readSeq: number) => ({
          ref: { kind: "direct", a: "me", b: peer },
          lastSeq,
          lastTs,
          readSeq,
          mentions: 0,
        });
        expect(await engine.store.conversationsOf("me")).to.deep.equal([
          { ...dmSummary("new", 2, 300, 1), unread: 1, peerReadSeq: 2 },
          {
            ref: { kind: "channel", name: "busy" },
            lastSeq: 1,
            lastTs: 200,
            readSeq: 0,
            unread: 1,
            mentions: 0,
          },
          { ...dmSummary("old", 1, 100, 0), unread: 1, peerReadSeq: 1 },
          {
            ref: { kind: "channel", name: "quiet" },
            lastSeq: 0,
            lastTs: 0,
            readSeq: 0,
            unread: 0,
            mentions: 0,
          },
        ]);
        expect(await engine.store.conversationsOf("old")).to.deep.equal([
          {
            ref: { kind: "direct", a: "old", b: "me" },
            lastSeq: 1,
            lastTs: 100,
            readSeq: 1,
            unread: 0,
            mentions: 0,
            peerReadSeq: 0,
          },
        ]);
        await engine.store.leaveChannel("busy", "me");
        expect((await engine.store.conversationsOf("me")).map((c) => c.ref)).to.not.deep.include({
          kind: "channel",
          name: "busy",
        });
        expect(await engine.store.conversationsOf("stranger")).to.deep.equal([]);
      });
    });

    describe("files", function () {
      const file = (fileId: string, extra: Partial<FileRecord> = {}): FileRecord => ({
        fileId,
        owner: "alice",
        name: 'héllo "world".txt',
        size: 12,
        contentType: "text/plain; charset=utf-8",
        sha256: "ab".repeat(32),
        createdAt: 1_000,
        ...extra,
      });
      const byShare = (x: FileShare, y: FileShare) =>
        compareStrings(JSON.stringify(x), JSON.stringify(y));

      it("keeps a file's record exactly, an image's size too; null for an unknown id", async function () {
        const plain = file("f-1");
        const photo = file("f-2", { contentType: "image/png", image: { width: 640, height: 480 } });
        await engine.store.createFile(plain);
        await engine.store.createFile(photo);
        const other = await sibling();
        expect(await other.store.fileById("f-1")).to.deep.equal(plain);
        expect(await other.store.fileById("f-2")).to.deep.equal(photo);
        expect(await other.store.fileById("f-unknown")).to.equal(null);
      });

      it("shares are a set of (conversation, seq): idempotent, a direct pair in either order", async function () {
        await engine.store.createFile(file("f-1"));
        expect(await engine.store.fileShares("f-1")).to.deep.equal([]);
        await engine.store.shareFile("f-1", { kind: "direct", a: "zed", b: "alice" }, 3);
        await engine.store.shareFile("f-1", { kind: "direct", a: "alice", b: "zed" }, 3);
        await engine.store.shareFile("f-1", { kind: "channel", name: "general" }, 7);
        await engine.store.shareFile("f-1", { kind: "channel", name: "general" }, 9);
        const other = await sibling();
        const expected: FileShare[] = [
          { ref: { kind: "direct", a: "alice", b: "zed" }, seq: 3 },
          { ref: { kind: "channel", name: "general" }, seq: 7 },
          { ref: { kind: "channel", name: "general" }, seq: 9 },
        ];
        expect((await other.store.fileShares("f-1")).sort(byShare)).to.deep.equal(
          expected.sort(byShare),
        );
        expect(await other.store.fileShares("f-other")).to.deep.equal([]);
      });

      it("unshare takes back exactly one item's share, idempotently", async function () {
        const general: ConversationRef = { kind: "channel", name: "general" };
        await engine.store.shareFile("f-1", general, 7);
        await engine.store.shareFile("f-1", general, 9);
        await engine.store.shareFile("f-1", { kind: "direct", a: "alice", b: "zed" }, 3);
        await engine.store.unshareFile("f-1", general, 7);
        await engine.store.unshareFile("f-1", general, 7);
        await engine.store.unshareFile("f-1", { kind: "direct", a: "zed", b: "alice" }, 3);
        await engine.store.unshareFile("f-1", general, 100);
        expect(await engine.store.fileShares("f-1")).to.deep.equal([{ ref: general, seq: 9 }]);
      });

      it("concurrent shares of one file are all kept", async function () {
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            engine.store.shareFile("f-1", { kind: "channel", name: `c${i % 3}` }, i + 1),
          ),
        );
        expect(await engine.store.fileShares("f-1")).to.have.length(30);
      });
    });

    describe("limits", function () {
      it("counts per key within the window, refuses past it with a retry time, and forgets after", async function () {
        const limiter = engine.limits.limiter("test", { points: 3, durationS: 1 });
        const shared = (await sibling()).limits.limiter("test", { points: 3, durationS: 1 });
        expect(await limiter.take("k")).to.deep.equal({ ok: true });
        expect(await shared.take("k")).to.deep.equal({ ok: true }); // one count for every holder
        expect(await limiter.take("k")).to.deep.equal({ ok: true });
        expect(await limiter.take("k")).to.deep.equal({ ok: false, retryAfterS: 1 });
        expect(await limiter.take("other")).to.deep.equal({ ok: true });
        const another = engine.limits.limiter("test-2", { points: 3, durationS: 1 });
        expect(await another.take("k")).to.deep.equal({ ok: true }); // names never share
        await sleep(1_100);
        expect(await limiter.take("k")).to.deep.equal({ ok: true });
      });

      it("takes several points at once, and giveBack returns them", async function () {
        const limiter = engine.limits.limiter("bytes", { points: 100, durationS: 60 });
        expect((await limiter.take("u", 60)).ok).to.equal(true);
        const refused = await limiter.take("u", 50);
        expect(refused.ok).to.equal(false);
        await limiter.giveBack("u", 50);
        expect((await limiter.take("u", 40)).ok).to.equal(true); // 100: full, not over
        expect((await limiter.take("u", 1)).ok).to.equal(false);
      });

      it("20 concurrent takes against 5 points: exactly 5 pass", async function () {
        const limiter = engine.limits.limiter("race", { points: 5, durationS: 60 });
        const other = (await sibling()).limits.limiter("race", { points: 5, durationS: 60 });
        const verdicts = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? limiter : other).take("k")),
        );
        expect(verdicts.filter((v) => v.ok)).to.have.length(5);
      });
    });

    describe("membership", function () {
      const n1 = { nodeId: "im-1", url: "http://127.0.0.1:6001" };
      const n2 = { nodeId: "im-2", url: "http://127.0.0.1:6002" };

      it("lists registered nodes sorted by id; deregister removes", async function () {
        expect(await engine.membership.list()).to.deep.equal([]);
        await engine.membership.register(n2, 10_000);
        await engine.membership.register(n1, 10_000);
        expect(await engine.membership.list()).to.deep.equal([n1, n2]);
        await engine.membership.register({ ...n1, url: "http://127.0.0.1:7001" }, 10_000);
        expect((await engine.membership.list())[0]!.url).to.equal("http://127.0.0.1:7001");
        await engine.membership.deregister("im-2");
        await engine.membership.deregister("im-9"); // unknown: no-op
        expect((await engine.membership.list()).map((n) => n.nodeId)).to.deep.equal(["im-1"]);
      });

      it("live answers for each asked node, in order", async function () {
        await engine.membership.register(n1, 10_000);
        await engine.membership.register(n2, 60);
        expect(await engine.membership.live(["im-2", "im-9", "im-1"])).to.deep.equal([
          true,
          false,
          true,
        ]);
        await sleep(120);
        expect(await engine.membership.live(["im-1", "im-2"])).to.deep.equal([true, false]);
        await engine.membership.deregister("im-1");
        expect(await engine.membership.live(["im-1"])).to.deep.equal([false]);
        expect(await engine.membership.live([])).to.deep.equal([]);
      });

      it("ttlLeft tells how long an entry has before it lapses, null once it is not live", async function () {
        await engine.membership.register(n1, 10_000);
        const left = await engine.membership.ttlLeft("im-1");
        expect(left).to.be.a("number").within(9_000, 10_000);
        await engine.membership.deregister("im-1");
        expect(await engine.membership.ttlLeft("im-1")).to.equal(null);
        expect(await engine.membership.ttlLeft("im-9")).to.equal(null);
      });

      it("drops a node whose TTL ran out; a heartbeat keeps it, and brings it back", async function () {
        await engine.membership.register(n1, 60);
        await engine.membership.register(n2, 60);
        for (let i = 0; i < 4; i++) {
          await sleep(30);
          await engine.membership.heartbeat(n2, 60);
        }
        expect(await engine.membership.list()).to.deep.equal([n2]);
        await engine.membership.heartbeat(n1, 10_000);
        expect(await engine.membership.list()).to.deep.equal([n1, n2]);
      });

      it("announces register, deregister and a heartbeat that re-creates an entry on the bus", async function () {
        const notices = collector();
        await engine.bus.subscribe(topics.membership, notices.handler);
        await engine.membership.register(n1, 50);
        expect(await notices.until(1)).to.deep.equal(["im-1"]);
        expect(await engine.membership.heartbeat(n1, 50)).to.equal(false); // live: no notice
        await engine.membership.register(n2, 10_000);
        expect(await notices.until(2)).to.deep.equal(["im-1", "im-2"]);
        await sleep(100);
        expect(await engine.membership.heartbeat(n1, 10_000)).to.equal(true); // expired: again
        expect(await notices.until(3)).to.deep.equal(["im-1", "im-2", "im-1"]);
        await engine.membership.deregister("im-2");
        expect(await notices.until(4)).to.deep.equal(["im-1", "im-2", "im-1", "im-2"]);
      });
    });
  });
}
