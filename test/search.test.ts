// GET /api/search on the PostgreSQL store: full-text, newest first, only what the caller may
// read, the current text (an edit changes what matches), never a recalled message; bad input is
// a 400. (The memory store's 501 is in the API tour, test/openapi.test.ts.)
import { expect } from "chai";
import { MemoryEngine } from "../engine/memory-engine.js";
import { PostgresStoreEngine } from "../engine/postgres/postgres-engine.js";
import type { StreamItem } from "../engine/protocol.js";
import { startHarness, type Harness, type TestUser } from "./helpers/business.js";
import pg from "pg";
import { conversationKey } from "../engine/ids.js";
import { fillStream } from "../support/fill-stream.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";

describe("search (postgres store)", function () {
  let postgres: TestPostgres;
  let h: Harness;
  let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;

  before(async function () {
    postgres = await startPostgres();
    h = await startHarness(() =>
      PostgresStoreEngine.open(new MemoryEngine(), { url: postgres.url, schema: "search" }),
    );
    await h.fakeNode("im-search");
    [alice, bob, carol, dave] = [
      await h.user("s_alice"),
      await h.user("s_bob"),
      await h.user("s_carol"),
      await h.user("s_dave"),
    ];
    for (const other of [bob, carol]) {
      await h.api("POST", `/api/friends/${other.userId}`, { token: alice.token });
      await h.api("POST", `/api/friends/${alice.userId}`, { token: other.token });
    }
    for (const member of [alice, carol])
      await h.api("POST", "/api/channels/den/join", { token: member.token });
  });
  after(async function () {
    await h?.close();
    await postgres?.destroy();
  });

  // "Newest first" across conversations is by ts (ms): each send waits out the millisecond of
  // the one before (in one conversation it is by seq).
  const tick = () => new Promise((resolve) => setTimeout(resolve, 2));
  const send = async (from: TestUser, to: TestUser, content: unknown) =>
    (await tick(),
    await h.api("POST", "/api/messages", { token: from.token, body: { to: to.userId, content } }))
      .body as { id: string };
  const post = async (from: TestUser, content: unknown) =>
    (await tick(),
    await h.api("POST", "/api/channels/den/messages", { token: from.token, body: { content } }))
      .body as { id: string };
  const search = async (user: TestUser, query: string) => {
    const answer = await h.api("GET", `/api/search?${query}`, { token: user.token });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    return answer.body.items as StreamItem[];
  };
  const ids = (items: StreamItem[]) => items.map((item) => item.id);

  it("finds messages in the caller's conversations only, newest first, with their current state", async function () {
    const first = await send(alice, bob, "the quick brown fox");
    const second = await send(bob, alice, { text: "a lazy Fox jumps", tags: ["x"] });
    const third = await post(carol, { text: "fox in the den" });
    const elsewhere = await send(alice, carol, "no animal here");
    expect(ids(await search(alice, "q=fox"))).to.deep.equal([third.id, second.id, first.id]);
    expect(ids(await search(bob, "q=fox"))).to.deep.equal([second.id, first.id]);
    expect(ids(await search(dave, "q=fox"))).to.deep.equal([]);
    expect(ids(await search(alice, `q=fox&peer=${bob.userId}`))).to.deep.equal([
      second.id,
      first.id,
    ]);
    expect(ids(await search(alice, "q=fox&channel=den"))).to.deep.equal([third.id]);
    expect(ids(await search(alice, "q=fox&limit=1"))).to.deep.equal([third.id]);
    expect(ids(await search(carol, "q=animal"))).to.deep.equal([elsewhere.id]);
    const [found] = await search(bob, "q=lazy");
    expect(found).to.deep.include({
      id: second.id,
      kind: "message",
      from: bob.userId,
      to: alice.userId,
      content: { text: "a lazy Fox jumps", tags: ["x"] },
    });
    // Another channel's member and a stranger are refused a scope they may not read.
    const refused = await h.api("GET", "/api/search?q=fox&channel=den", { token: bob.token });
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal("not_member");
  });

  it("an edit changes what matches; a recalled message never matches", async function () {
    const sent = await send(alice, bob, "meet at the harbour");
    expect(ids(await search(bob, "q=harbour"))).to.deep.equal([sent.id]);
    await h.api("PATCH", `/api/messages/${sent.id}`, {
      token: alice.token,
      body: { content: { text: "meet at the station" } },
    });
    expect(await search(bob, "q=harbour")).to.deep.equal([]);
    const [edited] = await search(bob, "q=station");
    expect(edited).to.deep.include({ id: sent.id, content: { text: "meet at the station" } });
    expect(edited).to.have.property("editedAt");
    const recalled = await h.api("DELETE", `/api/messages/${sent.id}`, { token: alice.token });
    expect(recalled.status).to.equal(202);
    expect(await search(bob, "q=station")).to.deep.equal([]);
    expect(await search(alice, "q=meet")).to.deep.equal([]);
  });

  it("in a conversation longer than the window a search reads first: the newest of a common word, a rare one anywhere", async function () {
    this.timeout(60_000);
    await h.api("POST", `/api/friends/${dave.userId}`, { token: bob.token });
    await h.api("POST", `/api/friends/${bob.userId}`, { token: dave.token });
    const oldest = await send(bob, dave, "the lighthouse keeper");
    await send(bob, dave, "filler 2");
    // 12,000 items: the newest 5,000 (SEARCH_WINDOW) hold no "lighthouse" and no "500".
    const db = new pg.Client({ connectionString: postgres.url, options: "-c search_path=search" });
    await db.connect();
    try {
      await fillStream(db, {
        key: conversationKey({ kind: "direct", a: bob.userId, b: dave.userId }),
        templateSeq: 2,
        templateText: "filler 2",
        word: "filler",
        size: 12_000,
        reader: bob.userId,
      });
    } finally {
      await db.end();
    }
    const seqs = (items: StreamItem[]) => items.map((item) => item.seq);
    const inDm = `peer=${bob.userId}`;
    const newest = Array.from({ length: 20 }, (_, i) => 12_000 - i);
    expect(seqs(await search(dave, `q=filler&${inDm}`))).to.deep.equal(newest);
    expect(seqs(await search(dave, `q=filler&${inDm}&limit=100`))).to.have.length(100);
    expect(ids(await search(dave, `q=lighthouse&${inDm}`))).to.deep.equal([oldest.id]);
    expect(ids(await search(dave, "q=lighthouse"))).to.deep.equal([oldest.id]);
    expect(seqs(await search(dave, `q=500&${inDm}`))).to.deep.equal([500]);
    expect(seqs(await search(dave, `q=11000&${inDm}`))).to.deep.equal([11_000]);
    // A phrase inside the window and one before it.
    expect(seqs(await search(dave, `q="filler 11999"&${inDm}`))).to.deep.equal([11_999]);
    expect(seqs(await search(dave, `q=filler 7&${inDm}`))).to.deep.equal([7]);
    expect(seqs(await search(dave, "q=filler"))).to.deep.equal(newest);
    // A word both in the window (too few times) and before it, and in a second conversation:
    // both steps answer, and across conversations the newest by ts comes first.
    const again = await send(bob, dave, "the lighthouse again");
    await h.api("POST", `/api/friends/${dave.userId}`, { token: alice.token });
    await h.api("POST", `/api/friends/${alice.userId}`, { token: dave.token });
    const ahead = await send(alice, dave, "lighthouse ahead");
    expect(ahead.id).to.be.a("string");
    expect(ids(await search(dave, `q=lighthouse&${inDm}`))).to.deep.equal([again.id, oldest.id]);
    expect(ids(await search(dave, "q=lighthouse"))).to.deep.equal([ahead.id, again.id, oldest.id]);
    expect(ids(await search(dave, "q=lighthouse&limit=2"))).to.deep.equal([ahead.id, again.id]);
    expect(ids(await search(dave, `q=lighthouse&${inDm}&limit=1`))).to.deep.equal([again.id]);
  });

  it("in a since_join channel neither scope finds what came before the caller's join", async function () {
    await h.engine.store.createChannel({
      name: "lately",
      owner: alice.userId,
      title: "",
      visibility: "public",
      history: "since_join",
      created: Date.now(),
    });
    const postIn = async (content: string) =>
      (await tick(),
      await h.api("POST", "/api/channels/lately/messages", {
        token: alice.token,
        body: { content },
      })).body as { id: string };
    const before = await postIn("beacon one");
    const joined = await h.api("POST", "/api/channels/lately/join", { token: dave.token });
    expect(joined.status).to.equal(200);
    const after = await postIn("beacon two");
    expect(ids(await search(dave, "q=beacon"))).to.deep.equal([after.id]);
    expect(ids(await search(dave, "q=beacon&channel=lately"))).to.deep.equal([after.id]);
    expect(ids(await search(alice, "q=beacon"))).to.deep.equal([after.id, before.id]);
    expect(ids(await search(carol, "q=beacon"))).to.deep.equal([]);
  });

  it("below the window too, a since_join member finds nothing from before their join", async function () {
    this.timeout(60_000);
    await h.engine.store.createChannel({
      name: "deep",
      owner: alice.userId,
      title: "",
      visibility: "public",
      history: "since_join",
      created: Date.now(),
    });
    const postIn = async (content: string) => {
      await tick();
      const posted = await h.api("POST", "/api/channels/deep/messages", {
        token: alice.token,
        body: { content },
      });
      expect(posted.status).to.equal(202);
      return posted.body as { id: string };
    };
    const before = await postIn("compass before");
    expect((await h.api("POST", "/api/channels/deep/join", { token: dave.token })).status).to.equal(
      200,
    );
    const after = await postIn("compass after");
    await postIn("filler x");
    const db = new pg.Client({ connectionString: postgres.url, options: "-c search_path=search" });
    await db.connect();
    try {
      const key = conversationKey({ kind: "channel", name: "deep" });
      const { rows } = await db.query<{ last: number }>(
        "SELECT last_seq AS last FROM conversations WHERE key = $1",
        [key],
      );
      await fillStream(db, {
        key,
        templateSeq: rows[0]!.last,
        templateText: "filler x",
        word: "filler",
        size: 12_000,
        reader: alice.userId,
      });
    } finally {
      await db.end();
    }
    // Both compass messages lie below the newest 5,000 items; only one after dave's join.
    expect(ids(await search(dave, "q=compass&channel=deep"))).to.deep.equal([after.id]);
    expect(ids(await search(dave, "q=compass"))).to.deep.equal([after.id]);
    expect(ids(await search(alice, "q=compass&channel=deep"))).to.deep.equal([after.id, before.id]);
  });

  it("newest first: by seq within a conversation, by ts across, of each conversation's newest by seq", async function () {
    // A business instance's clock ahead of another's: an older item (by seq) with a later ts.
    const one = await send(alice, carol, "skew one");
    const two = await send(carol, alice, "skew two");
    const db = new pg.Client({ connectionString: postgres.url, options: "-c search_path=search" });
    await db.connect();
    try {
      await db.query("UPDATE items SET ts = ts + 3600000 WHERE id = $1", [one.id]);
    } finally {
      await db.end();
    }
    expect(ids(await search(carol, `q=skew&peer=${alice.userId}`))).to.deep.equal([two.id, one.id]);
    expect(ids(await search(carol, "q=skew"))).to.deep.equal([one.id, two.id]);
    expect(ids(await search(carol, "q=skew&limit=1"))).to.deep.equal([two.id]);
  });

  it("bad input is a 400 with the error shape; words that match nothing are no error", async function () {
    for (const query of [
      "",
      "q=",
      "q=%20%20",
      "q=a%00b",
      `q=x&peer=${bob.userId}&channel=den`,
      "q=x&limit=0",
      "q=x&limit=101",
      "q=x&channel=bad%20name",
      `q=${"x".repeat(257)}`,
    ]) {
      const answer = await h.api("GET", `/api/search?${query}`, { token: alice.token });
      expect(answer.status, query).to.equal(400);
      expect(answer.body.error.code, query).to.equal("invalid_query");
    }
    expect(await search(alice, "q=%26%7C!()%3A*")).to.deep.equal([]);
    expect(await search(alice, "q=the")).to.be.an("array");
    const self = await h.api("GET", `/api/search?q=x&peer=${alice.userId}`, { token: alice.token });
    expect(self.status).to.equal(400);
    expect((await h.api("GET", "/api/search?q=x")).status).to.equal(401);
  });
});
