// KnownUsers: a user found once is answered without a read from then on; one not found is read
// again every time (it may have been made since), and the bound never loses an answer.
import { expect } from "chai";
import { KnownUsers } from "../engine/store/known-users.js";
import type { User } from "../engine/store/types.js";

describe("KnownUsers", function () {
  /** A store of `existing` users whose reads are recorded. */
  function store(existing: Set<string>) {
    const reads: string[][] = [];
    const read = async (ids: readonly string[]): Promise<(User | null)[]> => {
      reads.push([...ids]);
      return ids.map((id) => (existing.has(id) ? { userId: id, username: `name-${id}` } : null));
    };
    return { reads, read };
  }

  it("reads a found user once, an unknown one every time, and answers in the order asked", async function () {
    const existing = new Set(["a", "b"]);
    const { reads, read } = store(existing);
    const known = new KnownUsers();
    expect(await known.usersById(["a", "x"], read)).to.deep.equal([
      { userId: "a", username: "name-a" },
      null,
    ]);
    existing.add("x"); // made since, by another process
    expect(await known.usersById(["x", "a", "b"], read)).to.deep.equal([
      { userId: "x", username: "name-x" },
      { userId: "a", username: "name-a" },
      { userId: "b", username: "name-b" },
    ]);
    expect(await known.usersById(["b", "a", "x"], read)).to.have.length(3);
    expect(reads).to.deep.equal([
      ["a", "x"],
      ["x", "b"],
    ]);
  });

  it("answers every user found even past its bound, and still knows the latest ones", async function () {
    const ids = Array.from({ length: 60_000 }, (_, i) => `u${i}`);
    const { reads, read } = store(new Set(ids));
    const known = new KnownUsers();
    const answer = await known.usersById(ids, read);
    expect(answer.every((user, i) => user?.userId === ids[i])).to.equal(true);
    await known.usersById(["u59999"], read);
    expect(reads).to.have.length(1);
    await known.usersById(["u0"], read); // the first kept went first
    expect(reads).to.have.length(2);
  });
});
