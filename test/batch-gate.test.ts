// BatchGate: at most `max` DataLoader batches run at once; the loads that come while the gate is
// full wait and go together, the oldest waiting batch first, and every settled batch (fulfilled
// or failed) frees its slot; an outage fails the waiting batches with it at once.
import { expect } from "chai";
import DataLoader from "dataloader";
import { BatchGate } from "../engine/postgres/batch-gate.js";

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("BatchGate", function () {
  /** A loader behind a gate of `max` whose batches settle only when the test says. */
  function gated(max: number, maxBatchSize = 64) {
    const gate = new BatchGate(max, (error) => (error as Error).message === "down");
    const batches: string[][] = [];
    const pending: { keys: readonly string[]; settle: (fail?: string) => void }[] = [];
    const loader = new DataLoader<string, string>(
      (keys) =>
        gate.run(() => {
          batches.push([...keys]);
          return new Promise<string[]>((resolve, reject) =>
            pending.push({
              keys,
              settle: (fail) =>
                fail ? reject(new Error(fail)) : resolve(keys.map((k) => k.toUpperCase())),
            }),
          );
        }),
      { cache: false, maxBatchSize, batchScheduleFn: gate.schedule },
    );
    return { loader, batches, pending };
  }

  it("runs two batches at once; what comes meanwhile waits and goes as one when a slot frees", async function () {
    const { loader, batches, pending } = gated(2);
    const answers = [loader.load("a")];
    await turn();
    answers.push(loader.load("b"));
    await turn();
    answers.push(loader.load("c"), loader.load("d"));
    await turn();
    answers.push(loader.load("e"));
    await turn();
    await turn();
    expect(batches).to.deep.equal([["a"], ["b"]]); // c, d and e wait, together
    pending[1]!.settle();
    await turn();
    await turn();
    expect(batches).to.deep.equal([["a"], ["b"], ["c", "d", "e"]]);
    pending[0]!.settle("a bug"); // a failed batch frees its slot too
    pending[2]!.settle();
    const settled = await Promise.allSettled(answers);
    expect(settled.map((s) => (s.status === "fulfilled" ? s.value : "failed"))).to.deep.equal([
      "failed",
      "B",
      "C",
      "D",
      "E",
    ]);
    // Idle again: a lone load goes at the turn's end.
    const lone = loader.load("f");
    await turn();
    await turn();
    expect(batches).to.have.length(4);
    pending[3]!.settle();
    expect(await lone).to.equal("F");
  });

  it("an outage that fails the running batch fails the waiting ones at once, unrun; then a batch runs again", async function () {
    const { loader, batches, pending } = gated(1, 1);
    const answers = ["a", "b", "c"].map((key) => loader.load(key));
    await turn();
    await turn();
    expect(batches).to.deep.equal([["a"]]);
    pending[0]!.settle("down");
    const settled = await Promise.allSettled(answers);
    expect(
      settled.map((s) => s.status === "rejected" && (s.reason as Error).message),
    ).to.deep.equal(["down", "down", "down"]);
    expect(batches).to.deep.equal([["a"]]); // b and c never ran
    const after = loader.load("d");
    await turn();
    await turn();
    expect(batches).to.deep.equal([["a"], ["d"]]);
    pending[1]!.settle();
    expect(await after).to.equal("D");
  });

  it("full batches wait in order and each takes the next free slot", async function () {
    const { loader, batches, pending } = gated(1, 2);
    const answers = ["a", "b", "c", "d", "e"].map((key) => loader.load(key));
    await turn();
    await turn();
    expect(batches).to.deep.equal([["a", "b"]]);
    pending[0]!.settle();
    await turn();
    await turn();
    expect(batches).to.deep.equal([
      ["a", "b"],
      ["c", "d"],
    ]);
    pending[1]!.settle();
    await turn();
    await turn();
    expect(batches).to.deep.equal([["a", "b"], ["c", "d"], ["e"]]);
    pending[2]!.settle();
    expect(await Promise.all(answers)).to.deep.equal(["A", "B", "C", "D", "E"]);
  });
});
