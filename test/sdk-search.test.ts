// The SDK's search end to end: a Herald on the PostgreSQL store (its own PostgreSQL), two
// clients, both scopes and the limit; on the memory store the same call is a typed HeraldError.
import { expect } from "chai";
import { HeraldClient } from "../client/sdk.js";
import { HeraldError } from "../client/http.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import { PostgresStoreEngine } from "../engine/postgres/postgres-engine.js";
import type { Engine } from "../engine/types.js";
import { startHerald, type Herald } from "../herald.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";
import { testConfig } from "./helpers/config.js";

const PASSWORD = "correct horse";

describe("SDK search", function () {
  this.timeout(30_000);
  let postgres: TestPostgres;
  const started: { herald: Herald; engine: Engine; clients: HeraldClient[] }[] = [];

  before(async () => {
    postgres = await startPostgres();
  });
  afterEach(async () => {
    for (const { herald, engine, clients } of started.splice(0)) {
      for (const client of clients) client.disconnect();
      await herald.stop();
      await engine.close();
    }
  });
  after(async () => {
    await postgres?.destroy();
  });

  /** A Herald on `engine` and a logged-in client per name. */
  async function start(engine: Engine, ...names: string[]) {
    const herald = await startHerald(testConfig(), { engine });
    const clients: HeraldClient[] = [];
    started.push({ herald, engine, clients });
    for (const name of names) {
      const client = new HeraldClient({ baseUrl: herald.business.url });
      clients.push(client);
      await client.register(name, PASSWORD);
      await client.login(name, PASSWORD);
    }
    return clients;
  }

  it("finds messages newest first, in one conversation or in all, as the server stores them", async () => {
    const engine = await PostgresStoreEngine.open(new MemoryEngine(), {
      url: postgres.url,
      schema: "sdk_search",
    });
    const [alice, bob] = await start(engine, "s_alice", "s_bob");
    expect(await alice!.requestFriend(bob!.userId!)).to.equal("pending");
    expect(await bob!.requestFriend(alice!.userId!)).to.equal("friends");
    const first = await alice!.send(bob!.userId!, "low tide at the harbour");
    const second = await bob!.send(alice!.userId!, { text: "the harbour is closed" });
    await alice!.joinChannel("docks");
    // Across conversations newest is by ts (ms): the channel's message a millisecond later.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const third = await alice!.sendChannel("docks", "harbour master here");
    await alice!.send(bob!.userId!, "nothing to see");

    const ids = (items: { id: string }[]) => items.map((item) => item.id);
    expect(ids(await alice!.search("harbour"))).to.deep.equal([third.id, second.id, first.id]);
    expect(ids(await bob!.search("harbour"))).to.deep.equal([second.id, first.id]);
    expect(
      ids(await alice!.search("harbour", { in: { kind: "direct", peer: bob!.userId! } })),
    ).to.deep.equal([second.id, first.id]);
    expect(
      ids(await alice!.search("harbour", { in: { kind: "channel", channel: "docks" } })),
    ).to.deep.equal([third.id]);
    expect(ids(await alice!.search("harbour", { limit: 1 }))).to.deep.equal([third.id]);
    const [found] = await bob!.search('"is closed"');
    expect(found).to.deep.include({ id: second.id, from: bob!.userId });
    await bob!.search("harbour", { in: { kind: "channel", channel: "docks" } }).then(
      () => expect.fail("bob is not in the channel"),
      (err: unknown) =>
        expect(err).to.be.instanceOf(HeraldError).and.to.include({ code: "not_member" }),
    );
  });

  it("on a server without PostgreSQL is a HeraldError unsupported", async () => {
    const [carol] = await start(new MemoryEngine(), "s_carol");
    await carol!.search("anything").then(
      () => expect.fail("the memory store has no search"),
      (err: unknown) =>
        expect(err).to.be.instanceOf(HeraldError).and.to.include({ code: "unsupported" }),
    );
  });
});
