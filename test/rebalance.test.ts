// Rebalance: partition mode's kicks when the live node set changes. Fakes for the actors.
import { expect } from "chai";
import type { KickReason } from "../engine/protocol.js";
import { PartitionRouter } from "../engine/router.js";
import type { NodeInfo } from "../engine/types.js";
import type { ConnectionActor } from "../server/connection-actor.js";
import { Rebalance } from "../server/rebalance.js";

interface FakeActor {
  userId: string;
  accepting: boolean;
  kicks: KickReason[];
  kick(reason: KickReason): void;
}

const node = (nodeId: string): NodeInfo => ({ nodeId, url: `http://${nodeId}` });
const WINDOW_MS = 50;

function setup(users: string[]) {
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
  const rebalance = new Rebalance({
    nodeId: "self",
    owners,
    index: { all: () => (actors as unknown as ConnectionActor[]).values() },
    refresh: async () => undefined,
    windowMs: WINDOW_MS,
  });
  const change = (ids: string[]) => {
    owners.setNodes(ids.map(node));
    rebalance.membershipChanged();
  };
  return { rebalance, actors, change, owners };
}

const settle = (ms = WINDOW_MS + 30) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Rebalance", function () {
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);

  it("a new node takes over some users; only theirs are kicked with rebalance, within the window", async function () {
    const t = setup(users);
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
    t.rebalance.stop();
  });

  it("no kick when the set changes back before the delay ends, or after stop", async function () {
    const t = setup(users);
    t.change(["self"]);
    t.change(["other", "self"]);
    t.change(["self"]);
    await settle();
    expect(t.actors.flatMap((a) => a.kicks)).to.deep.equal([]);
    t.change(["other", "self"]);
    t.rebalance.stop();
    await settle();
    expect(t.actors.flatMap((a) => a.kicks)).to.deep.equal([]);
  });

  it("a node that is not live itself keeps every connection", async function () {
    const t = setup(users);
    t.change(["other"]);
    await settle();
    expect(t.actors.flatMap((a) => a.kicks)).to.deep.equal([]);
  });
});
