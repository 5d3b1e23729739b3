// The sides a push scenario compares, each started on its own fresh redis-server and fed its own
// idiomatic way by the publisher (this process):
//   herald            imServer node(s) (`node dist/server/main.js`); commands in the wire format
//                     (engine/wire.ts encode) PUBLISHed on each node's topic through business's
//                     own PushRouter (one command per owner node, or to one node in adapter mode)
//                     and PublishBatcher (one PUBLISH per node per event-loop turn)
//   socket.io (+ack)  peers/socketio-server.ts on @socket.io/redis-adapter, fed by
//                     @socket.io/redis-emitter
//   ws                peers/ws-server.ts, JSON commands on one Redis channel
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";
import {
  AdapterPushRouter,
  PartitionPushRouter,
  type PushRouter,
} from "../business/push-router.js";
import { NodeView } from "../engine/node-view.js";
import type { MessagePush } from "../engine/protocol.js";
import { PublishBatcher } from "../engine/publish-batcher.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import { topics } from "../engine/wire.js";
import { freePort, startRedis, type TestRedis } from "../support/redis-server.js";
import type { ClientKind, Target } from "./load-clients.js";
import {
  cpuMicros,
  track,
  launch,
  nextMessage,
  rssBytes,
  sleep,
  stop,
  waitHealthy,
  type Launched,
} from "./lib/proc.js";
import { PUSH_EVENT, WS_CHANNEL, type WsCommand } from "./peers/names.js";

export type SideKind = "herald" | "socket.io-ack" | "socket.io" | "ws";

export interface SideSpec {
  /** The name in the report. */
  label: string;
  kind: SideKind;
  nodes: number;
  /** Herald only: IM_ROUTER. */
  router?: "partition" | "adapter";
}

/** `"*"`: every connected user (a channel of everyone for Herald, the `all` room for socket.io). */
export type Recipients = string[] | "*";

export interface Side {
  spec: SideSpec;
  clientKind: ClientKind;
  redis: RedisProbe;
  /** The processes whose CPU and memory are the side's: its servers (Redis is counted apart). */
  servers: Launched[];
  /** How each user's socket is opened. */
  targets(userIds: string[]): Promise<Target[]>;
  /** Publishes one command the side's way; every side sends the same item. */
  inject(to: Recipients, push: MessagePush): Promise<void>;
  /** PUBLISHes the publisher made, and the subscribers they reached (summed from the replies). */
  readonly published: number;
  readonly received: number;
  close(): Promise<void>;
}

/** A fresh redis-server and what the harness reads of it. */
export interface RedisProbe {
  server: TestRedis;
  pid: number;
  client: Redis;
  stats(): Promise<{ cpuMicros: number; commands: number; publishes: number }>;
  close(): Promise<void>;
}

export async function startRedisProbe(): Promise<RedisProbe> {
  const server = await startRedis();
  const client = new Redis(server.url);
  const pid = Number(/process_id:(\d+)/.exec(await client.info("server"))?.[1]);
  const untrack = track(pid);
  return {
    server,
    pid,
    client,
    async stats() {
      const info = await client.info("all");
      const field = (re: RegExp) => Number(re.exec(info)?.[1] ?? 0);
      return {
        cpuMicros: cpuMicros(pid),
        commands: field(/total_commands_processed:(\d+)/),
        publishes: field(/cmdstat_publish:calls=(\d+)/),
      };
    },
    async close() {
      client.disconnect();
      await server.destroy();
      untrack();
    },
  };
}

export const totalCpu = (servers: Launched[]) =>
  servers.reduce((sum, s) => sum + cpuMicros(s.child.pid!), 0);
export const totalRss = (servers: Launched[]) =>
  servers.reduce((sum, s) => sum + rssBytes(s.child.pid!), 0);

const HERALD_PREFIX = "herald:";
const ISSUE_CONCURRENCY = 32;

/** One imServer process; resolves once its /health answers. */
export async function startHeraldNode(
  redisUrl: string,
  router: "partition" | "adapter",
  env: Record<string, string> = {},
): Promise<Launched & { url: string }> {
  const port = await freePort();
  const node = launch(`im-${port}`, "../server/main.js", {
    REDIS_URL: redisUrl,
    REDIS_PREFIX: HERALD_PREFIX,
    IM_ROUTER: router,
    IM_PORT: String(port),
    IM_NODE_ID: `im-${port}`,
    LOG_LEVEL: "warn",
    // An imServer never touches the store: a DATABASE_URL in the caller's environment is not
    // passed on (it would open a pool and run migrations on someone's database).
    DATABASE_URL: "",
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(node, `${url}/health`);
  return { ...node, url };
}

/** Waits (bounded) until the live node set read from Redis has `count` nodes. */
export async function waitForNodes(view: NodeView, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (view.router.liveNodes.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${view.router.liveNodes.length} nodes live`);
    await view.refresh();
    await sleep(50);
  }
}

async function startHerald(spec: SideSpec, redis: RedisProbe): Promise<Side> {
  const router = spec.router ?? "partition";
  const url = redis.server.url;
  const servers = await Promise.all(
    Array.from({ length: spec.nodes }, () => startHeraldNode(url, router)),
  );
  const engine = await RedisEngine.connect({ url, prefix: HERALD_PREFIX });
  const nodeView = new NodeView(engine);
  await nodeView.start();
  await waitForNodes(nodeView, spec.nodes);
  let published = 0;
  let received = 0;
  // Batched per node and event-loop turn, as business's push client does.
  const batcher = new PublishBatcher(async (nodeId, payload) => {
    published++;
    const heard = await engine.bus.publish(topics.node(nodeId), payload);
    received += heard;
    return heard;
  });
  const deps = {
    nodeView,
    presence: engine.presence,
    publish: async (nodeId: string, _kind: string, payload: string) =>
      (await batcher.publish(nodeId, payload)) > 0,
  };
  const pushRouter: PushRouter =
    router === "adapter" ? new AdapterPushRouter(deps) : new PartitionPushRouter(deps);
  let everyone: string[] = [];
  return {
    spec,
    clientKind: "herald",
    redis,
    servers,
    async targets(userIds) {
      everyone = userIds;
      // A few issues at a time: thousands at once outlast the command timeout on a busy machine.
      const out: Target[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(ISSUE_CONCURRENCY, userIds.length) }, async () => {
          while (next < userIds.length) {
            const i = next++;
            const userId = userIds[i]!;
            const node = (await pushRouter.connectNode(userId))!;
            const token = await engine.tokens.issue(
              { userId, sessionId: `s-${userId}`, nodeId: node.nodeId },
              120_000,
            );
            out[i] = { userId, url: node.url, path: "/socket.io", token };
          }
        }),
      );
      return out;
    },
    async inject(to, data) {
      await pushRouter.route(to === "*" ? everyone : to, (names) => ({
        v: 1,
        kind: "push",
        event: "message",
        to: names,
        data,
      }));
    },
    get published() {
      return published;
    },
    get received() {
      return received;
    },
    async close() {
      await nodeView.stop();
      await engine.close();
      await Promise.all(servers.map((s) => stop(s)));
    },
  };
}

async function startPeer(spec: SideSpec, redis: RedisProbe): Promise<Side> {
  const script = spec.kind === "ws" ? "peers/ws-server.js" : "peers/socketio-server.js";
  const mode = spec.kind === "socket.io-ack" ? "ack" : "plain";
  const servers: (Launched & { url: string })[] = await Promise.all(
    Array.from({ length: spec.nodes }, async (_, i) => {
      const server = launch(`${spec.label}-${i + 1}`, script, {
        REDIS_URL: redis.server.url,
        MODE: mode,
      });
      const { url } = await nextMessage<{ type: "ready"; url: string }>(server, "ready");
      return { ...server, url };
    }),
  );
  const publisher = new Redis(redis.server.url);
  let published = 0;
  let received = 0;
  const counted = (n: number) => void (received += n);
  // The emitter only calls publish(channel, message): this counts each PUBLISH's subscribers.
  const emitter = new Emitter({
    publish: (channel: string, message: string | Buffer) => {
      published++;
      return publisher.publish(channel, message).then(counted);
    },
  });
  const inject = async (to: Recipients, push: MessagePush): Promise<void> => {
    if (spec.kind === "ws") {
      const command: WsCommand = { to, data: push };
      published++;
      counted(await publisher.publish(WS_CHANNEL, JSON.stringify(command)));
    } else if (spec.kind === "socket.io-ack") {
      if (to !== "*" && to.length !== 1) throw new Error("socket.io-ack pushes to one user or all");
      emitter.serverSideEmit(PUSH_EVENT, to === "*" ? "*" : to[0], push);
    } else {
      emitter.to(to === "*" ? "all" : to.map((u) => `u:${u}`)).emit("message", push);
    }
  };
  return {
    spec,
    clientKind: spec.kind === "ws" ? "ws" : "sio",
    redis,
    servers,
    // Users are spread over the nodes round-robin (a load balancer's way).
    targets: async (userIds) =>
      userIds.map((userId, i) => ({ userId, url: servers[i % servers.length]!.url })),
    inject,
    get published() {
      return published;
    },
    get received() {
      return received;
    },
    async close() {
      publisher.disconnect();
      await Promise.all(servers.map((s) => stop(s)));
    },
  };
}

export function startSide(spec: SideSpec, redis: RedisProbe): Promise<Side> {
  return spec.kind === "herald" ? startHerald(spec, redis) : startPeer(spec, redis);
}
