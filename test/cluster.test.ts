// Herald on a three-master Redis Cluster (test/helpers/redis-cluster.ts): the engine conformance
// suite, what only a cluster does (URL syntax, sharded pub/sub counts, keys over every shard), and
// the DM and channel path end to end through the SDK.
import { expect } from "chai";
import { Cluster } from "ioredis";
import { HeraldClient } from "../client/sdk.js";
import { loadConfig, type Config } from "../config/index.js";
import type { MessagePush, ReceiptPush } from "../engine/protocol.js";
import { parseRedisUrl, redactUrl } from "../engine/redis/connection.js";
import { PostgresStoreEngine } from "../engine/postgres/postgres-engine.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { PostgresStore } from "../engine/store/postgres.js";
import { RedisStore } from "../engine/store/redis.js";
import type { ConversationRef } from "../engine/types.js";
import { topics } from "../engine/wire.js";
import { startHerald, type Herald } from "../herald.js";
import { collector, describeEngineConformance, message } from "./helpers/engine-conformance.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";
import { freePort } from "../support/redis-server.js";
import { RawPushes } from "../support/raw-pushes.js";
import { startRedisCluster, type TestRedisCluster } from "./helpers/redis-cluster.js";

/** One cluster for the whole file (starting one takes seconds), stopped after its last suite. */
let shared: Promise<TestRedisCluster> | null = null;
const cluster = () => (shared ??= startRedisCluster());
/** Likewise one PostgreSQL, for the suites with the store on it. */
let sharedPostgres: Promise<TestPostgres> | null = null;
const postgres = () => (sharedPostgres ??= startPostgres());

function sortedItems(list: readonly string[]): string[] {
  return [...list].sort();
}

/** What one SDK client saw, with bounded waits on it. */
class Seen {
  readonly messages: MessagePush[] = [];
  readonly receipts: ReceiptPush[] = [];
  private wake: (() => void) | null = null;

  /** `raw`: the pushes as the server sent them, before the SDK dropped any repeat. */
  constructor(
    client: HeraldClient,
    readonly raw: RawPushes,
  ) {
    client.on("message", (m) => {
      if (!("broadcast" in m)) this.messages.push(m);
      this.wake?.();
    });
    client.on("receipt", (r) => {
      this.receipts.push(r);
      this.wake?.();
    });
  }

  async until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }
}

describe("redis cluster", function () {
  after(async function () {
    const started = [shared, sharedPostgres];
    shared = sharedPostgres = null;
    await Promise.all(started.map(async (server) => (await server)?.destroy()));
  });

  describeEngineConformance("redis cluster", {
    kind: "redis",
    async start() {
      const { url } = await cluster();
      return {
        shared: true,
        // Every suite gets its own key space on the one cluster.
        open: (prefix) => RedisEngine.connect({ url, prefix: `conf-${prefix}` }),
        stop: async () => {},
      };
    },
  });

  describe("engine: redis cluster only", function () {
    let url = "";
    let n = 0;
    const engines: RedisEngine[] = [];
    const open = async (prefix = `only${++n}:`) => {
      const engine = await RedisEngine.connect({ url, prefix });
      engines.push(engine);
      return engine;
    };

    before(async function () {
      url = (await cluster()).url;
    });
    afterEach(async function () {
      await Promise.all(engines.splice(0).map((e) => e.close()));
    });

    it("parses redis+cluster:// and redis-cluster:// seeds and credentials; errors hide the password", function () {
      expect(parseRedisUrl("redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002")).to.deep.equal(
        {
          kind: "cluster",
          seeds: [
            { host: "10.0.0.1", port: 7000 },
            { host: "10.0.0.2", port: 7001 },
            { host: "::1", port: 7002 },
          ],
        },
      );
      expect(parseRedisUrl("REDIS-CLUSTER://bob:s%40cret@redis-a:7000,redis-b/")).to.deep.equal({
        kind: "cluster",
        seeds: [
          { host: "redis-a", port: 7000 },
          { host: "redis-b", port: 6379 },
        ],
        username: "bob",
        password: "s@cret",
      });
      expect(parseRedisUrl("redis+cluster://:pw@h:1")).to.deep.include({ password: "pw" });
      expect(parseRedisUrl("redis://127.0.0.1:6379/2")).to.deep.equal({
        kind: "standalone",
        url: "redis://127.0.0.1:6379/2",
      });
      expect(redactUrl("redis+cluster://u:secret@h1:7000,h2:7001")).to.equal("h1:7000,h2:7001");
      for (const bad of [
        "redis+cluster://",
        "redis+cluster://h1:7000,,h2:7001",
        "redis+cluster://h1:7000/3",
        "redis+cluster://h1:notaport",
      ])
        expect(() => parseRedisUrl(bad), bad).to.throw(/bad REDIS_URL/);
    });

    it("a cluster URL gets ioredis' Cluster client, a redis:// URL a plain one", async function () {
      const engine = await open();
      expect(engine.cluster).to.equal(true);
      expect(engine.redis).to.be.instanceOf(Cluster);
      expect(engine.kind).to.equal("redis");
      await engine.ping();
    });

    it("connect rejects with a clear error naming the seeds when none answers, never the password", async function () {
      const ports = [await freePort(), await freePort()];
      const started = Date.now();
      let error: unknown = null;
      try {
        await RedisEngine.connect({
          url: `redis+cluster://:secret@127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`,
          prefix: "x:",
        });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(Error);
      const text = (error as Error).message;
      expect(text).to.contain(`cannot reach Redis at 127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`);
      expect(text).to.not.contain("secret");
      expect(Date.now() - started).to.be.lessThan(10_000);
    });

    it("SPUBLISH counts each subscribed process on every shard, and 0 once they left (node gone)", async function () {
      const a = await open("count:");
      const b = await open("count:");
      // Enough node topics that their channels land on all three masters.
      const nodeIds = Array.from({ length: 12 }, (_, i) => `im-${i}`);
      const masters = new Set<string>();
      for (const id of nodeIds) {
        const slot = (await a.redis.cluster("KEYSLOT", a.keys.channel(topics.node(id)))) as number;
        masters.add((a.redis as Cluster).slots[slot]![0]!);
      }
      expect(masters.size).to.equal(3);
      const got = collector();
      const offs = await Promise.all(
        nodeIds.flatMap((id) => [a, b].map((e) => e.bus.subscribe(topics.node(id), got.handler))),
      );
      for (const id of nodeIds) expect(await a.bus.publish(topics.node(id), id), id).to.equal(2);
      expect(sortedItems(await got.until(24))).to.deep.equal(sortedItems([...nodeIds, ...nodeIds]));
      await b.close();
      for (const id of nodeIds) expect(await a.bus.publish(topics.node(id), "x"), id).to.equal(1);
      await Promise.all(offs.map((off) => off()));
      for (const id of nodeIds) expect(await a.bus.publish(topics.node(id), "x"), id).to.equal(0);
    });

    it("spreads one prefix's state over all three masters: accounts, friendships and channels too", async function () {
      const engine = await open("spread:");
      // 40 of each: the chance that per-entity tags leave a master without one is ~1e-7.
      for (let i = 0; i < 40; i++) {
        const user = (await engine.store.createUser(`user${i}`, "h"))!;
        const session = await engine.store.createSession(user.userId, 60_000);
        await engine.tokens.issue(
          { userId: user.userId, sessionId: session.sessionId, nodeId: "n" },
          30_000,
        );
        await engine.presence.add(user.userId, "n", `c${i}`);
        await engine.store.append(
          { kind: "direct", a: user.userId, b: "peer" },
          message(user.userId, { to: "peer" }),
        );
        await engine.store.requestFriend(user.userId, "peer");
        await engine.store.joinChannel(`room${i}`, user.userId);
      }
      // (That every key starts with the prefix is proven on one server, in engine.test.ts.)
      const perMaster = await Promise.all(
        (engine.redis as Cluster).nodes("master").map((node) => node.keys("spread:*")),
      );
      expect(perMaster).to.have.length(3);
      for (const keys of perMaster)
        for (const kind of [/^spread:\{u:.*\}:user$/, /:friendship$/, /:members$/])
          expect(keys.some((key) => kind.test(key))).to.equal(true, String(kind));
    });

    it("multi-slot operations (tokens, presence, directs, revocation, clearNode) behave as on one server", async function () {
      const engine = await open();
      const grant = { userId: "u1", sessionId: "s1", nodeId: "n1" };
      const tokens = await Promise.all(
        Array.from({ length: 8 }, () => engine.tokens.issue(grant, 30_000)),
      );
      await engine.tokens.revokeSession("s1");
      for (const token of tokens)
        expect(await engine.tokens.take(token)).to.deep.equal({ status: "invalid" });
      const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
      await engine.membership.register({ nodeId: "n1", url: "http://n1" }, 60_000);
      await Promise.all(users.map((u, i) => engine.presence.add(u, "n1", `c${i}`)));
      expect(await engine.presence.online(users)).to.deep.equal(users.map(() => true));
      expect(await engine.presence.clearNode("n1")).to.deep.equal([]); // live: kept
      await engine.membership.deregister("n1");
      expect(sortedItems(await engine.presence.clearNode("n1"))).to.deep.equal(sortedItems(users));
      await engine.membership.register({ nodeId: "n1", url: "http://n1" }, 60_000);
      expect(await engine.presence.online(users)).to.deep.equal(users.map(() => false));
      const refs: ConversationRef[] = users.map((u) => ({ kind: "direct", a: "me", b: u }));
      await Promise.all(
        refs.map((ref, i) => engine.store.append(ref, message("me", { ts: i + 1 }))),
      );
      const mine = await engine.store.conversationsOf("me");
      expect(mine.map((c) => c.lastTs)).to.deep.equal(users.map((_, i) => users.length - i));
    });
  });

  for (const mode of ["partition", "adapter"] as const)
    for (const store of ["redis", "postgres"] as const) {
      describe(`herald on a redis cluster, two nodes (${mode}, ${store} store): DM and channel end to end`, function () {
        const PASSWORD = "correct horse";
        const heralds: Herald[] = [];
        const clients: HeraldClient[] = [];
        let n = 0;

        before(async function () {
          const { url } = await cluster();
          const databaseUrl =
            store === "postgres"
              ? await (await postgres()).createDatabase(`e2e_${mode}`)
              : undefined;
          for (const nodeId of ["im-a", "im-b"]) {
            const config: Config = {
              ...loadConfig({}),
              redisUrl: url,
              databaseUrl,
              redisPrefix: `e2e-${mode}-${store}:`,
              businessPort: 0,
              imPort: 0,
              host: "127.0.0.1",
              nodeId,
              router: mode,
              logLevel: "silent",
              ackTimeoutMs: 2_000,
            };
            heralds.push(await startHerald(config));
          }
          const engine = heralds[0]!.engine;
          const base = engine instanceof PostgresStoreEngine ? engine.base : engine;
          expect((base as RedisEngine).cluster).to.equal(true);
          expect(engine.store).to.be.instanceOf(store === "postgres" ? PostgresStore : RedisStore);
          // Both nodes see each other before users connect (each business routes over the live set).
          const deadline = Date.now() + 5_000;
          while ((await heralds[0]!.engine.membership.list()).length < 2) {
            if (Date.now() > deadline) throw new Error("the two nodes did not register in 5 s");
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        });
        after(async function () {
          for (const client of clients.splice(0)) client.disconnect();
          await Promise.all(heralds.splice(0).map((h) => h.stop()));
        });

        /** The node holding a user's connection (-1: none). */
        function nodeOf(userId: string): number {
          return heralds.findIndex((h) =>
            [...h.im.io.sockets.sockets.values()].some(
              (socket) => (socket.data as { userId?: string }).userId === userId,
            ),
          );
        }

        /** A connected user, registered through either node's business. */
        async function user(name: string) {
          const raw = new RawPushes();
          const client = new HeraldClient({
            baseUrl: heralds[n++ % heralds.length]!.business.url,
            reconnect: { minDelayMs: 20, maxDelayMs: 200 },
            io: raw.io,
          });
          clients.push(client);
          await client.register(name, PASSWORD);
          await client.login(name, PASSWORD);
          const seen = new Seen(client, raw);
          await client.connect();
          return { client, id: client.userId!, seen, node: nodeOf(client.userId!) };
        }

        /** Users until one sits on each node (placement is by hash or load, not by name). */
        async function onBothNodes(prefix: string) {
          const users = [];
          for (let i = 0; i < 16; i++) {
            const u = await user(`${prefix}${i}`);
            expect(u.node, `${u.id}'s node`).to.be.at.least(0);
            users.push(u);
            const first = users.find((x) => x.node === 0);
            const second = users.find((x) => x.node === 1);
            if (first && second) return { first, second, users };
          }
          throw new Error("16 users all landed on one node");
        }

        it("a DM crosses nodes with a delivered receipt, a channel post reaches members on both, history agrees", async function () {
          const { first: alice, second: bob, users } = await onBothNodes("user");
          expect(await alice.client.requestFriend(bob.id)).to.equal("pending");
          expect(await bob.client.requestFriend(alice.id)).to.equal("friends");

          const sent = await alice.client.send(bob.id, { text: "hi bob" }, { receipt: true });
          await bob.seen.until(() => bob.seen.messages.some((m) => m.id === sent.id), "bob's DM");
          const dm = bob.seen.messages.find((m) => m.id === sent.id);
          // The SDK gives every send a clientMsgId, so a retry of it is stored once.
          expect(dm).to.deep.equal({
            id: sent.id,
            seq: 1,
            kind: "message",
            from: alice.id,
            to: bob.id,
            content: { text: "hi bob" },
            clientMsgId: (dm as { clientMsgId?: string } | undefined)?.clientMsgId,
            ts: sent.ts,
          });
          expect(dm).to.have.property("clientMsgId").that.is.a("string");
          await alice.seen.until(
            () =>
              alice.seen.receipts.some((r) => r.messageId === sent.id && r.status === "delivered"),
            "alice's delivered receipt",
          );
          // Bob acked before the receipt left, so a second push to him would be in by now.
          expect(bob.seen.raw.perSocket(sent.id), "pushes to bob").to.equal(1);
          const reply = await bob.client.send(alice.id, "hi alice");
          expect(reply.seq).to.equal(2);
          await alice.seen.until(
            () => alice.seen.messages.some((m) => m.id === reply.id),
            "the reply",
          );

          for (const u of users) await u.client.joinChannel("general");
          const poster = users[users.length - 1]!;
          const post = await poster.client.sendChannel("general", { text: "hello all" });
          for (const u of users)
            await u.seen.until(
              () => u.seen.messages.some((m) => m.id === post.id),
              "the channel post",
            );
          expect(bob.seen.messages.find((m) => m.id === post.id)).to.deep.include({
            seq: 1,
            from: poster.id,
            channel: "general",
            content: { text: "hello all" },
          });
          // Pushed after the post along the same paths: once it is everywhere, a repeat would be too.
          const marker = await poster.client.sendChannel("general", "marker");
          for (const u of users)
            await u.seen.until(() => u.seen.messages.some((m) => m.id === marker.id), "the marker");
          for (const u of users) {
            expect(
              u.seen.messages.filter((m) => m.id === post.id),
              "emitted once",
            ).to.have.length(1);
            expect(u.seen.raw.perSocket(post.id), "pushed once").to.equal(1);
          }

          const channel = await alice.client.history({ kind: "channel", channel: "general" });
          expect(channel.map((m) => m.id)).to.deep.equal([post.id, marker.id]);
          const direct = await bob.client.history({ kind: "direct", peer: alice.id });
          expect(
            direct.map((m) => [m.seq, m.from, m.kind === "message" && m.content]),
          ).to.deep.equal([
            [1, alice.id, { text: "hi bob" }],
            [2, bob.id, "hi alice"],
          ]);
          const conversations = await alice.client.conversations();
          expect(conversations.map((c) => [c.kind, c.lastSeq])).to.deep.equal([
            ["channel", 2],
            ["direct", 2],
          ]);
        });
      });
    }
});
