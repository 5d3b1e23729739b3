// The push client in adapter mode (business/push-router.ts): each push goes once to one live node,
// round-robin, passing over a node nobody listens on; users connect to the least-loaded node.
import { expect } from "chai";
import { PushClient } from "../business/push-client.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import type { MessagePush } from "../engine/protocol.js";
import type { Unsubscribe } from "../engine/types.js";
import { topics, type NodeCommand } from "../engine/wire.js";

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
          received.get(nodeId)!.push(JSON.parse(raw) as NodeCommand),
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
