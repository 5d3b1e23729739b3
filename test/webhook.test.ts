// The webhook for undelivered messages, against a real receiver on loopback: real imServer,
// real business, real websockets, real Redis started by the suite. Offline and failed DMs make
// a call, a delivered one none; failures, timeouts and 4xx answers; a business restart
// mid-retry; two business instances sending each event exactly once.
import { expect } from "chai";
import type pg from "pg";
import { io, type Socket } from "socket.io-client";
import { startBusiness, type Business } from "../business/business.js";
import { PushClient, type Undelivered } from "../business/push-client.js";
import { MemoryWebhookQueue } from "../business/webhook/memory-queue.js";
import type { WebhookQueue } from "../business/webhook/queue.js";
import { PostgresWebhookQueue } from "../business/webhook/postgres-queue.js";
import { RedisWebhookQueue } from "../business/webhook/redis-queue.js";
import { backoffMs } from "../business/webhook/sender.js";
import { eventId } from "../business/webhook/webhook.js";
import { ConfigError, loadConfig, type Config, type WebhookConfig } from "../config/index.js";
import { createLogger } from "../config/logger.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import { openPool } from "../engine/postgres/connection.js";
import type { MessagePush } from "../engine/protocol.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import type { Engine } from "../engine/types.js";
import { decodeEvent, topics } from "../engine/wire.js";
import { startImServer, type ImServer } from "../server/im-server.js";
import { engineKinds, startHarness, TEST_COST, uniqueName } from "./helpers/business.js";
import { testConfig } from "./helpers/config.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { validSignature, WebhookReceiver } from "./helpers/webhook-receiver.js";

const SECRET = "webhook-test-secret-0123456789";
const ACK_TIMEOUT_MS = 300;
const logger = createLogger("silent");

/** Short timings so retries happen within a test; the retry window stays the contract's hour. */
function hookConfig(url: string): WebhookConfig {
  return {
    url,
    secret: SECRET,
    timeoutMs: 400,
    retryBaseMs: 40,
    retryMaxMs: 150,
    retryForMs: 3_600_000,
    pollMs: 50,
  };
}

function systemConfig(overrides: Partial<Config>): Config {
  return testConfig({ dmPolicy: "open", ackTimeoutMs: ACK_TIMEOUT_MS, ...overrides });
}

const startBusinessOn = (config: Config, engine: Engine) =>
  startBusiness({ config, engine, logger, passwordCost: TEST_COST });

/** One imServer node and the given business instances over one engine. */
interface System {
  im: ImServer;
  businesses: Business[];
  close(): Promise<void>;
}

async function startSystem(config: Config, engines: Engine[]): Promise<System> {
  const im = await startImServer({ config, engine: engines[0]!, logger });
  const businesses: Business[] = [];
  for (const engine of engines) businesses.push(await startBusinessOn(config, engine));
  return {
    im,
    businesses,
    async close() {
      await im.drain();
      for (const business of businesses) await business.close();
    },
  };
}

interface Account {
  userId: string;
  token: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index freely into answers
async function post(base: string, path: string, body: unknown, token?: string): Promise<any> {
  const response = await fetch(base + path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token !== undefined && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function account(base: string): Promise<Account> {
  const credentials = { username: uniqueName("hook"), password: "password123" };
  await post(base, "/api/register", credentials);
  return (await post(base, "/api/login", credentials)) as Account;
}

const sockets: Socket[] = [];

/** A connected socket that acks its pushes, or (`acks: false`) one that never does. */
async function connect(base: string, who: Account, acks: boolean): Promise<Socket> {
  const grant = await post(base, "/api/connect", {}, who.token);
  const socket = io(grant.url, {
    path: grant.path,
    transports: ["websocket"],
    auth: { token: grant.token },
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  if (acks) socket.on("message", (_push: unknown, ack?: () => void) => ack?.());
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return socket;
}

async function sendDm(base: string, from: Account, to: Account): Promise<{ id: string }> {
  return post(base, "/api/messages", { to: to.userId, content: { text: "secret" } }, from.token);
}

/** The sum of a business metric's samples (those with `label` in their labels, if given). */
async function metric(business: Business, name: string, label = ""): Promise<number> {
  const text = await business.registry.metrics();
  return text
    .split("\n")
    .filter((line) => line.startsWith(name) && line.includes(label) && !line.startsWith("#"))
    .filter((line) => line.split(/[{ ]/)[0] === name)
    .reduce((sum, line) => sum + Number(line.split(" ").pop()), 0);
}

/** The metric once it reached `expected` (a call's outcome is counted just after it ends), or its value after 2 s. */
async function metricReaching(
  business: Business,
  name: string,
  expected: number,
  label = "",
): Promise<number> {
  const deadline = Date.now() + 2_000;
  let value = await metric(business, name, label);
  while (value !== expected && Date.now() < deadline) {
    await sleep(20);
    value = await metric(business, name, label);
  }
  return value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Long enough for an outcome that is coming to have come: the ack timeout, a poll, a call. */
const SETTLE_MS = ACK_TIMEOUT_MS + 600;

describe("webhook configuration", function () {
  const url = "http://127.0.0.1:9/hook";

  it("is off without IM_WEBHOOK_URL, and reads its knobs with it", function () {
    expect(loadConfig({}).webhook).to.equal(undefined);
    const config = loadConfig({
      IM_WEBHOOK_URL: url,
      IM_WEBHOOK_SECRET: SECRET,
      IM_WEBHOOK_TIMEOUT_MS: "250",
      IM_WEBHOOK_POLL_MS: "20",
    });
    expect(config.webhook).to.deep.include({ url, secret: SECRET, timeoutMs: 250, pollMs: 20 });
    expect(config.webhook!.retryForMs).to.be.at.least(3_600_000);
  });

  for (const [why, env, variable] of [
    ["a URL without a secret", { IM_WEBHOOK_URL: url }, "IM_WEBHOOK_SECRET"],
    ["a short secret", { IM_WEBHOOK_URL: url, IM_WEBHOOK_SECRET: "short" }, "IM_WEBHOOK_SECRET"],
    [
      "a URL that is not http",
      { IM_WEBHOOK_URL: "ftp://x/y", IM_WEBHOOK_SECRET: SECRET },
      "IM_WEBHOOK_URL",
    ],
    [
      "a retry window under an hour",
      { IM_WEBHOOK_URL: url, IM_WEBHOOK_SECRET: SECRET, IM_WEBHOOK_RETRY_FOR_S: "60" },
      "IM_WEBHOOK_RETRY_FOR_S",
    ],
  ] as const) {
    it(`stops start-up on ${why}, naming ${variable}`, function () {
      expect(() => loadConfig(env)).to.throw(ConfigError, variable);
    });
  }

  it("backs off exponentially with full jitter, capped", function () {
    const config = { retryBaseMs: 100, retryMaxMs: 1_000 };
    expect(backoffMs(1, config, () => 0.999)).to.equal(99);
    expect(backoffMs(3, config, () => 0.5)).to.equal(200);
    expect(backoffMs(30, config, () => 0.5)).to.equal(500);
    expect(backoffMs(30, config, () => 0)).to.equal(0);
  });
});

describe("webhook queue", function () {
  let redis: TestRedis;
  let postgres: TestPostgres;
  let engines: RedisEngine[] = [];
  const pools: pg.Pool[] = [];
  const twins: { name: string; make(): Promise<WebhookQueue> }[] = [
    { name: "memory", make: async () => new MemoryWebhookQueue() },
    {
      name: "redis",
      async make() {
        const engine = await RedisEngine.connect({ url: redis.url, prefix: uniqueName("q") + ":" });
        engines.push(engine);
        return new RedisWebhookQueue(engine.redis, engine.keys);
      },
    },
    {
      name: "postgres",
      async make() {
        const pool = await openPool({ url: postgres.url, schema: uniqueName("q") });
        pools.push(pool);
        return new PostgresWebhookQueue(pool);
      },
    },
  ];

  before(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  });

  after(async () => {
    for (const engine of engines) await engine.close();
    engines = [];
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
    await Promise.all([redis.destroy(), postgres.destroy()]);
  });

  for (const twin of twins) {
    describe(twin.name, function () {
      it("queues an id once, and not again after it is finished", async () => {
        const queue = await twin.make();
        expect(await queue.add("e1", '{"a":[]}')).to.equal(true);
        expect(await queue.add("e1", "other")).to.equal(false);
        expect(await queue.depth()).to.equal(1);
        const [claimed] = await queue.claim(10, 10_000);
        expect(claimed).to.deep.include({ id: "e1", body: '{"a":[]}', attempts: 1 });
        expect(claimed!.lease).to.be.greaterThan(claimed!.claimedAt);
        await queue.finish("e1");
        expect(await queue.depth()).to.equal(0);
        expect(await queue.add("e1", '{"a":[]}')).to.equal(false);
        expect(await queue.claim(10, 10_000)).to.deep.equal([]);
      });

      it("leases a claim: nobody else gets it until it is retried and due", async () => {
        const queue = await twin.make();
        await queue.add("e2", "{}");
        const [first] = await queue.claim(10, 10_000);
        expect(await queue.claim(10, 10_000)).to.deep.equal([]);
        expect(await queue.retry(first!, 150)).to.equal(true);
        expect(await queue.claim(10, 10_000)).to.deep.equal([]);
        await sleep(200);
        const [second] = await queue.claim(10, 10_000);
        expect(second).to.deep.include({ id: "e2", attempts: 2 });
        expect(second!.queuedAt).to.equal(first!.queuedAt);
        // The first claim's lease is no longer the event's: it cannot move it.
        expect(await queue.retry(first!, 0)).to.equal(false);
        expect(await queue.retry(second!, 0)).to.equal(true);
        expect(await queue.depth()).to.equal(1);
      });

      it("gives an event back once its lease ran out (its holder died)", async () => {
        const queue = await twin.make();
        await queue.add("e3", "{}");
        expect(await queue.claim(10, 100)).to.have.length(1);
        expect(await queue.claim(10, 100)).to.deep.equal([]);
        await sleep(150);
        const [again] = await queue.claim(10, 10_000);
        expect(again).to.deep.include({ id: "e3", attempts: 2 });
      });

      it("claims at most the batch asked for, oldest first", async () => {
        const queue = await twin.make();
        for (const id of ["a", "b", "c"]) {
          await queue.add(id, id);
          await sleep(5);
        }
        expect((await queue.claim(2, 10_000)).map((c) => c.id)).to.deep.equal(["a", "b"]);
        expect((await queue.claim(2, 10_000)).map((c) => c.id)).to.deep.equal(["c"]);
      });
    });
  }
});

describe("push client outcomes", function () {
  const message: MessagePush = {
    id: "m1",
    seq: 1,
    kind: "message",
    from: "s",
    channel: "c",
    content: "x",
    ts: 1,
  };

  it("asks a node about the notify users it holds, only when it has an undelivered handler", async () => {
    for (const undelivered of [undefined, () => {}]) {
      const harness = await startHarness(() => new MemoryEngine());
      try {
        const push = new PushClient({
          engine: harness.engine,
          ...(undelivered && { undelivered }),
        });
        await push.start();
        const node = await harness.fakeNode("im-only");
        await push.refreshNodes();
        await push.sendChannel(message, ["a", "b", "s"], { notify: ["b", "z"] });
        await push.send({ ...message, channel: undefined, to: "b" });
        const [channel, direct] = (await node.waitFor(2)) as { notify?: string[] }[];
        expect(channel!.notify).to.deep.equal(undelivered ? ["b"] : undefined);
        expect(direct!.notify).to.deep.equal(undelivered ? ["b"] : undefined);
        await push.close();
      } finally {
        await harness.close();
      }
    }
  });

  it("reports offline at once the notify users whose node is gone", async () => {
    const engine = new MemoryEngine();
    const reports: Undelivered[] = [];
    const push = new PushClient({ engine, undelivered: (report) => reports.push(report) });
    await push.start();
    await push.sendChannel(message, ["a", "b", "s"], { notify: ["b"] });
    expect(reports).to.deep.equal([
      {
        recipient: "b",
        reason: "offline",
        message: { id: "m1", seq: 1, from: "s", channel: "c", ts: 1 },
      },
    ]);
    await push.close();
    await engine.close();
  });
});

describe("webhook without IM_WEBHOOK_URL", function () {
  it("asks nodes for no outcome: an offline or unacked DM publishes no undelivered event", async () => {
    const engine = new MemoryEngine();
    const system = await startSystem(systemConfig({}), [engine]);
    const events: string[] = [];
    const unsubscribe = await engine.bus.subscribe(topics.events, (raw) => {
      if (decodeEvent(raw)?.kind === "undelivered") events.push(raw);
    });
    try {
      const base = system.businesses[0]!.url;
      const [alice, bob, carol] = [await account(base), await account(base), await account(base)];
      await connect(base, carol, false);
      await sendDm(base, alice, bob);
      await sendDm(base, alice, carol);
      await sleep(SETTLE_MS);
      expect(events).to.deep.equal([]);
      expect(await metric(system.businesses[0]!, "herald_business_webhook_queued_total")).to.equal(
        0,
      );
    } finally {
      for (const socket of sockets.splice(0)) socket.close();
      await unsubscribe();
      await system.close();
      await engine.close();
    }
  });
});

for (const kind of engineKinds()) {
  describe(`webhook end to end (${kind.name} engine)`, function () {
    let receiver: WebhookReceiver;
    let system: System;
    let engine: Engine;
    let business: Business;
    let base: string;

    before(async () => {
      receiver = await new WebhookReceiver().start();
      engine = await kind.make();
      system = await startSystem(systemConfig({ webhook: hookConfig(receiver.url) }), [engine]);
      business = system.businesses[0]!;
      base = business.url;
    });

    afterEach(() => {
      for (const socket of sockets.splice(0)) socket.close();
      receiver.reset();
    });

    after(async () => {
      await system.close();
      await engine.close();
      await receiver.close();
      await kind.stop?.();
    });

    it("posts a signed call for a DM whose recipient has no connection", async () => {
      const [alice, bob] = [await account(base), await account(base)];
      const sent = await sendDm(base, alice, bob);
      await receiver.until(() => receiver.calls.length === 1, "call");
      const [call] = receiver.calls;
      expect(call!.contentType).to.equal("application/json");
      expect(validSignature(call!.raw, call!.signature, SECRET)).to.equal(true);
      expect(call!.eventId).to.equal(eventId(sent.id, bob.userId));
      expect(call!.body).to.deep.equal({
        event: "message.undelivered",
        id: call!.eventId,
        recipient: bob.userId,
        reason: "offline",
        message: {
          id: sent.id,
          seq: 1,
          from: alice.userId,
          to: bob.userId,
          ts: call!.body.message.ts,
        },
        unreadTotal: 1,
      });
      expect(call!.raw).to.not.include("secret"); // never the content
      await sleep(SETTLE_MS);
      expect(receiver.calls).to.have.length(1);
    });

    it("posts `failed` when the recipient's only connection never acks", async () => {
      const [alice, bob] = [await account(base), await account(base)];
      await connect(base, bob, false);
      const sent = await sendDm(base, alice, bob);
      await receiver.until(() => receiver.calls.length === 1, "call", ACK_TIMEOUT_MS + 3_000);
      expect(receiver.calls[0]!.body).to.deep.include({ recipient: bob.userId, reason: "failed" });
      expect(receiver.calls[0]!.body.message.id).to.equal(sent.id);
    });

    it("posts a call for each offline member a channel message mentions, and for no one else", async () => {
      const [alice, bob, carol, dave] = [
        await account(base),
        await account(base),
        await account(base),
        await account(base),
      ];
      const channel = uniqueName("hookroom");
      for (const who of [alice, bob, carol, dave])
        await post(base, `/api/channels/${channel}/join`, {}, who.token);
      await connect(base, carol, true); // mentioned, but connected and acking: delivered
      const sent = await post(
        base,
        `/api/channels/${channel}/messages`,
        { content: "hi", mentions: [bob.userId, carol.userId] },
        alice.token,
      );
      await receiver.until(() => receiver.calls.length === 1, "call");
      expect(receiver.calls[0]!.body).to.deep.include({ recipient: bob.userId, reason: "offline" });
      expect(receiver.calls[0]!.body.message).to.deep.include({ id: sent.id, channel });
      await sleep(SETTLE_MS);
      // dave is offline too, but not mentioned; carol was mentioned and got it.
      expect(receiver.calls).to.have.length(1);
    });

    it("posts nothing for a delivered DM, with or without a receipt asked", async () => {
      const [alice, bob] = [await account(base), await account(base)];
      await connect(base, bob, true);
      await connect(base, bob, false); // one device acking is enough
      await sendDm(base, alice, bob);
      await post(base, "/api/messages", { to: bob.userId, content: 1, receipt: true }, alice.token);
      await sleep(SETTLE_MS);
      expect(receiver.calls).to.deep.equal([]);
    });

    it("retries on 500 and on a timeout with the same event id and signature, until accepted once", async () => {
      const sentBefore = await metric(business, "herald_business_webhook_sent_total");
      const retriedBefore = await metric(business, "herald_business_webhook_retried_total");
      receiver.plan = ["fail", "hang", "fail"];
      const [alice, bob] = [await account(base), await account(base)];
      await sendDm(base, alice, bob);
      await receiver.until(() => receiver.accepted.size === 1, "accepted call", 8_000);
      expect(receiver.calls.map((c) => c.answer)).to.deep.equal(["fail", "hang", "fail", "ok"]);
      expect(new Set(receiver.calls.map((c) => c.eventId)).size).to.equal(1);
      expect(new Set(receiver.calls.map((c) => c.raw)).size).to.equal(1);
      for (const call of receiver.calls)
        expect(validSignature(call.raw, call.signature, SECRET)).to.equal(true);
      const sent = sentBefore + 1;
      const retried = retriedBefore + 3;
      expect(await metricReaching(business, "herald_business_webhook_sent_total", sent)).to.equal(
        sent,
      );
      expect(await metric(business, "herald_business_webhook_retried_total")).to.equal(retried);
      await sleep(SETTLE_MS);
      expect(receiver.calls).to.have.length(4);
      expect(await metric(business, "herald_business_webhook_queue_depth")).to.equal(0);
    });

    it("drops an event the receiver answers with a 4xx, and counts it", async () => {
      const before = await metric(business, "herald_business_webhook_dropped_total", "rejected");
      receiver.plan = ["reject"];
      const [alice, bob] = [await account(base), await account(base)];
      await sendDm(base, alice, bob);
      await receiver.until(() => receiver.calls.length === 1, "call");
      await sleep(SETTLE_MS);
      expect(receiver.calls).to.have.length(1);
      const dropped = await metricReaching(
        business,
        "herald_business_webhook_dropped_total",
        before + 1,
        "rejected",
      );
      expect(dropped).to.equal(before + 1);
    });
  });
}

describe("webhook on Redis, across restarts and business instances", function () {
  let redis: TestRedis;
  let receiver: WebhookReceiver;
  const engines: RedisEngine[] = [];
  const connectEngine = async (prefix: string) => {
    const engine = await RedisEngine.connect({ url: redis.url, prefix });
    engines.push(engine);
    return engine;
  };

  before(async () => {
    redis = await startRedis();
    receiver = await new WebhookReceiver().start();
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
    receiver.reset();
  });

  after(async () => {
    for (const engine of engines) await engine.close();
    await receiver.close();
    await redis.destroy();
  });

  it("keeps retrying after business restarts mid-retry, with the same event id", async () => {
    const prefix = uniqueName("restart") + ":";
    const config = systemConfig({ webhook: hookConfig(receiver.url), redisUrl: redis.url });
    receiver.otherwise = "fail";
    const system = await startSystem(config, [await connectEngine(prefix)]);
    const base = system.businesses[0]!.url;
    const [alice, bob] = [await account(base), await account(base)];
    await sendDm(base, alice, bob);
    await receiver.until(() => receiver.calls.length >= 2, "two failed calls");
    await system.businesses[0]!.close();
    const failed = receiver.calls.length;
    receiver.otherwise = "ok";
    const restarted = await startBusinessOn(config, await connectEngine(prefix));
    try {
      await receiver.until(() => receiver.accepted.size === 1, "accepted call after restart");
      expect(receiver.calls.length).to.be.greaterThan(failed);
      expect(new Set(receiver.calls.map((c) => c.eventId)).size).to.equal(1);
      expect(receiver.calls[0]!.body.recipient).to.equal(bob.userId);
    } finally {
      await restarted.close();
      await system.im.drain();
    }
  });

  it("sends each event once with two business instances hearing every outcome", async () => {
    const prefix = uniqueName("pair") + ":";
    const config = systemConfig({ webhook: hookConfig(receiver.url), redisUrl: redis.url });
    // Every other call fails or hangs, so retries and leases are exercised on both instances.
    let n = 0;
    receiver.otherwise = () => (["fail", "ok", "hang", "ok"] as const)[n++ % 4]!;
    const system = await startSystem(config, [
      await connectEngine(prefix),
      await connectEngine(prefix),
    ]);
    try {
      const [one, two] = system.businesses.map((b) => b.url) as [string, string];
      const alice = await account(one);
      const offline = [await account(one), await account(two), await account(one)];
      const unacking = await account(two);
      await connect(one, unacking, false);
      const expected = new Set<string>();
      for (let i = 0; i < 4; i++) {
        for (const [k, bob] of [...offline, unacking].entries()) {
          const sent = await sendDm(k % 2 === 0 ? one : two, alice, bob);
          expected.add(eventId(sent.id, bob.userId));
        }
      }
      await receiver.until(
        () => [...expected].every((id) => receiver.accepted.has(id)),
        "every event accepted",
        15_000,
      );
      await sleep(SETTLE_MS);
      expect([...receiver.accepted.keys()].sort()).to.deep.equal([...expected].sort());
      expect([...receiver.accepted.values()].every((count) => count === 1)).to.equal(true);
      const reasons = receiver.calls.filter((c) => c.answer === "ok").map((c) => c.body.reason);
      expect(reasons.filter((r) => r === "failed")).to.have.length(4);
    } finally {
      await system.close();
    }
  });

  it("in adapter mode, posts offline and failed DMs too", async () => {
    const prefix = uniqueName("adapter") + ":";
    const config = systemConfig({
      webhook: hookConfig(receiver.url),
      redisUrl: redis.url,
      redisPrefix: prefix,
      router: "adapter",
    });
    const system = await startSystem(config, [await connectEngine(prefix)]);
    try {
      const base = system.businesses[0]!.url;
      const [alice, bob, carol, dave] = [
        await account(base),
        await account(base),
        await account(base),
        await account(base),
      ];
      await connect(base, carol, false);
      await connect(base, dave, true);
      await sendDm(base, alice, bob);
      await sendDm(base, alice, carol);
      await sendDm(base, alice, dave);
      await receiver.until(() => receiver.calls.length === 2, "two calls", ACK_TIMEOUT_MS + 3_000);
      await sleep(SETTLE_MS);
      const outcomes = receiver.calls.map((c) => `${c.body.recipient} ${c.body.reason}`).sort();
      expect(outcomes).to.deep.equal([`${bob.userId} offline`, `${carol.userId} failed`].sort());
    } finally {
      await system.close();
    }
  });
});
