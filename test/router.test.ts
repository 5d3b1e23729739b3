// The partition router: rendezvous hashing spreads users evenly and moves few when nodes change.
import { expect } from "chai";
import { PartitionRouter } from "../engine/router.js";
import type { NodeInfo } from "../engine/types.js";

const node = (i: number): NodeInfo => ({ nodeId: `im-${i}`, url: `http://127.0.0.1:${6000 + i}` });
const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}-${(i * 7919) % 104_729}`);

function owners(router: PartitionRouter): Map<string, string> {
  return new Map(users.map((u) => [u, router.ownerOf(u)!.nodeId]));
}

describe("PartitionRouter", function () {
  it("has no owner when no node is live", function () {
    const router = new PartitionRouter();
    expect(router.ownerOf("u1")).to.equal(null);
    expect([...router.group(["a", "b"])]).to.deep.equal([[null, ["a", "b"]]]);
  });

  it("is deterministic: same answer from any router with the same nodes, in any order", function () {
    const one = new PartitionRouter([node(1), node(2), node(3)]);
    const two = new PartitionRouter([node(3), node(1), node(2)]);
    const three = new PartitionRouter();
    three.setNodes([node(2), node(3), node(1)]);
    for (const user of users.slice(0, 2_000)) {
      const owner = one.ownerOf(user);
      expect(two.ownerOf(user)).to.deep.equal(owner);
      expect(three.ownerOf(user)).to.deep.equal(owner);
      expect(one.ownerOf(user)).to.deep.equal(owner);
    }
    expect(one.liveNodes.map((n) => n.nodeId)).to.deep.equal(["im-1", "im-2", "im-3"]);
  });

  it("spreads 10k users over 3 nodes, each within ±15% of a third", function () {
    const counts = new Map<string, number>();
    for (const owner of owners(new PartitionRouter([node(1), node(2), node(3)])).values())
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    expect([...counts.keys()].sort()).to.deep.equal(["im-1", "im-2", "im-3"]);
    const third = users.length / 3;
    for (const [id, count] of counts) expect(count, id).to.be.within(third * 0.85, third * 1.15);
  });

  it("a 4th node takes about a quarter of the users, and users move only to it", function () {
    const before = owners(new PartitionRouter([node(1), node(2), node(3)]));
    const after = owners(new PartitionRouter([node(1), node(2), node(3), node(4)]));
    let moved = 0;
    for (const [user, owner] of after) {
      if (owner === before.get(user)) continue;
      moved++;
      expect(owner, user).to.equal("im-4");
    }
    expect(moved).to.be.within(users.length * 0.25 * 0.85, users.length * 0.25 * 1.15);
  });

  it("a node leaving moves only its own users", function () {
    const before = owners(new PartitionRouter([node(1), node(2), node(3)]));
    const after = owners(new PartitionRouter([node(1), node(3)]));
    for (const [user, owner] of after)
      if (before.get(user) !== "im-2") expect(owner, user).to.equal(before.get(user));
  });

  it("group() puts each user under its owner's id, once, in the given order", function () {
    const router = new PartitionRouter([node(1), node(2), node(3)]);
    const sample = users.slice(0, 300);
    const groups = router.group(sample);
    let total = 0;
    for (const [nodeId, members] of groups) {
      total += members.length;
      for (const user of members) expect(router.ownerOf(user)!.nodeId).to.equal(nodeId);
      expect(members).to.deep.equal(sample.filter((u) => router.ownerOf(u)!.nodeId === nodeId));
    }
    expect(total).to.equal(sample.length);
    expect(groups.size).to.equal(3);
    expect(router.group([]).size).to.equal(0);
  });
});
