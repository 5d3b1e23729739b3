// `npm run migrate-store`: a Redis store filled through the real API, copied into PostgreSQL
// (twice: the copy is idempotent), then read back through the API on the PostgreSQL store —
// every answer as it was on Redis, old session tokens included.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { MemoryEngine } from "../engine/memory-engine.js";
import { PostgresStoreEngine } from "../engine/postgres/postgres-engine.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { startHarness, type Harness, type TestUser } from "./helpers/business.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";

const run = promisify(execFile);

describe("migrate-store: Redis → PostgreSQL", function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let postgres: TestPostgres;
  const harnesses: Harness[] = [];

  before(async function () {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  });
  after(async function () {
    await Promise.all(harnesses.map((h) => h.close()));
    await Promise.all([redis?.destroy(), postgres?.destroy()]);
  });

  it("copies accounts, sessions, friendships, blocks, channels, streams, cursors and files; a re-run changes nothing", async function () {
    const prefix = "migrate:";
    const onRedis = await startHarness(() => RedisEngine.connect({ url: redis.url, prefix }));
    harnesses.push(onRedis);
    await onRedis.fakeNode("im-migrate");
    const [alice, bob, carol, dave] = [
      await onRedis.user("m_alice"),
      await onRedis.user("m_bob"),
      await onRedis.user("m_carol"),
      await onRedis.user("m_dave"),
    ];
    const as = (user: TestUser, body?: unknown) => ({ token: user.token, body });
    await onRedis.api("POST", `/api/friends/${bob.userId}`, as(alice));
    await onRedis.api("POST", `/api/friends/${alice.userId}`, as(bob));
    await onRedis.api("POST", `/api/friends/${carol.userId}`, as(alice)); // pending
    await onRedis.api("POST", `/api/blocks/${alice.userId}`, as(dave));
    const dm = async (from: TestUser, to: TestUser, content: unknown, clientMsgId?: string) =>
      (
        await onRedis.api(
          "POST",
          "/api/messages",
          as(from, { to: to.userId, content, clientMsgId }),
        )
      ).body as { id: string };
    const first = await dm(alice, bob, { text: "hello", list: [] }, "c-1");
    // Redis forgets a clientMsgId after 24 h, and its sender may use it again: as if a day had
    // passed, the key is dropped, and "c-1" names a second message.
    const direct = new Redis(redis.url);
    const keys = await direct.keys(`${prefix}*:cmid:*`);
    expect(keys).to.have.length(1);
    await direct.del(...keys);
    direct.disconnect();
    const reused = await dm(alice, bob, "a day later", "c-1");
    expect(reused.id).to.not.equal(first.id);
    const second = await dm(bob, alice, "hi back");
    const third = await dm(alice, bob, "to be recalled");
    await onRedis.api("PATCH", `/api/messages/${first.id}`, as(alice, { content: "hello!" }));
    await onRedis.api("POST", `/api/messages/${second.id}/reactions`, as(alice, { emoji: "👍" }));
    await onRedis.api("POST", `/api/messages/${second.id}/reactions`, as(bob, { emoji: "👍" }));
    await onRedis.api("POST", `/api/messages/${second.id}/reactions`, as(bob, { emoji: "🎉" }));
    await onRedis.api("DELETE", `/api/messages/${third.id}`, as(alice));
    await onRedis.api("POST", "/api/channels/lounge/join", as(alice));
    await onRedis.api("POST", "/api/channels/lounge/join", as(carol));
    await onRedis.api("POST", "/api/channels", as(bob, { name: "quiet", visibility: "private" }));
    for (let i = 0; i < 5; i++)
      await onRedis.api(
        "POST",
        "/api/channels/lounge/messages",
        as(i % 2 ? alice : carol, {
          content: `post ${i}`,
          mentions: i === 4 ? [alice.userId] : undefined,
        }),
      );
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array([1, 2, 3])]), "notes.bin");
    const upload = await fetch(`${onRedis.business.url}/api/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}` },
      body: form,
    });
    const { fileId } = (await upload.json()) as { fileId: string };
    await onRedis.api(
      "POST",
      "/api/messages",
      as(alice, { to: bob.userId, content: "a file", attachments: [fileId] }),
    );
    await onRedis.api("POST", "/api/read", as(bob, { peer: alice.userId, seq: 2 }));
    await onRedis.api("POST", "/api/read", as(alice, { channel: "lounge", seq: 3 }));

    /** What each user sees: the answers to compare across the stores. */
    const views = async (h: Harness) => {
      const seen: Record<string, unknown> = {};
      for (const user of [alice, bob, carol, dave]) {
        for (const path of [
          "/api/me",
          "/api/friends",
          "/api/blocks",
          "/api/conversations",
          `/api/messages?peer=${user === alice ? bob.userId : alice.userId}`,
          "/api/channels/lounge/messages",
          "/api/channels/lounge",
          "/api/channels/quiet",
          "/api/channels",
          `/api/files/${fileId}`,
        ]) {
          const answer = await h.api("GET", path, { token: user.token });
          // A channel's member ids come in no order on Redis (a set).
          if (Array.isArray(answer.body?.members)) answer.body.members.sort();
          // A file's download link is signed per process.
          if (typeof answer.body?.url === "string")
            answer.body.url = new URL(answer.body.url).pathname;
          seen[`${user.username} ${path}`] = [answer.status, answer.body];
        }
      }
      return seen;
    };
    const before = await views(onRedis);
    expect(before[`m_bob /api/messages?peer=${alice.userId}`]).to.have.nested.property(
      "[1].messages.length",
      10, // 5 messages, an edit, 3 reactions, a recall
    );

    const env = {
      ...process.env,
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      DATABASE_URL: postgres.url,
      LOG_LEVEL: "silent",
    };
    const once = await run(process.execPath, ["dist/engine/postgres/migrate-store-main.js"], {
      env,
    });
    expect(once.stdout).to.contain('"users":4');
    const twice = await run(process.execPath, ["dist/engine/postgres/migrate-store-main.js"], {
      env,
    });
    expect(twice.stdout).to.contain('"users":0');
    expect(twice.stdout).to.contain('"items":0');

    const onPostgres = await startHarness(() =>
      PostgresStoreEngine.open(new MemoryEngine(), { url: postgres.url }),
    );
    harnesses.push(onPostgres);
    await onPostgres.fakeNode("im-migrate");
    const after = await views(onPostgres);
    for (const key of Object.keys(before)) expect(after[key], key).to.deep.equal(before[key]);
    // And it goes on from there: the next message takes the next seq.
    const next = await onPostgres.api(
      "POST",
      "/api/messages",
      as(bob, { to: alice.userId, content: "after" }),
    );
    expect(next.status).to.equal(202);
    expect(next.body.seq).to.equal(11);
  });
});
