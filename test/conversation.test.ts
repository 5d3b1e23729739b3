// Conversation state end to end (CONTRACT.md v2): a real Herald, real HTTP, raw sockets. Each
// new endpoint and push, on the memory engine and on Redis in both routing modes.
import { expect } from "chai";
import type { Socket } from "socket.io-client";
import type {
  ConversationPush,
  FriendPush,
  InvitedPush,
  ReadPush,
  RemovedPush,
  StreamItem,
  TypingPush,
} from "../engine/protocol.js";
import { startHerald, type Herald } from "../herald.js";
import { engineKinds } from "./helpers/business.js";
import { testConfig } from "./helpers/config.js";
import {
  befriend,
  next,
  none,
  person,
  sockets,
  uniqueName,
  type Person,
} from "./helpers/people.js";

/** Every `event` push a socket gets from now on, acked. */
function inbox<T>(socket: Socket, event: string): T[] {
  const got: T[] = [];
  socket.on(event, (data: T, ack?: () => void) => {
    got.push(data);
    ack?.();
  });
  return got;
}

async function until(check: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const kinds = engineKinds();
const suites = [
  { kind: kinds[0]!, router: "partition" as const },
  { kind: kinds[1]!, router: "partition" as const },
  { kind: kinds[1]!, router: "adapter" as const },
  { kind: kinds[2]!, router: "partition" as const },
];

for (const suite of suites) {
  const { kind, router } = suite;
  describe(`conversation state end to end (${kind.name} engine, ${router})`, function () {
    let herald: Herald;
    let base: string;
    const friends = async (): Promise<[Person, Person]> => {
      const [a, b] = [await person(base), await person(base)];
      await befriend(a, b);
      return [a, b];
    };

    before(async () => {
      herald = await startHerald(testConfig({ nodeId: `im-conv-${router}`, router }), {
        engine: await kind.make(),
      });
      base = herald.business.url;
    });
    afterEach(() => {
      for (const socket of sockets.splice(0)) socket.close();
    });
    after(async () => {
      await herald.stop();
      await herald.engine.close();
      // The last suite on this kind stops its servers.
      if (suites.findLast((other) => other.kind === kind) === suite) await kind.stop?.();
    });

    it("a send retried with one clientMsgId, even concurrently, is stored and pushed once", async () => {
      const [alice, bob] = await friends();
      const bobSocket = await bob.socket();
      const pushed = inbox<StreamItem>(bobSocket, "message");
      const body = { to: bob.userId, content: "once", clientMsgId: "out-1" };
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => alice.api("POST", "/api/messages", body)),
      );
      for (const answer of answers) expect(answer.status).to.equal(202);
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).to.equal(1);
      await until(() => pushed.length === 1, "the push");
      await none(bobSocket, "message", 200);
      expect(pushed[0]).to.deep.include({ kind: "message", clientMsgId: "out-1", seq: 1 });
      const history = await bob.api("GET", `/api/messages?peer=${alice.userId}`);
      expect(history.body.messages).to.have.length(1);
      // Several recipients: the same list again.
      const carol = await person(base);
      await befriend(alice, carol);
      const many = { to: [bob.userId, carol.userId], content: "both", clientMsgId: "out-2" };
      const first = await alice.api("POST", "/api/messages", many);
      const again = await alice.api("POST", "/api/messages", many);
      expect(again.body).to.deep.equal(first.body);
      expect(first.body.messages.map((m: { seq: number }) => m.seq)).to.deep.equal([2, 1]);
    });

    it("edits, recalls and reactions are pushed to both sides and folded into history", async () => {
      const [alice, bob] = await friends();
      const [aliceSocket, bobSocket] = [await alice.socket(), await bob.socket()];
      const toAlice = inbox<StreamItem>(aliceSocket, "message");
      const toBob = inbox<StreamItem>(bobSocket, "message");
      const sent = (await alice.api("POST", "/api/messages", { to: bob.userId, content: "helo" }))
        .body;
      const reply = await bob.api("POST", "/api/messages", {
        to: alice.userId,
        content: "hi",
        replyTo: sent.id,
      });
      expect(reply.status).to.equal(202);

      const edited = await alice.api("PATCH", `/api/messages/${sent.id}`, { content: "hello" });
      expect(edited.status).to.equal(202);
      expect(edited.body).to.have.keys("id", "seq", "ts");
      expect(edited.body.seq).to.equal(3);
      const reacted = await bob.api("POST", `/api/messages/${sent.id}/reactions`, { emoji: "👍" });
      expect(reacted.status).to.equal(202);
      expect(
        (await bob.api("POST", `/api/messages/${sent.id}/reactions`, { emoji: "👍" })).status,
      ).to.equal(204);
      const emoji = encodeURIComponent("🎉");
      expect(
        (await alice.api("DELETE", `/api/messages/${sent.id}/reactions/${emoji}`)).status,
      ).to.equal(204);
      expect(
        (await bob.api("PATCH", `/api/messages/${sent.id}`, { content: "x" })).status,
      ).to.equal(403);

      await until(() => toBob.length === 4 && toAlice.length === 4, "four items on each side");
      for (const seen of [toAlice, toBob])
        expect(seen.map((i) => [i.seq, i.kind])).to.deep.equal([
          [1, "message"],
          [2, "message"],
          [3, "edit"],
          [4, "reaction"],
        ]);
      expect(toBob[2]).to.deep.include({ kind: "edit", target: sent.id, content: "hello" });
      expect(toBob[3]).to.deep.include({
        target: sent.id,
        emoji: "👍",
        op: "add",
        from: bob.userId,
      });
      expect(toAlice[1]).to.deep.include({ replyTo: sent.id });

      const history = (await bob.api("GET", `/api/messages?peer=${alice.userId}`)).body.messages;
      expect(history[0]).to.deep.include({
        content: "hello",
        editedAt: edited.body.ts,
        reactions: [{ emoji: "👍", count: 1, me: true }],
      });
      const asAlice = (await alice.api("GET", `/api/messages?peer=${bob.userId}`)).body.messages;
      expect(asAlice[0].reactions).to.deep.equal([{ emoji: "👍", count: 1, me: false }]);

      const recalled = await alice.api("DELETE", `/api/messages/${sent.id}`);
      expect(recalled.status).to.equal(202);
      expect(recalled.body.seq).to.equal(5);
      await until(() => toBob.length === 5, "the recall");
      expect(toBob[4]).to.deep.include({ kind: "recall", target: sent.id, seq: 5 });
      const after = (await bob.api("GET", `/api/messages?peer=${alice.userId}`)).body.messages;
      expect(after[0]).to.deep.equal({
        id: sent.id,
        seq: 1,
        kind: "message",
        from: alice.userId,
        to: bob.userId,
        ts: sent.ts,
        recalled: true,
      });
      expect(after[2]).to.not.have.property("content"); // the edit's content went with it
      expect((await alice.api("DELETE", `/api/messages/${sent.id}`)).body.error.code).to.equal(
        "recalled",
      );
      expect(
        (await alice.api("PATCH", `/api/messages/${sent.id}`, { content: "again" })).body.error
          .code,
      ).to.equal("recalled");
      expect(
        (await bob.api("POST", `/api/messages/${sent.id}/reactions`, { emoji: "👀" })).body.error
          .code,
      ).to.equal("recalled");
    });

    it("read: the cursor moves forward only; both of the reader's devices and the DM peer hear it", async () => {
      const [alice, bob] = await friends();
      const [bobPhone, bobLaptop, aliceSocket] = [
        await bob.socket(),
        await bob.socket(),
        await alice.socket(),
      ];
      const reads = [bobPhone, bobLaptop, aliceSocket].map((s) => inbox<ReadPush>(s, "read"));
      for (const content of ["one", "two", "three"])
        await alice.api("POST", "/api/messages", { to: bob.userId, content });
      let list = (await bob.api("GET", "/api/conversations")).body;
      expect(list.unreadTotal).to.equal(3);
      expect(list.conversations[0]).to.deep.include({ readSeq: 0, unread: 3, peerReadSeq: 3 });

      const read = await bob.api("POST", "/api/read", { peer: alice.userId, seq: 2 });
      expect(read.body).to.deep.equal({ readSeq: 2, unread: 1 });
      await until(() => reads.every((r) => r.length === 1), "three read pushes");
      const [phone, laptop, receipt] = reads.map((r) => r[0]!);
      expect(phone).to.deep.include({ userId: bob.userId, peer: alice.userId, seq: 2 });
      expect(laptop).to.deep.equal(phone);
      expect(receipt).to.deep.include({ userId: bob.userId, peer: bob.userId, seq: 2 });

      // Backwards changes nothing and pushes nothing; past the end clamps.
      expect(
        (await bob.api("POST", "/api/read", { peer: alice.userId, seq: 1 })).body,
      ).to.deep.equal({ readSeq: 2, unread: 1 });
      await none(bobPhone, "read", 200);
      expect(
        (await bob.api("POST", "/api/read", { peer: alice.userId, seq: 99 })).body,
      ).to.deep.equal({ readSeq: 3, unread: 0 });
      list = (await alice.api("GET", "/api/conversations")).body;
      expect(list.conversations[0]).to.deep.include({ peerReadSeq: 3, readSeq: 3, unread: 0 });
    });

    it("channel read state: cursors pushed to the reader only, mentions counted, readers listed", async () => {
      const [alice, bob, carol] = [await person(base), await person(base), await person(base)];
      const room = uniqueName("room");
      for (const p of [alice, bob, carol]) await p.api("POST", `/api/channels/${room}/join`);
      const [aliceSocket, bobSocket] = [await alice.socket(), await bob.socket()];
      const aliceReads = inbox<ReadPush>(aliceSocket, "read");
      const post = await alice.api("POST", `/api/channels/${room}/messages`, {
        content: "hey @bob",
        mentions: [bob.userId],
      });
      expect(post.status).to.equal(202);
      const bobsView = async () =>
        (await bob.api("GET", "/api/conversations")).body.conversations.find(
          (c: { channel?: string }) => c.channel === room,
        );
      expect(await bobsView()).to.deep.include({ unread: 1, mentions: 1 });
      let readers = await carol.api("GET", `/api/channels/${room}/readers?seq=${post.body.seq}`);
      expect(readers.body).to.deep.equal({ seq: post.body.seq, count: 1, userIds: [alice.userId] });

      const bobRead = next<ReadPush>(bobSocket, "read");
      expect((await bob.api("POST", "/api/read", { channel: room, seq: 1 })).body).to.deep.equal({
        readSeq: 1,
        unread: 0,
      });
      expect(await bobRead).to.deep.include({ userId: bob.userId, channel: room, seq: 1 });
      expect(await bobsView()).to.deep.include({ unread: 0, mentions: 0, readSeq: 1 });
      readers = await carol.api("GET", `/api/channels/${room}/readers?seq=1`);
      expect(readers.body.count).to.equal(2);
      expect([...readers.body.userIds].sort()).to.deep.equal([alice.userId, bob.userId].sort());
      await none(aliceSocket, "read", 200);
      expect(aliceReads).to.deep.equal([]);
    });

    it("typing reaches the peer or the channel's other members, at most once per 2 s", async () => {
      const [alice, bob] = await friends();
      const [aliceSocket, bobSocket] = [await alice.socket(), await bob.socket()];
      const typing = next<TypingPush>(bobSocket, "typing");
      expect((await alice.api("POST", "/api/typing", { peer: bob.userId })).status).to.equal(204);
      expect(await typing).to.deep.include({ from: alice.userId });
      expect(await typing).to.not.have.property("channel");
      expect((await alice.api("POST", "/api/typing", { peer: bob.userId })).status).to.equal(204);
      await none(bobSocket, "typing", 300);

      const room = uniqueName("room");
      for (const p of [alice, bob]) await p.api("POST", `/api/channels/${room}/join`);
      const inRoom = next<TypingPush>(bobSocket, "typing");
      expect((await alice.api("POST", "/api/typing", { channel: room })).status).to.equal(204);
      expect(await inRoom).to.deep.include({ from: alice.userId, channel: room });
      await none(aliceSocket, "typing", 200);
    });

    it("friend changes are pushed to both users, each seeing it from their side", async () => {
      const [alice, bob] = [await person(base), await person(base)];
      const [aliceSocket, bobSocket] = [await alice.socket(), await bob.socket()];
      const toAlice = inbox<FriendPush>(aliceSocket, "friend");
      const toBob = inbox<FriendPush>(bobSocket, "friend");
      await alice.api("POST", `/api/friends/${bob.userId}`);
      await alice.api("POST", `/api/friends/${bob.userId}`); // again: no change, no push
      await bob.api("POST", `/api/friends/${alice.userId}`);
      await bob.api("DELETE", `/api/friends/${alice.userId}`);
      await bob.api("DELETE", `/api/friends/${alice.userId}`); // again: no change, no push
      await until(() => toAlice.length === 3 && toBob.length === 3, "three friend pushes each");
      await none(aliceSocket, "friend", 200);
      expect(toAlice.map((p) => [p.userId, p.username, p.status])).to.deep.equal([
        [bob.userId, bob.username, "pending"],
        [bob.userId, bob.username, "friends"],
        [bob.userId, bob.username, "none"],
      ]);
      expect(toBob.map((p) => [p.userId, p.username, p.status])).to.deep.equal([
        [alice.userId, alice.username, "pending"],
        [alice.userId, alice.username, "friends"],
        [alice.userId, alice.username, "none"],
      ]);
    });

    it("joins and leaves push the channel's latest counts, coalesced to one per 2 s", async () => {
      const [alice, bob, carol] = [await person(base), await person(base), await person(base)];
      const room = uniqueName("room");
      await alice.api("POST", `/api/channels/${room}/join`);
      const aliceSocket = await alice.socket();
      const pushes = inbox<ConversationPush>(aliceSocket, "conversation");
      await until(() => pushes.length >= 1, "the push for alice's own join", 3_000).catch(
        () => undefined, // her join may have been pushed before her socket opened
      );
      pushes.splice(0);
      await bob.api("POST", `/api/channels/${room}/join`);
      await carol.api("POST", `/api/channels/${room}/join`);
      await carol.api("POST", `/api/channels/${room}/leave`);
      await until(() => pushes.length === 1, "one coalesced push", 3_000);
      expect(pushes[0]).to.deep.include({ channel: room, members: 2, online: 1 });
      await none(aliceSocket, "conversation", 500);
    });

    it("moderation pushes reach only the user concerned, once each: invited, role and mute, removed", async () => {
      const [owner, bob, carol] = [await person(base), await person(base), await person(base)];
      const room = uniqueName("priv");
      const created = await owner.api("POST", "/api/channels", {
        name: room,
        visibility: "private",
      });
      expect(created.status).to.equal(201);
      const [bobSocket, carolSocket] = [await bob.socket(), await carol.socket()];
      const invited = inbox<InvitedPush>(bobSocket, "invited");
      const updates = inbox<ConversationPush>(bobSocket, "conversation");
      const removed = inbox<RemovedPush>(bobSocket, "removed");
      const carolSaw = ["invited", "removed"].map((event) => inbox(carolSocket, event));

      expect((await bob.api("POST", `/api/channels/${room}/join`)).status).to.equal(403);
      await owner.api("POST", `/api/channels/${room}/invites`, { userId: bob.userId });
      await until(() => invited.length === 1, "bob's invitation");
      expect(invited[0]).to.deep.include({ channel: room, by: owner.userId });
      expect((await bob.api("POST", `/api/channels/${room}/join`)).status).to.equal(200);

      updates.splice(0); // the join's counts
      await owner.api("POST", `/api/channels/${room}/members/${bob.userId}`, { role: "admin" });
      await until(() => updates.some((u) => u.role === "admin"), "bob's new role");
      await owner.api("POST", `/api/channels/${room}/members/${bob.userId}/mute`, {
        seconds: 60,
      });
      await until(() => updates.some((u) => (u.mutedUntil ?? 0) > Date.now()), "bob's mute");

      const kicked = await owner.api(
        "DELETE",
        `/api/channels/${room}/members/${bob.userId}?ban=true`,
      );
      expect(kicked.status).to.equal(204);
      await until(() => removed.length === 1, "bob's removal");
      expect(removed[0]).to.deep.include({ channel: room, reason: "banned" });
      await none(bobSocket, "removed", 300);
      expect(invited).to.have.length(1);
      // Once each: one push for the promotion, one for the mute (counts pushes carry no role).
      const standing = updates.filter((u) => u.role !== undefined);
      expect(standing.map((u) => u.role)).to.deep.equal(["admin", "admin"]);
      expect(standing[0]!.mutedUntil ?? 0).to.be.at.most(Date.now());
      expect(standing[1]!.mutedUntil).to.be.greaterThan(Date.now());
      expect(carolSaw.map((list) => list.length)).to.deep.equal([0, 0]);
    });

    it("sync: every conversation with its counts, items after each cursor, `more` past the limit", async () => {
      const [alice, bob] = await friends();
      const room = uniqueName("room");
      await alice.api("POST", `/api/channels/${room}/join`);
      for (let i = 1; i <= 5; i++)
        await bob.api("POST", "/api/messages", { to: alice.userId, content: i });
      await alice.api("POST", `/api/channels/${room}/messages`, { content: "r" });
      const synced = await alice.api("POST", "/api/sync", {
        cursors: [{ peer: bob.userId, seq: 1 }],
        limit: 3,
      });
      expect(synced.status).to.equal(200);
      const [dm, channel] = [
        synced.body.conversations.find((c: { peer?: string }) => c.peer === bob.userId),
        synced.body.conversations.find((c: { channel?: string }) => c.channel === room),
      ];
      expect(dm).to.deep.include({ kind: "direct", lastSeq: 5, unread: 5, more: true });
      expect(dm.items.map((i: StreamItem) => i.seq)).to.deep.equal([2, 3, 4]);
      expect(channel).to.deep.include({ kind: "channel", lastSeq: 1, unread: 0 });
      expect(channel).to.not.have.property("items");
      const rest = await alice.api("POST", "/api/sync", {
        cursors: [
          { peer: bob.userId, seq: 4 },
          { channel: room, seq: 0 },
        ],
      });
      const rows = rest.body.conversations;
      expect(
        rows.map((c: { more: boolean; items: StreamItem[] }) => [c.more, c.items.length]),
      ).to.have.deep.members([
        [false, 1],
        [false, 1],
      ]);
    });

    it("GET /api/users?ids= names the known users and leaves out the rest", async () => {
      const [alice, bob] = [await person(base), await person(base)];
      const answer = await alice.api("GET", `/api/users?ids=${bob.userId},nobody,${alice.userId}`);
      expect(answer.status).to.equal(200);
      expect(answer.body).to.deep.equal({
        users: [
          { userId: bob.userId, username: bob.username },
          { userId: alice.userId, username: alice.username },
        ],
      });
      const single = await alice.api("GET", `/api/users?username=${bob.username}`);
      expect(single.body).to.deep.equal({ userId: bob.userId, username: bob.username });
    });
  });
}

describe("edit and recall windows", function () {
  let herald: Herald;
  before(async () => {
    herald = await startHerald(testConfig({ editWindowMs: 100, recallWindowMs: 300 }));
  });
  after(async () => {
    await herald.stop();
    await herald.engine.close();
  });

  it("refuses an edit or recall after its window with 403 window_passed", async () => {
    const base = herald.business.url;
    const [alice, bob] = [await person(base), await person(base)];
    await befriend(alice, bob);
    const sent = (await alice.api("POST", "/api/messages", { to: bob.userId, content: "x" })).body;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const late = await alice.api("PATCH", `/api/messages/${sent.id}`, { content: "y" });
    expect([late.status, late.body.error.code]).to.deep.equal([403, "window_passed"]);
    expect((await alice.api("DELETE", `/api/messages/${sent.id}`)).status).to.equal(202);
    const other = (await alice.api("POST", "/api/messages", { to: bob.userId, content: "z" })).body;
    await new Promise((resolve) => setTimeout(resolve, 350));
    const tooLate = await alice.api("DELETE", `/api/messages/${other.id}`);
    expect([tooLate.status, tooLate.body.error.code]).to.deep.equal([403, "window_passed"]);
    const history = await bob.api("GET", `/api/messages?peer=${alice.userId}`);
    expect(history.body.messages.map((m: StreamItem) => m.kind)).to.deep.equal([
      "message",
      "recall",
      "message",
    ]);
  });
});
