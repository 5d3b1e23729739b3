// NodeWatcher: what a node does when the live node set changes (rebalance kicks in partition mode,
// clearing a vanished node's presence, rewriting its own after a lapse). Fakes for the actors.
import { expect } from "chai";
import { createLogger } from "../config/logger.js";
import type { KickReason } from "../engine/protocol.js";
import { PartitionRouter } from "../engine/router.js";
import type { NodeInfo } from "../engine/types.js";
import type { ConnectionIndex } from "../server/connection-index.js";
import { NodeWatcher } from "../server/node-watcher.js";

interface FakeActor {
  userId: string;
  accepting: boolean;
  kicks: KickReason[];
  kick(reason: KickReason): void;
}

const node = (nodeId: string): NodeInfo => ({ nodeId, url: `http://${nodeId}` });
const WINDOW_MS = 50;

function setup(router: "partition" | "adapter", users: string[]) {
  const owners = new PartitionRouter();
  const actors: FakeActor[] = users.map((userId) => ({
    userId,
    accepting: true,
    kicks: [] as KickReason[],
    kick(this: FakeActor, reason: KickReason) {
      this.kicks.push(reason);
      this.accepting = false;
    },
  }));
  const cleared: string[] = [];
  const offline: string[] = [];
  const notices: string[] = [];
  let restored = 0;
  const watcher = new NodeWatcher({
    nodeId: "self",
    router,
    owners,
    index: { all: () => actors.values() } as unknown as ConnectionIndex,
    presence: {
      async clearNode(nodeId) {
        cleared.push(nodeId);
        return cleared.filter((id) => id === nodeId).length === 1 ? [`held-by-${nodeId}`] : [];
      },
    },
    publishOffline: async (userId) => void offline.push(userId),
    notifyMembership: async (nodeId) => void notices.push(nodeId),
    refresh: async () => undefined,
    restorePresence: () => void restored++,
    logger: createLogger("silent"),
    windowMs: WINDOW_MS,
  });
  const change = (ids: string[]) => {
    const nodes = ids.map(node);
    owners.setNodes(nodes);
    watcher.onChange(owners.liveNodes);
  };
  return { watcher, actors, change, cleared, offline, notices, restored: () => restored, owners };
}

const settle = (ms = WINDOW_MS + 30) => new Promise((resolve) => setTimeout(resolve, ms));

describe("NodeWatcher", function () {
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);

  it("partition: a new node takes over some users; only theirs are kicked with rebalance, within the window", async function () {
    const t = setup("partition", users);
    t.change(["self"]);
    await settle();
    expect(t.actors.flatMap((a) => a.kicks)).to.deep.equal([]);
    t.change(["other", "self"]);
    const started = Date.now();
    await settle();
    const movers = t.actors.filter((a) => t.owners.ownerOf(a.userId)!.nodeId === "other");
    expect(movers.length).to.be.greaterThan(0).and.lessThan(users.length);
    for (const actor of t.actors)
      expect(actor.kicks).to.deep.equal(movers.includes(actor) ? ["rebalance"] : []);
    expect(Date.now() - started).to.be.below(WINDOW_MS + 500);
    t.watcher.stop();
  });

  it("partition: no kick when the set changes back before the delay ends, or after stop", async function () {
    const t = setup("partition", users);
    t.change(["self"]);
    t.change(["other", "self"]);
    t.change(["self"]);
    await settle();
    expect(t.actors.flatMap((a) => a.kicks)).to.deep.equal([]);
    t.change(["other", "self"]);
    t.watcher.stop();
    await settle();
    expect(t.actors.flatMap((a) => a.kicks)).to.deep.equal([]);
  });

  it("partition: a node that is not live itself keeps every connection", async function () {
    const t = setup("partition", users);
    t.change(["other"]);
    await settle();
    expect(t.actors.flatMap((a) => a.kicks)).to.deep.equal([]);
  });

  it("adapter: nobody is ever kicked for a new node", async function () {
    const t = setup("adapter", users);
    t.change(["self"]);
    t.change(["other", "self"]);
    await settle();
    expect(t.actors.flatMap((a) => a.kicks)).to.deep.equal([]);
  });

  it("a vanished node: announced, its presence cleared, its users reported offline, once", async function () {
    for (const router of ["partition", "adapter"] as const) {
      const t = setup(router, []);
      t.change(["dead", "other", "self"]);
      t.change(["other", "self"]);
      await settle(20);
      expect(t.notices).to.deep.equal(["dead"]);
      expect(t.cleared).to.deep.equal(["dead"]);
      expect(t.offline).to.deep.equal(["held-by-dead"]);
      t.change(["other", "self"]); // no change: nothing more
      await settle(20);
      expect(t.cleared).to.deep.equal(["dead"]);
    }
  });

  it("writes its presence again when it comes back after its own entry lapsed, not at first", async function () {
    const t = setup("partition", []);
    t.change(["other"]); // before its own registration
    t.change(["other", "self"]);
    expect(t.restored()).to.equal(0);
    t.change(["other"]); // lapsed
    expect(t.cleared).to.deep.equal([]); // never clears itself
    t.change(["other", "self"]);
    expect(t.restored()).to.equal(1);
  });
});
