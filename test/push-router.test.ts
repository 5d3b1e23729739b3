// The push client in adapter mode (business/push-router.ts): each push goes once to one live node,
// round-robin, passing over a node nobody listens on; users connect to the least-loaded node. And
// its batching: one PUBLISH per node per event-loop turn.
import { expect } from "chai";
import type { Redis } from "ioredis";
import { PushClient } from "../business/push-client.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import type { MessagePush } from "../engine/protocol.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { PartitionRouter } from "../engine/router.js";
import type { Unsubscribe } from "../engine/types.js";
import { decodePayload, MAX_BATCH, topics, type NodeCommand } from "../engine/wire.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";

/** One command, or the commands of a version-2 envelope (the push client batches per turn). */
function unbatch(raw: string): NodeCommand[] {
  const json = JSON.parse(raw) as NodeCommand | { kind: "batch"; commands: NodeCommand[] };
  return json.kind === "batch" ? json.commands : [json];
}

const message = (id: string): MessagePush => ({
  id,
  seq: 1,
  kind: "message",
  from: "alice",
  channel: "general",
  content: "hi",
  ts: 1,
});

describe("PushClient in adapter mode", function () {
  let engine: MemoryEngine;
  let push: PushClient;
  const received = new Map<string, NodeCommand[]>();
  const unsubscribes: Unsubscribe[] = [];

  /** A registered node; `listening: false` is a dead one whose entry has not expired yet. */
  const addNode = async (nodeId: string, listening = true) => {
    received.set(nodeId, []);
    if (listening)
      unsubscribes.push(
        await engine.bus.subscribe(topics.node(nodeId), (raw) =>
          received.get(nodeId)!.push(...unbatch(raw)),
        ),
      );
    await engine.membership.register({ nodeId, url: `http://${nodeId}` }, 60_000);
  };

  beforeEach(async function () {
    engine = new MemoryEngine();
    received.clear();
    push = new PushClient({ engine, router: "adapter" });
  });

  afterEach(async function () {
    for (const unsubscribe of unsubscribes.splice(0)) await unsubscribe();
    await push.close();
    await engine.close();
  });

  it("publishes each push once, to one node, naming every recipient, rotating over the nodes", async function () {
    for (const id of ["a", "b", "c"]) await addNode(id);
    await push.start();
    const members = Array.from({ length: 10 }, (_, i) => `m${i}`);
    for (let i = 0; i < 6; i++) {
      const result = await push.sendChannel(message(`msg${i}`), members);
      expect(result).to.deep.equal({ nodes: 1, offline: [] });
    }
    await new Promise((resolve) => setImmediate(resolve));
    const counts = [...received.values()].map((commands) => commands.length);
    expect(counts).to.deep.equal([2, 2, 2]);
    for (const commands of received.values())
      for (const command of commands)
        expect(command)
          .to.include({ kind: "push", event: "message" })
          .and.have.property("to")
          .that.deep.equals(members);
  });

  it("passes over a node nobody listens on: the push lands on a live one, nobody is offline", async function () {
    await addNode("alive");
    await addNode("dead", false);
    await push.start();
    for (let i = 0; i < 4; i++) {
      const result = await push.send({ ...message(`dm${i}`), channel: undefined, to: "bob" });
      expect(result).to.deep.equal({ nodes: 1, offline: [] });
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(received.get("alive")).to.have.length(4);
    await push.forceOffline("bob");
    await new Promise((resolve) => setImmediate(resolve));
    expect(received.get("alive")!.map((c) => c.kind)).to.deep.equal([
      "push",
      "push",
      "push",
      "push",
      "kick",
    ]);
  });

  it("sends a user to the node with the fewest connections, and spreads a burst of connects", async function () {
    for (const id of ["a", "b", "c"]) await addNode(id);
    await push.start();
    for (let i = 0; i < 3; i++) await engine.presence.add(`ua${i}`, "a", `ca${i}`);
    await engine.presence.add("uc", "c", "cc");
    expect((await push.prevConnect("x", "s"))!.nodeId).to.equal("b");

    const fresh = new PushClient({ engine, router: "adapter" });
    await fresh.start();
    try {
      for (let i = 0; i < 3; i++) await engine.presence.remove(`ua${i}`, "a", `ca${i}`);
      await engine.presence.remove("uc", "c", "cc");
      const grants = await Promise.all(
        Array.from({ length: 6 }, (_, i) => fresh.prevConnect(`u${i}`, "s")),
      );
      const perNode = new Map<string, number>();
      for (const grant of grants) perNode.set(grant!.nodeId, (perNode.get(grant!.nodeId) ?? 0) + 1);
      expect([...perNode.values()]).to.deep.equal([2, 2, 2]);
    } finally {
      await fresh.close();
    }
  });

  it("answers null for a connect and marks recipients offline when no node is live", async function () {
    await push.start();
    expect(await push.prevConnect("x", "s")).to.equal(null);
    expect(await push.sendChannel(message("m"), ["a", "b"])).to.deep.equal({
      nodes: 0,
      offline: ["a", "b"],
    });
  });
});

// The push client's batching (engine/publish-batcher.ts) on a real Redis, PUBLISHes counted by
// Redis itself: what one event-loop turn produced for a node is one PUBLISH.
describe("PushClient batching over Redis", function () {
  this.timeout(20_000);
  let redis: TestRedis;
  let engine: RedisEngine;
  let push: PushClient;
  const received = new Map<string, NodeCommand[]>();
  const unsubscribes: Unsubscribe[] = [];

  before(async function () {
    redis = await startRedis();
  });
  after(async function () {
    await redis.destroy();
  });

  beforeEach(async function () {
    engine = await RedisEngine.connect({ url: redis.url, prefix: `batch${Date.now()}:` });
    for (const nodeId of ["n1", "n2"]) {
      received.set(nodeId, []);
      unsubscribes.push(
        await engine.bus.subscribe(topics.node(nodeId), (raw) => {
          const { commands, dropped } = decodePayload(raw);
          expect(dropped).to.equal(0);
          received.get(nodeId)!.push(...commands);
        }),
      );
      await engine.membership.register({ nodeId, url: `http://${nodeId}` }, 60_000);
    }
    push = new PushClient({ engine });
    await push.start();
  });

  afterEach(async function () {
    for (const unsubscribe of unsubscribes.splice(0)) await unsubscribe();
    await push.close();
    await engine.close();
  });

  const publishes = async () =>
    Number(
      /cmdstat_publish:calls=(\d+)/.exec(await (engine.redis as Redis).info("commandstats"))?.[1] ??
        0,
    );
  /** Users owned by each node, found by the same rendezvous hashing the client uses. */
  const usersOf = (count: number) => {
    const router = new PartitionRouter([
      { nodeId: "n1", url: "" },
      { nodeId: "n2", url: "" },
    ]);
    const byNode = new Map<string, string[]>([
      ["n1", []],
      ["n2", []],
    ]);
    for (let i = 0; [...byNode.values()].some((u) => u.length < count); i++) {
      const owner = router.ownerOf(`u${i}`)!.nodeId;
      if (byNode.get(owner)!.length < count) byNode.get(owner)!.push(`u${i}`);
    }
    return byNode;
  };

  it("sends what one turn produced as one PUBLISH per node, every command in order", async function () {
    const users = usersOf(30);
    const before = await publishes();
    const pushes = [];
    for (let i = 0; i < 30; i++) {
      const to = [users.get("n1")![i]!, users.get("n2")![i]!];
      pushes.push(push.pushTo("typing", { from: `s${i}`, ts: i }, to));
    }
    const results = await Promise.all(pushes);
    expect(results.every((r) => r.nodes === 2 && r.offline.length === 0)).to.equal(true);
    expect((await publishes()) - before).to.equal(2);
    for (const nodeId of ["n1", "n2"]) {
      const got = received.get(nodeId)!;
      expect(got.map((c) => (c as { data: { from: string } }).data.from)).to.deep.equal(
        Array.from({ length: 30 }, (_, i) => `s${i}`),
      );
      expect(got.map((c) => (c as { to: string[] }).to[0])).to.deep.equal(users.get(nodeId));
    }
  });

  it("sends a lone command as itself, and pushes in separate turns separately", async function () {
    const [user] = usersOf(1).get("n1")!;
    const before = await publishes();
    const raws: string[] = [];
    unsubscribes.push(await engine.bus.subscribe(topics.node("n1"), (raw) => raws.push(raw)));
    await push.pushTo("typing", { from: "a", ts: 1 }, [user!]);
    await push.pushTo("typing", { from: "b", ts: 2 }, [user!]);
    expect((await publishes()) - before).to.equal(2);
    expect(raws.map((raw) => JSON.parse(raw) as unknown)).to.deep.equal([
      { v: 1, kind: "push", event: "typing", to: [user], data: { from: "a", ts: 1 } },
      { v: 1, kind: "push", event: "typing", to: [user], data: { from: "b", ts: 2 } },
    ]);
  });

  it("splits a turn's commands for one node into envelopes of at most MAX_BATCH", async function () {
    const [user] = usersOf(1).get("n1")!;
    const before = await publishes();
    const pushes = Array.from({ length: MAX_BATCH + 1 }, (_, i) =>
      push.pushTo("typing", { from: "a", ts: i }, [user!]),
    );
    await Promise.all(pushes);
    expect((await publishes()) - before).to.equal(2);
    expect(received.get("n1")).to.have.length(MAX_BATCH + 1);
  });
});
