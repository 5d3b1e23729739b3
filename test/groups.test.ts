// Groups (issue 10) end to end over HTTP, on the memory store, Redis and a Redis Cluster: the
// permission table (actor × action × target → status and code, and nothing changed when
// refused), concurrent moderation, since_join, blocking, a 10,000-member channel's costs, and a
// table of bad inputs for every new endpoint.
import { expect } from "chai";
import type { Redis } from "ioredis";
import { PartitionRouter } from "../engine/router.js";
import { duplicate } from "../engine/redis/connection.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import type { NewChannel, Standing } from "../engine/types.js";
import { encode, topics } from "../engine/wire.js";
import {
  engineKinds,
  startHarness,
  uniqueName,
  type EngineFactory,
  type EngineKind,
  type FakeNode,
  type Harness,
  type TestUser,
} from "./helpers/business.js";
import { startRedisCluster, type TestRedisCluster } from "./helpers/redis-cluster.js";

/** The roles of the permission table, as the test sets them up in each fresh channel. */
const ACTORS = ["owner", "admin", "member", "muted", "outsider", "banned"] as const;
const TARGETS = ["owner", "admin", "member", "outsider", "banned"] as const;
type Actor = (typeof ACTORS)[number];
type Target = (typeof TARGETS)[number];

/**
 * What each (actor, target) answers, written out from the contract: rows are ACTORS, columns
 * TARGETS. "ok" is the action's success status.
 */
const SELF = "400 cannot_target_self";
const FORB = "403 forbidden";
const NOTM = "403 not_member";
const NOMB = "404 member_not_found";
const moderation = [
  [SELF, "ok", "ok", "ok", "ok"],
  [FORB, FORB, "ok", "ok", "ok"],
  [FORB, FORB, FORB, FORB, FORB],
  [FORB, FORB, FORB, FORB, FORB],
  [NOTM, NOTM, NOTM, NOTM, NOTM],
  [NOTM, NOTM, NOTM, NOTM, NOTM],
];
const muting = [
  [SELF, "ok", "ok", NOMB, NOMB],
  [FORB, FORB, "ok", NOMB, NOMB],
  [FORB, FORB, FORB, FORB, FORB],
  [FORB, FORB, FORB, FORB, FORB],
  [NOTM, NOTM, NOTM, NOTM, NOTM],
  [NOTM, NOTM, NOTM, NOTM, NOTM],
];
const ownerOnly = [
  [SELF, "ok", "ok", NOMB, NOMB],
  [FORB, FORB, FORB, FORB, FORB],
  [FORB, FORB, FORB, FORB, FORB],
  [FORB, FORB, FORB, FORB, FORB],
  [NOTM, NOTM, NOTM, NOTM, NOTM],
  [NOTM, NOTM, NOTM, NOTM, NOTM],
];
const inviting = [
  [SELF, "ok", "ok", "ok", "403 banned"],
  ["ok", "ok", "ok", "ok", "403 banned"],
  [FORB, FORB, FORB, FORB, FORB],
  [FORB, FORB, FORB, FORB, FORB],
  [NOTM, NOTM, NOTM, NOTM, NOTM],
  [NOTM, NOTM, NOTM, NOTM, NOTM],
];

interface ActionCase {
  table: string[][];
  ok: number;
  request(name: string, target: string): [string, string, unknown?];
  /** The target's standing after a success, given the one before. */
  after(before: Standing): Standing;
  /** The target's mute after a success, given the one before (true: muted). */
  muted?(before: boolean): boolean;
}

const ACTIONS: Record<string, ActionCase> = {
  invite: {
    table: inviting,
    ok: 200,
    request: (n, t) => ["POST", `/api/channels/${n}/invites`, { userId: t }],
    after: (s) => s,
  },
  kick: {
    table: moderation,
    ok: 204,
    request: (n, t) => ["DELETE", `/api/channels/${n}/members/${t}`],
    after: (s) => (s === "banned" ? "banned" : "outsider"),
  },
  ban: {
    table: moderation,
    ok: 204,
    request: (n, t) => ["DELETE", `/api/channels/${n}/members/${t}?ban=true`],
    after: () => "banned",
  },
  unban: {
    table: moderation,
    ok: 204,
    request: (n, t) => ["DELETE", `/api/channels/${n}/bans/${t}`],
    after: (s) => (s === "banned" ? "outsider" : s),
  },
  mute: {
    table: muting,
    ok: 200,
    request: (n, t) => ["POST", `/api/channels/${n}/members/${t}/mute`, { seconds: 600 }],
    after: (s) => s,
    muted: () => true,
  },
  unmute: {
    table: muting,
    ok: 204,
    request: (n, t) => ["DELETE", `/api/channels/${n}/members/${t}/mute`],
    after: (s) => s,
    muted: () => false,
  },
  set_role: {
    table: ownerOnly,
    ok: 200,
    request: (n, t) => ["POST", `/api/channels/${n}/members/${t}`, { role: "admin" }],
    after: () => "admin",
  },
  transfer_owner: {
    table: ownerOnly,
    ok: 200,
    request: (n, t) => ["POST", `/api/channels/${n}/owner`, { userId: t }],
    after: () => "owner",
  },
};

/** Users for each place in a channel: an actor, and another user for the target column. */
interface Cast {
  actors: Record<Actor, TestUser>;
  targets: Record<Target, TestUser>;
}

async function cast(h: Harness): Promise<Cast> {
  const users = await Promise.all(Array.from({ length: 10 }, () => h.user()));
  const [owner, admin, member, muted, outsider, banned, admin2, member2, outsider2, banned2] =
    users as [TestUser, ...TestUser[]] as TestUser[];
  return {
    actors: {
      owner: owner!,
      admin: admin!,
      member: member!,
      muted: muted!,
      outsider: outsider!,
      banned: banned!,
    },
    targets: {
      owner: owner!,
      admin: admin2!,
      member: member2!,
      outsider: outsider2!,
      banned: banned2!,
    },
  };
}

/** A fresh channel with everyone of the cast in place, set up through the store. */
async function stage(h: Harness, c: Cast, extra: Partial<NewChannel> = {}): Promise<string> {
  const { store } = h.engine;
  const name = uniqueName("g");
  const owner = c.actors.owner.userId;
  await store.createChannel({
    name,
    owner,
    title: "",
    visibility: "public",
    history: "all",
    created: Date.now(),
    ...extra,
  });
  const as = (actorStanding: Standing, target: TestUser, targetStanding: Standing) => ({
    actor: owner,
    actorStanding,
    target: target.userId,
    targetStanding,
  });
  for (const u of [
    c.actors.admin,
    c.targets.admin,
    c.actors.member,
    c.targets.member,
    c.actors.muted,
  ]) {
    await store.changeMember(name, as("owner", u, "outsider"), { kind: "invite" });
    await store.joinChannel(name, u.userId);
  }
  for (const u of [c.actors.admin, c.targets.admin])
    await store.changeMember(name, as("owner", u, "member"), { kind: "role", role: "admin" });
  await store.changeMember(name, as("owner", c.actors.muted, "member"), {
    kind: "mute",
    until: Date.now() + 3_600_000,
  });
  for (const u of [c.actors.banned, c.targets.banned])
    await store.changeMember(name, as("owner", u, "outsider"), { kind: "kick", ban: true });
  return name;
}

async function standing(h: Harness, name: string, userId: string): Promise<[Standing, boolean]> {
  const lookup = await h.engine.store.member(name, userId);
  const m = lookup?.member;
  return [m ? m.role : lookup?.banned ? "banned" : "outsider", (m?.mutedUntil ?? 0) > Date.now()];
}

/** Every fake node of a harness: a push goes to whichever node owns its recipient. */
const fakeNodes = new WeakMap<Harness, FakeNode[]>();

async function addNode(h: Harness): Promise<void> {
  const node = await h.fakeNode(uniqueName("fn"));
  fakeNodes.set(h, [...(fakeNodes.get(h) ?? []), node]);
}

/** The commands of `event` on every fake node of `h`, once `until` holds of them (≤ 3 s). */
async function pushed(
  h: Harness,
  event: string,
  until: (commands: PushSeen[]) => boolean = (list) => list.length > 0,
): Promise<PushSeen[]> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const list = (fakeNodes.get(h) ?? [])
      .flatMap((node) => node.commands as PushSeen[])
      .filter((cmd) => cmd.event === event);
    if (until(list) || Date.now() > deadline) return list;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface PushSeen {
  event: string;
  to: string[];
  data: Record<string, unknown>;
}

function answer(status: number, body: { error?: { code: string } } | null): string {
  return body?.error ? `${status} ${body.error.code}` : String(status);
}

/** Every cell of every action's table: the answer, then the target's standing and mute. */
async function checkTable(h: Harness, c: Cast, actions: string[] = Object.keys(ACTIONS)) {
  const problems: string[] = [];
  for (const action of actions) {
    const spec = ACTIONS[action]!;
    for (const [row, actor] of ACTORS.entries())
      for (const [col, target] of TARGETS.entries()) {
        const name = await stage(h, c);
        const who = c.targets[target].userId;
        const before = await standing(h, name, who);
        const [method, path, body] = spec.request(name, who);
        const res = await h.api(method, path, { token: c.actors[actor].token, body });
        const expected = spec.table[row]![col]!;
        const wanted = expected === "ok" ? String(spec.ok) : expected;
        const got = answer(res.status, res.body);
        const after = await standing(h, name, who);
        const changed =
          expected === "ok"
            ? [spec.after(before[0]), spec.muted ? spec.muted(before[1]) : before[1]]
            : before;
        if (got !== wanted || after[0] !== changed[0] || after[1] !== changed[1])
          problems.push(
            `${actor} ${action} ${target}: ${got} (want ${wanted}), after ${after} (want ${changed})`,
          );
      }
  }
  expect(problems).to.deep.equal([]);
}

function groupSuites(kind: EngineKind): void {
  describe(`groups (${kind.name})`, function () {
    this.timeout(120_000);
    let h: Harness;
    let c: Cast;

    before(async () => {
      h = await startHarness(kind.make);
      c = await cast(h);
      await addNode(h);
      await addNode(h);
    });
    after(async () => {
      await h.close();
      await kind.stop?.();
    });

    it("the permission table: actor × action × target → status and code; a refusal changes nothing", async () => {
      await checkTable(h, c);
    });

    it("acting in a channel: post, read, members, info by role (a muted member gets 403 muted with mutedUntil)", async () => {
      const name = await stage(h, c);
      const table: Record<Actor, string[]> = {
        owner: ["202", "200", "200", "200 owner"],
        admin: ["202", "200", "200", "200 admin"],
        member: ["202", "200", "200", "200 member"],
        muted: ["403 muted", "200", "200", "200 member"],
        outsider: [NOTM, NOTM, NOTM, "200 null"],
        banned: [NOTM, NOTM, NOTM, "200 null"],
      };
      for (const actor of ACTORS) {
        const token = c.actors[actor].token;
        const post = await h.api("POST", `/api/channels/${name}/messages`, {
          token,
          body: { content: actor },
        });
        const history = await h.api("GET", `/api/channels/${name}/messages`, { token });
        const members = await h.api("GET", `/api/channels/${name}/members`, { token });
        const info = await h.api("GET", `/api/channels/${name}`, { token });
        expect(
          [
            answer(post.status, post.body),
            answer(history.status, history.body),
            answer(members.status, members.body),
            `${info.status} ${info.body.role}`,
          ],
          actor,
        ).to.deep.equal(table[actor]);
        if (actor === "muted") expect(post.body.error.mutedUntil).to.be.greaterThan(Date.now());
      }
    });

    it("a private channel is answered like an unknown one to outsiders, and is not listed for them", async () => {
      const name = await stage(h, c, { visibility: "private" });
      for (const actor of ["outsider", "banned"] as const) {
        const token = c.actors[actor].token;
        for (const [method, path, body] of [
          ["GET", `/api/channels/${name}`],
          ["GET", `/api/channels/${name}/messages`],
          ["GET", `/api/channels/${name}/members`],
          ["POST", `/api/channels/${name}/messages`, { content: "x" }],
          ["DELETE", `/api/channels/${name}/members/${c.targets.member.userId}`],
          ["POST", `/api/channels/${name}/leave`],
          ["GET", `/api/channels/${name}/readers?seq=1`],
          ["POST", "/api/typing", { channel: name }],
          ["POST", "/api/read", { channel: name, seq: 1 }],
          ["POST", `/api/channels/${name}/invites`, { userId: c.targets.outsider.userId }],
          ["DELETE", `/api/channels/${name}/bans/${c.targets.banned.userId}`],
        ] as const) {
          const res = await h.api(method, path, { token, body });
          expect(answer(res.status, res.body), `${actor} ${method} ${path}`).to.equal(
            "404 channel_not_found",
          );
        }
      }
      const listed = async (user: TestUser) => {
        const names: string[] = [];
        let after = "";
        for (;;) {
          const page = await h.api("GET", `/api/channels?limit=500${after && `&after=${after}`}`, {
            token: user.token,
          });
          names.push(...page.body.channels.map((ch: { name: string }) => ch.name));
          if (page.body.next === null) return names;
          after = page.body.next;
        }
      };
      expect(await listed(c.actors.outsider)).to.not.include(name);
      expect(await listed(c.actors.member)).to.include(name);
      const join = await h.api("POST", `/api/channels/${name}/join`, {
        token: c.actors.outsider.token,
      });
      expect(answer(join.status, join.body)).to.equal("403 invite_required");
      const banned = await h.api("POST", `/api/channels/${name}/join`, {
        token: c.actors.banned.token,
      });
      expect(answer(banned.status, banned.body)).to.equal("403 banned");
    });

    it("pushes: invited to the invitee, removed to the kicked, a conversation push with the new role or mute", async () => {
      const name = await stage(h, c);
      const owner = c.actors.owner.token;
      const seen = async (event: string, to: string) => {
        const mine = (cmd: PushSeen) => cmd.to.includes(to) && cmd.data.channel === name;
        return (await pushed(h, event, (list) => list.some(mine))).filter(mine);
      };
      await h.api("POST", `/api/channels/${name}/invites`, {
        token: owner,
        body: { userId: c.targets.outsider.userId },
      });
      await h.api("POST", `/api/channels/${name}/members/${c.targets.member.userId}/mute`, {
        token: owner,
        body: { seconds: 60 },
      });
      await h.api("POST", `/api/channels/${name}/members/${c.actors.member.userId}`, {
        token: owner,
        body: { role: "admin" },
      });
      await h.api("DELETE", `/api/channels/${name}/members/${c.targets.admin.userId}?ban=true`, {
        token: owner,
      });
      expect((await seen("invited", c.targets.outsider.userId))[0]!.data).to.deep.include({
        channel: name,
        by: c.actors.owner.userId,
      });
      const mute = (await seen("conversation", c.targets.member.userId))[0]!.data;
      expect(mute).to.deep.include({ channel: name, role: "member" });
      expect(mute.mutedUntil).to.be.greaterThan(Date.now());
      expect((await seen("conversation", c.actors.member.userId))[0]!.data).to.deep.include({
        channel: name,
        role: "admin",
      });
      expect((await seen("removed", c.targets.admin.userId))[0]!.data).to.deep.include({
        channel: name,
        reason: "banned",
      });
    });

    raceSuite(
      () => h,
      () => c,
    );

    it("since_join: history, sync, readers, items and files show only what came after the join", async () => {
      const owner = c.actors.owner;
      const late = c.targets.outsider;
      const name = await stage(h, c, { history: "since_join" });
      const post = (content: string, attachments?: string[]) =>
        h.api("POST", `/api/channels/${name}/messages`, {
          token: owner.token,
          body: { content, ...(attachments && { attachments }) },
        });
      const upload = await fetch(`${h.business.url}/api/files`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${owner.token}`,
          "content-type": "text/plain",
          "x-filename": "old.txt",
        },
        body: "before",
      });
      const file = (await upload.json()) as { fileId: string };
      const early = (await post("before", [file.fileId])).body;
      await post("also before");
      await h.api("POST", `/api/channels/${name}/invites`, {
        token: owner.token,
        body: { userId: late.userId },
      });
      expect(
        (await h.api("POST", `/api/channels/${name}/join`, { token: late.token })).status,
      ).to.equal(200);
      const seenLater = (await post("after")).body;
      const history = await h.api("GET", `/api/channels/${name}/messages`, { token: late.token });
      expect(history.body.messages.map((m: { content: string }) => m.content)).to.deep.equal([
        "after",
      ]);
      const sync = await h.api("POST", "/api/sync", {
        token: late.token,
        body: { cursors: [{ channel: name, seq: 0 }] },
      });
      const mine = sync.body.conversations.find((x: { channel?: string }) => x.channel === name);
      expect(mine.items.map((m: { seq: number }) => m.seq)).to.deep.equal([seenLater.seq]);
      const readers = await h.api("GET", `/api/channels/${name}/readers?seq=${early.seq}`, {
        token: late.token,
      });
      expect(readers.body).to.deep.equal({ seq: early.seq, count: 0, userIds: [] });
      const react = await h.api("POST", `/api/messages/${early.id}/reactions`, {
        token: late.token,
        body: { emoji: "👍" },
      });
      expect(answer(react.status, react.body)).to.equal("404 message_not_found");
      const link = await h.api("GET", `/api/files/${file.fileId}`, { token: late.token });
      expect(link.status).to.equal(404);
      // A member from before sees it all.
      const old = await h.api("GET", `/api/channels/${name}/messages`, {
        token: c.actors.member.token,
      });
      expect(old.body.messages).to.have.length(3);
    });

    it("since_join: a reply to an item from before the join is 404 message_not_found, like one of another conversation", async () => {
      const name = await stage(h, c, { history: "since_join" });
      const early = await h.api("POST", `/api/channels/${name}/messages`, {
        token: c.actors.owner.token,
        body: { content: "before" },
      });
      const late = c.targets.outsider;
      await h.api("POST", `/api/channels/${name}/invites`, {
        token: c.actors.owner.token,
        body: { userId: late.userId },
      });
      await h.api("POST", `/api/channels/${name}/join`, { token: late.token });
      const reply = await h.api("POST", `/api/channels/${name}/messages`, {
        token: late.token,
        body: { content: "re", replyTo: early.body.id },
      });
      expect(answer(reply.status, reply.body)).to.equal("404 message_not_found");
      // A member from before may reply to it.
      const old = await h.api("POST", `/api/channels/${name}/messages`, {
        token: c.actors.member.token,
        body: { content: "re", replyTo: early.body.id },
      });
      expect(old.status).to.equal(202);
    });

    it("a muted member cannot edit their messages into new words (403 muted, the edit not stored)", async () => {
      const name = await stage(h, c);
      const member = c.targets.member;
      const post = await h.api("POST", `/api/channels/${name}/messages`, {
        token: member.token,
        body: { content: "before the mute" },
      });
      await h.api("POST", `/api/channels/${name}/members/${member.userId}/mute`, {
        token: c.actors.owner.token,
        body: { seconds: 600 },
      });
      const edit = await h.api("PATCH", `/api/messages/${post.body.id}`, {
        token: member.token,
        body: { content: "around the mute" },
      });
      expect(answer(edit.status, edit.body)).to.equal("403 muted");
      expect(edit.body.error.mutedUntil).to.be.greaterThan(Date.now());
      const history = await h.api("GET", `/api/channels/${name}/messages`, {
        token: c.actors.owner.token,
      });
      const mine = history.body.messages.find((m: { id: string }) => m.id === post.body.id);
      expect(mine.content).to.equal("before the mute");
    });

    it("GET /api/channels pages to the end for an outsider even when a private name sits among the public ones", async () => {
      const prefix = uniqueName("L");
      const owner = c.actors.owner.token;
      for (const [suffix, visibility] of [
        ["a", "public"],
        ["b", "private"],
        ["c", "public"],
        ["d", "public"],
      ] as const)
        await h.api("POST", "/api/channels", {
          token: owner,
          body: { name: `${prefix}${suffix}`, visibility },
        });
      // Someone tries the private name as a public channel: refused, and nothing changes.
      const taken = await h.api("POST", "/api/channels", {
        token: c.actors.outsider.token,
        body: { name: `${prefix}b`, visibility: "public" },
      });
      expect(answer(taken.status, taken.body)).to.equal("409 channel_exists");
      const names: string[] = [];
      let after = prefix;
      for (let i = 0; i < 10; i++) {
        const page = await h.api("GET", `/api/channels?limit=2&after=${after}`, {
          token: c.actors.outsider.token,
        });
        names.push(...page.body.channels.map((ch: { name: string }) => ch.name));
        if (page.body.next === null) break;
        after = page.body.next;
      }
      expect(names.filter((n) => n.startsWith(prefix))).to.deep.equal(
        ["a", "c", "d"].map((s) => `${prefix}${s}`),
      );
    });

    it("blocking: the blocked side can neither edit its old DMs nor react in them (403 blocked); recall stays", async () => {
      const [alice, bob] = await Promise.all([h.user(), h.user()]);
      await h.api("POST", `/api/friends/${bob.userId}`, { token: alice.token });
      await h.api("POST", `/api/friends/${alice.userId}`, { token: bob.token });
      const fromBob = await h.api("POST", "/api/messages", {
        token: bob.token,
        body: { to: alice.userId, content: "hi" },
      });
      const fromAlice = await h.api("POST", "/api/messages", {
        token: alice.token,
        body: { to: bob.userId, content: "hello" },
      });
      const id = (res: typeof fromBob) => res.body.id as string;
      await h.api("POST", `/api/blocks/${bob.userId}`, { token: alice.token });
      for (const [token, method, path, body] of [
        [bob.token, "PATCH", `/api/messages/${id(fromBob)}`, { content: "new words" }],
        [bob.token, "POST", `/api/messages/${id(fromAlice)}/reactions`, { emoji: "👎" }],
        [alice.token, "POST", `/api/messages/${id(fromBob)}/reactions`, { emoji: "👎" }],
      ] as const) {
        const res = await h.api(method, path, { token, body });
        expect(answer(res.status, res.body), `${method} ${path}`).to.equal("403 blocked");
      }
      const history = await h.api("GET", `/api/messages?peer=${bob.userId}`, {
        token: alice.token,
      });
      expect(history.body.messages.map((m: { content: string }) => m.content)).to.deep.equal([
        "hi",
        "hello",
      ]);
      const recall = await h.api("DELETE", `/api/messages/${id(fromBob)}`, { token: bob.token });
      expect(recall.status).to.equal(202);
    });

    it("blocking: ends the friendship, refuses DMs, requests and typing both ways, hides presence both ways; unblock gives back only the ability", async () => {
      const [alice, bob, carol] = await Promise.all([h.user(), h.user(), h.user()]);
      for (const [a, b] of [
        [alice, bob],
        [alice, carol],
      ] as const) {
        await h.api("POST", `/api/friends/${b.userId}`, { token: a.token });
        await h.api("POST", `/api/friends/${a.userId}`, { token: b.token });
      }
      expect(
        (await h.api("POST", `/api/blocks/${bob.userId}`, { token: alice.token })).status,
      ).to.equal(204);
      for (const [me, other] of [
        [alice, bob],
        [bob, alice],
      ] as const) {
        const friends = await h.api("GET", "/api/friends", { token: me.token });
        expect(friends.body.friends.map((f: { userId: string }) => f.userId)).to.not.include(
          other.userId,
        );
        for (const [method, path, body] of [
          ["POST", "/api/messages", { to: other.userId, content: "hi" }],
          ["POST", `/api/friends/${other.userId}`],
          ["POST", "/api/typing", { peer: other.userId }],
        ] as const) {
          const res = await h.api(method, path, { token: me.token, body });
          expect(answer(res.status, res.body), `${method} ${path}`).to.equal("403 blocked");
        }
        const presence = await h.api("GET", `/api/presence?ids=${other.userId}`, {
          token: me.token,
        });
        expect(presence.body).to.deep.equal({});
      }
      // A presence change of alice reaches carol (a friend) and not bob.
      await h.engine.bus.publish(
        topics.events,
        encode({
          v: 1,
          kind: "presence",
          userId: alice.userId,
          online: true,
          nodeId: "elsewhere",
          ts: Date.now(),
        }),
      );
      const pushedTo = (
        await pushed(h, "presence", (list) => list.some((cmd) => cmd.to.includes(carol.userId)))
      )
        .filter((cmd) => cmd.data.userId === alice.userId)
        .flatMap((cmd) => cmd.to);
      expect(pushedTo).to.include(carol.userId);
      expect(pushedTo).to.not.include(bob.userId);
      const list = await h.api("GET", "/api/blocks", { token: alice.token });
      expect(list.body).to.deep.equal({
        blocked: [{ userId: bob.userId, username: bob.username }],
      });
      expect(
        (await h.api("DELETE", `/api/blocks/${bob.userId}`, { token: alice.token })).status,
      ).to.equal(204);
      const dm = await h.api("POST", "/api/messages", {
        token: bob.token,
        body: { to: alice.userId, content: "hi" },
      });
      expect(answer(dm.status, dm.body)).to.equal("403 not_friends");
      const again = await h.api("POST", `/api/friends/${alice.userId}`, { token: bob.token });
      expect(again.body).to.deep.equal({ status: "pending" });
    });

    it("a table of bad inputs for every new endpoint: status and code, and nothing changed", async () => {
      const name = await stage(h, c);
      const owner = c.actors.owner.token;
      const m = c.targets.member.userId;
      const snapshot = async () =>
        JSON.stringify([
          await h.engine.store.membersPage(name, 0, 100),
          await h.engine.store.channelInfo(name),
          await h.engine.store.member(name, c.targets.banned.userId),
          await h.engine.store.blocksOf(c.actors.owner.userId),
          (await h.engine.store.listChannels("", 1000, c.actors.owner.userId)).length,
        ]);
      const before = await snapshot();
      const cases: [string, string, unknown, string, string?][] = [
        ["POST", "/api/channels", undefined, "400 invalid_body"],
        ["POST", "/api/channels", { name: "bad name" }, "400 invalid_body"],
        ["POST", "/api/channels", { name: "x".repeat(65) }, "400 invalid_body"],
        ["POST", "/api/channels", { name: "ok1", visibility: "secret" }, "400 invalid_body"],
        ["POST", "/api/channels", { name: "ok1", history: "some" }, "400 invalid_body"],
        ["POST", "/api/channels", { name: "ok1", title: "t".repeat(201) }, "400 invalid_body"],
        ["POST", "/api/channels", { name: "ok1", title: 5 }, "400 invalid_body"],
        ["POST", "/api/channels", { name }, "409 channel_exists"],
        ["POST", "/api/channels", { name: "ok1" }, "401 unauthorized", "none"],
        ["GET", `/api/channels/${name}/members?limit=0`, undefined, "400 invalid_query"],
        ["GET", `/api/channels/${name}/members?limit=501`, undefined, "400 invalid_query"],
        ["GET", `/api/channels/${name}/members?after=-1`, undefined, "400 invalid_query"],
        ["GET", "/api/channels/no_such_one/members", undefined, "404 channel_not_found"],
        ["GET", "/api/channels/bad%20name/members", undefined, "400 invalid_param"],
        ["POST", `/api/channels/${name}/members/${m}`, { role: "owner" }, "400 invalid_body"],
        ["POST", `/api/channels/${name}/members/${m}`, { role: 1 }, "400 invalid_body"],
        ["POST", `/api/channels/${name}/members/${m}`, {}, "400 invalid_body"],
        ["POST", `/api/channels/${name}/members/nobody`, { role: "admin" }, "404 user_not_found"],
        ["POST", `/api/channels/nope_x/members/${m}`, { role: "admin" }, "404 channel_not_found"],
        ["POST", `/api/channels/${name}/owner`, {}, "400 invalid_body"],
        ["POST", `/api/channels/${name}/owner`, { userId: "" }, "400 invalid_body"],
        ["POST", `/api/channels/${name}/owner`, { userId: "nobody" }, "404 user_not_found"],
        ["POST", `/api/channels/${name}/owner`, { userId: c.targets.outsider.userId }, NOMB],
        ["POST", `/api/channels/${name}/invites`, { userId: 5 }, "400 invalid_body"],
        ["POST", `/api/channels/${name}/invites`, { userId: "nobody" }, "404 user_not_found"],
        ["DELETE", `/api/channels/${name}/members/${m}?ban=yes`, undefined, "400 invalid_query"],
        ["DELETE", `/api/channels/${name}/members/nobody`, undefined, "404 user_not_found"],
        ["DELETE", `/api/channels/${name}/bans/nobody`, undefined, "404 user_not_found"],
        ["POST", `/api/channels/${name}/members/${m}/mute`, { seconds: 0 }, "400 invalid_body"],
        ["POST", `/api/channels/${name}/members/${m}/mute`, { seconds: 1.5 }, "400 invalid_body"],
        ["POST", `/api/channels/${name}/members/${m}/mute`, { seconds: "60" }, "400 invalid_body"],
        ["POST", `/api/channels/${name}/members/${m}/mute`, { seconds: 4e7 }, "400 invalid_body"],
        ["DELETE", `/api/channels/${name}/members/nobody/mute`, undefined, "404 user_not_found"],
        ["POST", `/api/blocks/${c.actors.owner.userId}`, undefined, "400 cannot_target_self"],
        ["POST", "/api/blocks/nobody", undefined, "404 user_not_found"],
        ["DELETE", "/api/blocks/nobody", undefined, "404 user_not_found"],
        ["GET", "/api/blocks", undefined, "401 unauthorized", "none"],
      ];
      for (const [method, path, body, want, session] of cases) {
        const res = await h.api(method, path, {
          token: session === "none" ? undefined : owner,
          body,
        });
        expect(answer(res.status, res.body), `${method} ${path} ${JSON.stringify(body)}`).to.equal(
          want,
        );
        expect(res.body.error.message).to.be.a("string");
      }
      const wrongType = await h.api("POST", "/api/channels", {
        token: owner,
        raw: "name=x",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(answer(wrongType.status, wrongType.body)).to.equal("415 unsupported_media_type");
      expect(await snapshot()).to.equal(before);
    });

    if (kind.name === "redis")
      it("a 10,000-member channel: a post is one command per node; a member page reads O(page)", async () => {
        await tenThousand(h);
      });
  });
}

/** Concurrent moderation over HTTP (run on every store, the cluster too). */
function raceSuite(harness: () => Harness, people: () => Cast): void {
  it("two admins kicking one member at once: both 204, the member out, one removed push", async () => {
    const h = harness();
    const c = people();
    const name = await stage(h, c);
    const target = c.targets.member.userId;
    const kicks = await Promise.all(
      [c.actors.admin, c.targets.admin].map((a) =>
        h.api("DELETE", `/api/channels/${name}/members/${target}`, { token: a.token }),
      ),
    );
    expect(kicks.map((k) => k.status)).to.deep.equal([204, 204]);
    expect(await h.engine.store.isMember(name, target)).to.equal(false);
    const mine = (cmd: PushSeen) => cmd.data.channel === name;
    await pushed(h, "removed", (list) => list.some(mine));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const removed = (await pushed(h, "removed")).filter(mine);
    expect(removed).to.have.length(1);
  });

  it("a kick racing a post: the post lands before the kick or is refused, never after it is answered", async () => {
    const h = harness();
    const c = people();
    const name = await stage(h, c);
    const member = c.targets.member;
    const accepted: string[] = [];
    for (let round = 0; round < 8; round++) {
      if (round > 0) {
        await h.api("POST", `/api/channels/${name}/invites`, {
          token: c.actors.owner.token,
          body: { userId: member.userId },
        });
        await h.api("POST", `/api/channels/${name}/join`, { token: member.token });
      }
      const [post, kick] = await Promise.all([
        h.api("POST", `/api/channels/${name}/messages`, {
          token: member.token,
          body: { content: `r${round}` },
        }),
        h.api("DELETE", `/api/channels/${name}/members/${member.userId}`, {
          token: c.actors.owner.token,
        }),
      ]);
      expect(kick.status).to.equal(204);
      if (post.status === 202) accepted.push(post.body.id);
      else expect(answer(post.status, post.body)).to.equal(NOTM);
      const late = await h.api("POST", `/api/channels/${name}/messages`, {
        token: member.token,
        body: { content: "late" },
      });
      expect(answer(late.status, late.body)).to.equal(NOTM);
    }
    const history = await h.api("GET", `/api/channels/${name}/messages?limit=200`, {
      token: c.actors.owner.token,
    });
    const fromMember = history.body.messages
      .filter((m: { from: string }) => m.from === member.userId)
      .map((m: { id: string }) => m.id);
    expect(fromMember).to.deep.equal(accepted);
  });

  it("the owner leaving while another admin is promoted: exactly one owner after, every time", async () => {
    const h = harness();
    const c = people();
    for (let round = 0; round < 6; round++) {
      const name = await stage(h, c);
      await Promise.all([
        h.api("POST", `/api/channels/${name}/leave`, { token: c.actors.owner.token }),
        h.api("POST", `/api/channels/${name}/members/${c.targets.member.userId}`, {
          token: c.actors.owner.token,
          body: { role: "admin" },
        }),
      ]);
      const page = await h.api("GET", `/api/channels/${name}/members?limit=100`, {
        token: c.actors.admin.token,
      });
      const owners = page.body.members.filter((m: { role: string }) => m.role === "owner");
      expect(owners, name).to.have.length(1);
      const info = await h.api("GET", `/api/channels/${name}`, { token: c.actors.admin.token });
      expect(info.body.owner).to.equal(owners[0].userId);
    }
  });
}

/** 10,000 members joined through the store; three fake nodes; a post; a page under MONITOR. */
async function tenThousand(h: Harness): Promise<void> {
  const { store } = h.engine;
  const owner = await h.user();
  const name = uniqueName("big");
  await store.createChannel({
    name,
    owner: owner.userId,
    title: "",
    visibility: "public",
    history: "all",
    created: Date.now(),
  });
  const ids = Array.from({ length: 9_999 }, (_, i) => `big-${i}`);
  for (let i = 0; i < ids.length; i += 500)
    await Promise.all(ids.slice(i, i + 500).map((id) => store.joinChannel(name, id)));
  expect(await store.channelMembers(name)).to.have.length(10_000);
  await addNode(h);
  const nodes = fakeNodes.get(h)!;
  expect(nodes).to.have.length(3);
  const router = new PartitionRouter(nodes.map((n) => n.info));
  const post = await h.api("POST", `/api/channels/${name}/messages`, {
    token: owner.token,
    body: { content: "to ten thousand" },
  });
  expect(post.status).to.equal(202);
  await pushed(h, "message", (list) => list.filter((m) => m.data.id === post.body.id).length >= 3);
  await new Promise((resolve) => setTimeout(resolve, 100));
  let named = 0;
  for (const node of nodes) {
    const messages = (node.commands as PushSeen[]).filter(
      (cmd) => cmd.event === "message" && cmd.data.channel === name,
    );
    expect(messages, node.info.nodeId).to.have.length(1);
    const to = (messages[0] as { to: string[] }).to;
    for (const id of to) expect(router.ownerOf(id)!.nodeId).to.equal(node.info.nodeId);
    named += to.length;
  }
  expect(named).to.equal(10_000);

  // A page under MONITOR: every command Redis runs (scripts' own calls too) is seen.
  const redis = (h.engine as RedisEngine).redis;
  const monitor = (await (duplicate(redis) as Redis).monitor()) as unknown as {
    on(event: "monitor", listener: (time: string, args: string[]) => void): void;
    disconnect(): void;
  };
  const seen: string[][] = [];
  monitor.on("monitor", (_time, args) => seen.push(args));
  const first = await h.api("GET", `/api/channels/${name}/members?limit=50`, {
    token: owner.token,
  });
  const page = await h.api(
    "GET",
    `/api/channels/${name}/members?limit=50&after=${first.body.next}`,
    {
      token: owner.token,
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  monitor.disconnect();
  expect(page.body.members).to.have.length(50);
  expect(page.body.members[0].userId).to.equal("big-49");
  const channelCommands = seen.filter((args) => args.some((a) => a.includes(`{c:${name}}`)));
  // Two pages of 50: a lookup, a ZRANGEBYSCORE … LIMIT and one HGET per member each; never a
  // whole-set read of the channel.
  expect(channelCommands.length).to.be.below(2 * (50 + 1 + 10));
  const whole = channelCommands.filter(([cmd]) =>
    ["smembers", "hgetall", "sscan", "zrange", "hscan"].includes(cmd!.toLowerCase()),
  );
  expect(whole.map((a) => a.join(" "))).to.deep.equal([]);
}

for (const kind of engineKinds()) groupSuites(kind);

describe("groups (redis cluster)", function () {
  this.timeout(120_000);
  let cluster: TestRedisCluster;
  let h: Harness;
  let c: Cast;

  before(async () => {
    cluster = await startRedisCluster();
    const make: EngineFactory = () =>
      RedisEngine.connect({ url: cluster.url, prefix: `g${process.pid}:` });
    h = await startHarness(make);
    c = await cast(h);
    await addNode(h);
  });
  after(async () => {
    await h?.close();
    await cluster?.destroy();
  });

  it("a smoke of the permission table: kick and mute", async () => {
    await checkTable(h, c, ["kick", "mute"]);
  });

  raceSuite(
    () => h,
    () => c,
  );
});
