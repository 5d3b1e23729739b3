// The engine conformance suite (test/helpers/engine-conformance.ts) against both twins, plus what
// only the Redis engine does. The Redis runs use a private redis-server (test/helpers/redis.ts)
// and fail if there is none.
import { expect } from "chai";
import type { Redis } from "ioredis";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoryEngine } from "../engine/memory-engine.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { duplicate } from "../engine/redis/connection.js";
import type { ConversationRef } from "../engine/types.js";
import { topics } from "../engine/wire.js";
import {
  collector,
  describeEngineConformance,
  message,
  storedItem,
} from "./helpers/engine-conformance.js";
import { freePort, startRedis, type TestRedis } from "../support/redis-server.js";

describeEngineConformance("memory", {
  kind: "memory",
  async start() {
    return { shared: false, open: async () => new MemoryEngine(), stop: async () => {} };
  },
});

describeEngineConformance("redis", {
  kind: "redis",
  async start() {
    const server = await startRedis();
    return {
      shared: true,
      open: (prefix) => RedisEngine.connect({ url: server.url, prefix }),
      stop: () => server.destroy(),
    };
  },
});

describe("engine: redis only", function () {
  let server: TestRedis | null = null;
  const engines: RedisEngine[] = [];
  const open = async (url: string, prefix = "only:") => {
    const engine = await RedisEngine.connect({ url, prefix });
    engines.push(engine);
    return engine;
  };

  afterEach(async function () {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    await server?.destroy();
    server = null;
  });

  it("connect rejects with a clear error naming the address when Redis is unreachable", async function () {
    const port = await freePort();
    let error: unknown = null;
    try {
      await RedisEngine.connect({ url: `redis://:secret@127.0.0.1:${port}`, prefix: "x:" });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.contain(`cannot reach Redis at 127.0.0.1:${port}`);
    expect((error as Error).message).to.not.contain("secret");
  });

  it("a channel from before records reads as public, all, no owner; its members page, and the next joiner owns it", async function () {
    server = await startRedis();
    const engine = await open(server.url, "old:");
    // What the previous version wrote for a channel: its members, its version, the name index.
    const keys = engine.keys;
    await engine.redis.sadd(keys.channelMembers("legacy"), "u1", "u2");
    await engine.redis.set(keys.channelVersion("legacy"), "2");
    await engine.redis.sadd(keys.channelIndex(), "legacy");
    expect(await engine.store.channelInfo("legacy")).to.deep.equal({
      name: "legacy",
      owner: null,
      title: "",
      visibility: "public",
      history: "all",
      created: 0,
    });
    expect((await engine.store.member("legacy", "u1"))!.member).to.deep.include({
      role: "member",
      joinSeq: 0,
    });
    expect(
      (await engine.store.listChannels(undefined, undefined, "u9")).map((c) => c.name),
    ).to.deep.equal(["legacy"]);
    const page = await engine.store.membersPage("legacy", 0, 10);
    expect(page.map((m) => m.userId).sort()).to.deep.equal(["u1", "u2"]);
    expect(await engine.store.joinChannel("legacy", "u3")).to.deep.equal({
      outcome: "joined",
      role: "owner",
    });
    expect((await engine.store.channelInfo("legacy"))!.owner).to.equal("u3");
  });

  it("every key and channel it writes starts with its prefix", async function () {
    server = await startRedis();
    const engine = await open(`${server.url}/3`, "pfx:");
    const seen = collector();
    const monitor = duplicate(engine.redis) as Redis;
    await monitor.psubscribe("*");
    monitor.on("pmessage", (_pattern: string, channel: string) => seen.handler(channel));
    const user = (await engine.store.createUser("zed", "h"))!;
    await engine.store.createSession(user.userId, 60_000);
    await engine.tokens.issue({ userId: user.userId, sessionId: "s", nodeId: "n" }, 30_000);
    await engine.presence.add(user.userId, "n", "c");
    await engine.store.requestFriend(user.userId, "other");
    await engine.store.joinChannel("general", user.userId);
    await engine.store.append({ kind: "direct", a: user.userId, b: "other" }, message(user.userId));
    await engine.store.append({ kind: "channel", name: "general" }, message(user.userId));
    await engine.membership.register({ nodeId: "n", url: "http://x" }, 10_000);
    await seen.until(1);
    const keys = await engine.redis.keys("*");
    expect(keys.length).to.be.greaterThan(10);
    for (const key of keys) expect(key.startsWith("pfx:")).to.equal(true, key);
    expect(seen.items).to.deep.equal(["pfx:membership"]);
    await monitor.quit();
  });

  it("a recall deletes the message's content, replyTo, mentions and edits from Redis itself", async function () {
    server = await startRedis();
    const engine = await open(server.url, "recall:");
    const room: ConversationRef = { kind: "channel", name: "room" };
    await engine.store.joinChannel("room", "carol");
    const sent = storedItem(
      await engine.store.append(
        room,
        message("carol", {
          channel: "room",
          content: { text: "top secret" },
          replyTo: "reply-target-id",
          mentions: ["mentioned-user-id"],
        }),
      ),
    );
    const edit = { id: "e1", kind: "edit", from: "carol", channel: "room", ts: 2 } as const;
    await engine.store.append(room, { ...edit, target: sent.id, content: "still top secret" });
    const everything = async () => {
      const values: string[] = [];
      for (const key of await engine.redis.keys("recall:*")) {
        const type = await engine.redis.type(key);
        if (type === "string") values.push((await engine.redis.get(key))!);
        if (type === "list") values.push(...(await engine.redis.lrange(key, 0, -1)));
        if (type === "hash") values.push(JSON.stringify(await engine.redis.hgetall(key)));
      }
      return values.join("\n");
    };
    expect(await everything())
      .to.contain("top secret")
      .and.contain("reply-target-id");
    await engine.store.append(room, { ...edit, id: "r1", kind: "recall", target: sent.id });
    const after = await everything();
    for (const gone of ["top secret", "reply-target-id", "mentioned-user-id"])
      expect(after).to.not.contain(gone);
  });

  it("two processes subscribed to a topic count as two subscribers", async function () {
    server = await startRedis();
    const a = await open(server.url);
    const b = await open(server.url);
    const got = collector();
    await a.bus.subscribe(topics.node("n"), got.handler);
    await b.bus.subscribe(topics.node("n"), got.handler);
    expect(await a.bus.publish(topics.node("n"), "x")).to.equal(2);
    expect(await got.until(2)).to.deep.equal(["x", "x"]);
  });

  it("ping rejects at once while Redis is down", async function () {
    server = await startRedis();
    const engine = await open(server.url);
    await engine.ping();
    await server.stop(true);
    const started = Date.now();
    let failed = false;
    await engine.ping().catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect(Date.now() - started).to.be.lessThan(1_000);
  });

  it("keeps every record across a redis-server restart, and the bus re-subscribes by itself", async function () {
    server = await startRedis({ persist: true });
    const first = await open(server.url);
    const alice = (await first.store.createUser("alice", "h-a"))!;
    const bob = (await first.store.createUser("bob", "h-b"))!;
    const session = await first.store.createSession(alice.userId, 60_000);
    await first.store.requestFriend(alice.userId, bob.userId);
    await first.store.requestFriend(bob.userId, alice.userId);
    await first.store.joinChannel("general", alice.userId);
    const dm: ConversationRef = { kind: "direct", a: alice.userId, b: bob.userId };
    const sent = storedItem(
      await first.store.append(
        dm,
        message(alice.userId, { to: bob.userId, content: { list: [] } }),
      ),
    );
    const got = collector();
    await first.bus.subscribe(topics.node("im-1"), got.handler);

    await server.stop();
    await server.start();

    const second = await open(server.url);
    expect(await second.store.userByName("ALICE")).to.deep.equal({ ...alice, passwordHash: "h-a" });
    expect(await second.store.sessionByToken(session.token)).to.deep.equal({
      sessionId: session.sessionId,
      userId: alice.userId,
    });
    expect(await second.store.friendState(bob.userId, alice.userId)).to.equal("friends");
    expect(await second.store.channelMembers("general")).to.deep.equal([alice.userId]);
    expect(await second.store.history(dm, 0, 10)).to.deep.equal([sent]);
    expect(storedItem(await second.store.append(dm, message(bob.userId))).seq).to.equal(2);

    // The old engine reconnects and re-subscribes on its own (ioredis autoResubscribe).
    const deadline = Date.now() + 5_000;
    while ((await second.bus.publish(topics.node("im-1"), "back")) === 0) {
      if (Date.now() > deadline) throw new Error("the subscriber did not come back in 5 s");
      await sleep(50);
    }
    expect(await got.until(1)).to.deep.equal(["back"]);
    // Its command connection reconnects on its own too, on its own backoff (ping fails at once
    // until it is ready, by design): wait for it, bounded.
    while (
      !(await first.ping().then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error("the command connection did not come back in 5 s");
      await sleep(50);
    }
  });
});
