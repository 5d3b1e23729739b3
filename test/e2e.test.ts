// The contract end to end on one node, on both engines: a real Herald (business + imServer),
// real HTTP, real websockets through socket.io-client, and the SDK for recovery.
import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "chai";
import { HeraldClient } from "../client/sdk.js";
import type { MessagePush, PresencePush, ReceiptPush } from "../engine/protocol.js";
import { startHerald, type Herald } from "../herald.js";
import { createOperator } from "../business/operators.js";
import { engineKinds, TEST_COST } from "./helpers/business.js";
import { testConfig } from "./helpers/config.js";
import {
  befriend,
  call,
  next,
  none,
  openSocket,
  PASSWORD,
  person,
  sockets,
  uniqueName,
} from "./helpers/people.js";
import { startPostgres } from "../support/postgres-server.js";
import { freePort, startRedis } from "../support/redis-server.js";

function refusal(url: string, path: string, token: string): Promise<string> {
  return openSocket(url, path, token).then(
    () => {
      throw new Error("the connection was accepted");
    },
    (err: Error) => err.message,
  );
}

async function metric(herald: Herald, name: string): Promise<number> {
  const text = await (await fetch(`${herald.im.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line ? Number(line.split(" ").pop()) : 0;
}

for (const kind of engineKinds()) {
  describe(`end to end on one node (${kind.name} engine)`, function () {
    let herald: Herald;
    let base: string;

    before(async () => {
      herald = await startHerald(
        testConfig({ nodeId: "im-e2e", admins: ["operator"], ackTimeoutMs: 600 }),
        { engine: await kind.make() },
      );
      base = herald.business.url;
    });

    afterEach(() => {
      for (const socket of sockets.splice(0)) socket.close();
    });

    after(async () => {
      await herald.stop();
      await herald.engine.close();
      await kind.stop?.();
    });

    it("registers, logs in, answers /api/me, and logout revokes the session and closes its sockets", async () => {
      const alice = await person(base);
      expect((await alice.api("GET", "/api/me")).body).to.deep.equal({
        userId: alice.userId,
        username: alice.username,
      });
      const socket = await alice.socket();
      const kicked = next<{ reason: string }>(socket, "kicked");
      const closed = new Promise((resolve) => socket.once("disconnect", resolve));
      expect((await alice.api("POST", "/api/logout")).status).to.equal(204);
      expect(await kicked).to.deep.equal({ reason: "logout" });
      await closed;
      expect((await alice.api("GET", "/api/me")).status).to.equal(401);
      expect((await alice.api("POST", "/api/connect")).status).to.equal(401);
    });

    it("accepts a connect token once and refuses reused, forged, expired and wrong-node tokens", async () => {
      const alice = await person(base);
      const grant = (await alice.api("POST", "/api/connect")).body;
      expect(grant.nodeId).to.equal("im-e2e");
      expect(grant.expiresIn).to.be.within(1, 30);
      expect(grant.token).to.match(/^[A-Za-z0-9_-]{22,}$/);
      await openSocket(grant.url, grant.path, grant.token);
      expect(await refusal(grant.url, grant.path, grant.token)).to.equal("token_invalid");
      expect(await refusal(grant.url, grant.path, "forged-token-forged-token-forged")).to.equal(
        "token_invalid",
      );

      const sessionId = "s-e2e";
      const expired = await herald.engine.tokens.issue(
        { userId: alice.userId, sessionId, nodeId: "im-e2e" },
        1,
      );
      await new Promise((r) => setTimeout(r, 20));
      expect(await refusal(grant.url, grant.path, expired)).to.equal("token_expired");
      const elsewhere = await herald.engine.tokens.issue(
        { userId: alice.userId, sessionId, nodeId: "im-other" },
        30_000,
      );
      expect(await refusal(grant.url, grant.path, elsewhere)).to.equal("wrong_node");
      // The refused attempt spent it: the same token now is simply invalid.
      expect(await refusal(grant.url, grant.path, elsewhere)).to.equal("token_invalid");
    });

    it("sends direct messages only between friends, and a delivered receipt comes back", async () => {
      const [alice, bob] = [await person(base), await person(base)];
      const refused = await alice.api("POST", "/api/messages", { to: bob.userId, content: "hi" });
      expect(refused.status).to.equal(403);
      expect(refused.body.error.code).to.equal("not_friends");

      await befriend(alice, bob);
      const [aliceSocket, bobSocket] = [await alice.socket(), await bob.socket()];
      const pushed = next<MessagePush>(bobSocket, "message");
      const receipt = next<ReceiptPush>(aliceSocket, "receipt");
      const sent = await alice.api("POST", "/api/messages", {
        to: bob.userId,
        content: { text: "hi" },
        receipt: true,
      });
      expect(sent.status).to.equal(202);
      expect(sent.body.seq).to.equal(1);
      const message = await pushed;
      expect(message).to.deep.include({
        id: sent.body.id,
        seq: 1,
        from: alice.userId,
        to: bob.userId,
      });
      expect(message.content).to.deep.equal({ text: "hi" });
      expect(await receipt).to.deep.include({
        messageId: sent.body.id,
        to: bob.userId,
        status: "delivered",
      });
    });

    it("answers an offline receipt for a recipient with no connection, and the message is in history", async () => {
      const [alice, bob] = [await person(base), await person(base)];
      await befriend(alice, bob);
      const aliceSocket = await alice.socket();
      const receipt = next<ReceiptPush>(aliceSocket, "receipt");
      const sent = await alice.api("POST", "/api/messages", {
        to: bob.userId,
        content: "are you there?",
        receipt: true,
      });
      expect((await receipt).status).to.equal("offline");
      const history = await bob.api("GET", `/api/messages?peer=${alice.userId}`);
      expect(history.body.messages).to.have.length(1);
      expect(history.body.messages[0]).to.deep.include({
        id: sent.body.id,
        seq: 1,
        content: "are you there?",
      });
    });

    it("answers a failed receipt when the recipient's client never acks", async () => {
      const [alice, bob] = [await person(base), await person(base)];
      await befriend(alice, bob);
      const [aliceSocket, bobSocket] = [await alice.socket(), await bob.socket()];
      const unacked = next<MessagePush>(bobSocket, "message", 3000, false);
      const receipt = next<ReceiptPush>(aliceSocket, "receipt", 3000);
      await alice.api("POST", "/api/messages", {
        to: bob.userId,
        content: "ack me",
        receipt: true,
      });
      await unacked;
      expect((await receipt).status).to.equal("failed");
    });

    it("pushes to every device of the recipient and of the sender, with one receipt", async () => {
      const [alice, bob] = [await person(base), await person(base)];
      await befriend(alice, bob);
      const bobDevices = [await bob.socket(), await bob.socket(), await bob.socket()];
      const [aliceSocket, aliceOther] = [await alice.socket(), await alice.socket()];
      const arrivals = bobDevices.map((s) => next<MessagePush>(s, "message"));
      const ownCopy = next<MessagePush>(aliceOther, "message");
      const receipt = next<ReceiptPush>(aliceSocket, "receipt");
      const sent = await alice.api("POST", "/api/messages", {
        to: bob.userId,
        content: "to all",
        receipt: true,
      });
      for (const message of await Promise.all(arrivals)) expect(message.id).to.equal(sent.body.id);
      expect((await ownCopy).id).to.equal(sent.body.id);
      expect((await receipt).status).to.equal("delivered");
      await none(aliceSocket, "receipt", 300);
    });

    it("runs channels: join, post to members, 403 not_member, leave", async () => {
      const [alice, bob, carol] = [await person(base), await person(base), await person(base)];
      const name = uniqueName("room");
      for (const p of [alice, bob])
        expect((await p.api("POST", `/api/channels/${name}/join`)).status).to.equal(200);
      const [bobSocket, carolSocket] = [await bob.socket(), await carol.socket()];
      const arrival = next<MessagePush>(bobSocket, "message");
      const posted = await alice.api("POST", `/api/channels/${name}/messages`, {
        content: "hello room",
      });
      expect(posted.status).to.equal(202);
      expect(await arrival).to.deep.include({
        id: posted.body.id,
        seq: 1,
        channel: name,
        from: alice.userId,
      });
      await none(carolSocket, "message", 200);

      const outsider = await carol.api("POST", `/api/channels/${name}/messages`, {
        content: "let me in",
      });
      expect(outsider.status).to.equal(403);
      expect(outsider.body.error.code).to.equal("not_member");
      expect((await carol.api("GET", `/api/channels/${name}/messages`)).status).to.equal(403);

      const info = await alice.api("GET", `/api/channels/${name}`);
      expect(info.body.members).to.have.members([alice.userId, bob.userId]);
      expect(info.body.online).to.equal(1);
      expect((await bob.api("POST", `/api/channels/${name}/leave`)).status).to.equal(200);
      await alice.api("POST", `/api/channels/${name}/messages`, { content: "bob left" });
      await none(bobSocket, "message", 200);
      const history = await alice.api("GET", `/api/channels/${name}/messages?after=0`);
      expect(history.body.messages.map((m: MessagePush) => m.seq)).to.deep.equal([1, 2]);
    });

    it("pushes presence to friends when a user comes and goes, and /api/presence agrees", async () => {
      const [alice, bob, stranger] = [await person(base), await person(base), await person(base)];
      await befriend(alice, bob);
      const aliceSocket = await alice.socket();
      const cameOnline = next<PresencePush>(aliceSocket, "presence");
      const bobSocket = await bob.socket();
      expect(await cameOnline).to.deep.include({ userId: bob.userId, online: true });
      const ids = [alice.userId, bob.userId, stranger.userId].join(",");
      expect((await alice.api("GET", `/api/presence?ids=${ids}`)).body).to.deep.equal({
        [alice.userId]: true,
        [bob.userId]: true,
      });
      const wentOffline = next<PresencePush>(aliceSocket, "presence");
      bobSocket.close();
      expect(await wentOffline).to.deep.include({ userId: bob.userId, online: false });
      expect((await alice.api("GET", `/api/presence?ids=${bob.userId}`)).body).to.deep.equal({
        [bob.userId]: false,
      });
    });

    it("lets an operator force a user offline and broadcast; others get 403", async () => {
      const bob = await person(base);
      expect((await bob.api("POST", "/api/broadcast", { content: "x" })).status).to.equal(403);
      // The name is reserved: only the server makes the account (npm run admin -- create).
      const squatter = await call(base, "POST", "/api/register", undefined, {
        username: "OPERAT0R",
        password: PASSWORD,
      });
      expect(squatter.status).to.equal(403);
      expect(squatter.body.error.code).to.equal("username_reserved");
      await createOperator(herald.engine, "operator", PASSWORD, TEST_COST);
      const login = await call(base, "POST", "/api/login", undefined, {
        username: "operator",
        password: PASSWORD,
      });
      const opToken = login.body.token as string;
      const bobSocket = await bob.socket();
      const broadcast = next<{ broadcast: boolean; content: unknown }>(bobSocket, "message");
      expect(
        (await call(base, "POST", "/api/broadcast", opToken, { content: "maintenance" })).status,
      ).to.equal(202);
      expect(await broadcast).to.deep.include({ broadcast: true, content: "maintenance" });
      const kicked = next<{ reason: string }>(bobSocket, "kicked");
      const gone = new Promise((resolve) => bobSocket.once("disconnect", resolve));
      expect(
        (await call(base, "POST", `/api/users/${bob.userId}/disconnect`, opToken)).status,
      ).to.equal(204);
      expect(await kicked).to.deep.equal({ reason: "force_offline" });
      await gone;
    });

    it("drops and counts events a client emits, and keeps the connection open", async () => {
      const [alice, bob] = [await person(base), await person(base)];
      await befriend(alice, bob);
      const bobSocket = await bob.socket();
      const before = await metric(herald, "herald_im_dropped_client_frames_total");
      bobSocket.emit("message", { to: alice.userId, content: "via socket" });
      bobSocket.emit("anything", 1, 2, 3);
      const deadline = Date.now() + 2000;
      while ((await metric(herald, "herald_im_dropped_client_frames_total")) < before + 2) {
        if (Date.now() > deadline) throw new Error("the drops were not counted");
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(bobSocket.connected).to.equal(true);
      const arrival = next<MessagePush>(bobSocket, "message");
      await alice.api("POST", "/api/messages", { to: bob.userId, content: "still here?" });
      expect((await arrival).content).to.equal("still here?");
      const history = await alice.api("GET", `/api/messages?peer=${bob.userId}`);
      expect(history.body.messages.map((m: MessagePush) => m.content)).to.deep.equal([
        "still here?",
      ]);
    });

    it("the SDK recovers every message sent while its connection was down, once and in order", async () => {
      const [alice, bob] = [await person(base), await person(base)];
      await befriend(alice, bob);
      const client = new HeraldClient({
        baseUrl: base,
        token: bob.token,
        reconnect: { minDelayMs: 50, maxDelayMs: 200 },
      });
      const seen: MessagePush[] = [];
      client.on("message", (m) => {
        if ("seq" in m) seen.push(m);
      });
      await client.connect();
      await alice.api("POST", "/api/messages", { to: bob.userId, content: 0 });
      const deadline = Date.now() + 3000;
      while (seen.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));

      // Cut bob's connection from the server side, and send while he is away.
      const reconnected = new Promise<void>((resolve) => {
        const onStatus = (status: string) => {
          if (status !== "connected") return;
          client.off("status", onStatus);
          resolve();
        };
        client.on("status", onStatus);
      });
      for (const socket of (await herald.im.io.fetchSockets()).filter(
        (s) => s.data.userId === bob.userId,
      )) {
        socket.disconnect(true);
      }
      for (let i = 1; i <= 5; i++)
        await alice.api("POST", "/api/messages", { to: bob.userId, content: i });
      await reconnected;
      const until = Date.now() + 3000;
      while (seen.length < 6 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      client.disconnect();
      expect(seen.map((m) => m.content)).to.deep.equal([0, 1, 2, 3, 4, 5]);
      expect(new Set(seen.map((m) => m.id)).size).to.equal(6);
    });
  });
}

/** Where the state that must last is kept, and how a restart of every process is done. */
const durable = [
  {
    name: "Redis",
    async start() {
      const redis = await startRedis({ persist: true });
      return {
        env: { REDIS_URL: redis.url },
        restart: async () => {
          await redis.stop();
          await redis.start();
        },
        destroy: () => redis.destroy(),
      };
    },
  },
  {
    name: "PostgreSQL",
    async start() {
      // Redis without persistence: a restart empties it, and nothing that must last is lost.
      const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
      return {
        env: { REDIS_URL: redis.url, DATABASE_URL: postgres.url },
        restart: async () => {
          await Promise.all([redis.stop(), postgres.stop()]);
          await Promise.all([redis.start(), postgres.start()]);
        },
        destroy: () => Promise.all([redis.destroy(), postgres.destroy()]).then(() => {}),
      };
    },
  },
];

for (const store of durable)
  describe(`state in ${store.name} survives a restart of every process`, function () {
    this.timeout(40_000);
    let backend: Awaited<ReturnType<(typeof store)["start"]>>;
    let child: ChildProcess | null = null;

    async function startProcess(env: Record<string, string>): Promise<ChildProcess> {
      const proc = spawn(process.execPath, ["dist/main.js"], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`herald exited with ${proc.exitCode}`);
        try {
          const health = await fetch(`http://127.0.0.1:${env.BUSINESS_PORT}/health`);
          const im = await fetch(`http://127.0.0.1:${env.IM_PORT}/health`);
          if (health.status === 200 && im.status === 200) return proc;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error("herald did not become healthy");
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    function stopProcess(proc: ChildProcess): Promise<number | null> {
      return new Promise((resolve) => {
        proc.once("exit", (code) => resolve(code));
        proc.kill("SIGTERM");
      });
    }

    before(async () => {
      backend = await store.start();
    });

    after(async () => {
      if (child && child.exitCode === null) child.kill("SIGKILL");
      await backend.destroy();
    });

    it("keeps accounts, friendships, memberships and history, and SIGTERM exits 0", async () => {
      const env = {
        ...backend.env,
        BUSINESS_PORT: String(await freePort()),
        IM_PORT: String(await freePort()),
        LOG_LEVEL: "warn",
      };
      const base = `http://127.0.0.1:${env.BUSINESS_PORT}`;
      child = await startProcess(env);
      const [alice, bob] = [await person(base), await person(base)];
      await befriend(alice, bob);
      await alice.api("POST", "/api/channels/lasting/join");
      await alice.api("POST", "/api/messages", { to: bob.userId, content: "before the restart" });
      await alice.api("POST", "/api/channels/lasting/messages", { content: { kept: [] } });
      expect(await stopProcess(child)).to.equal(0);
      await backend.restart();

      child = await startProcess(env);
      const login = await call(base, "POST", "/api/login", undefined, {
        username: bob.username,
        password: PASSWORD,
      });
      expect(login.status).to.equal(200);
      const friends = await call(base, "GET", "/api/friends", login.body.token);
      expect(friends.body.friends.map((f: { userId: string }) => f.userId)).to.deep.equal([
        alice.userId,
      ]);
      // The old session token is still valid: sessions last too.
      const history = await alice.api("GET", `/api/messages?peer=${bob.userId}`);
      expect(history.body.messages.map((m: MessagePush) => m.content)).to.deep.equal([
        "before the restart",
      ]);
      const channel = await alice.api("GET", "/api/channels/lasting/messages");
      expect(channel.body.messages[0].content).to.deep.equal({ kept: [] });
      expect((await alice.api("GET", "/api/channels/lasting")).body.members).to.deep.equal([
        alice.userId,
      ]);
      const socket = await alice.socket();
      expect(socket.connected).to.equal(true);
      socket.close();
      expect(await stopProcess(child)).to.equal(0);
      child = null;
    });
  });
