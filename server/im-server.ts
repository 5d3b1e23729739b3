// An imServer node: one HTTP server answering /health and /metrics, socket.io attached to it
// (websocket only, namespace "/" only), a ConnectionActor per socket, and the node's bus topic
// feeding the CommandDispatcher. It holds connections and only pushes.
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import type { Config } from "../config/index.js";
import type { Logger } from "../config/logger.js";
import { NodeView } from "../engine/node-view.js";
import type { ConnectErrorCode, KickReason, UserId } from "../engine/protocol.js";
import type { Engine, NodeInfo, Unsubscribe } from "../engine/types.js";
import { encode, topics, type PresenceEvent } from "../engine/wire.js";
import { AdapterFanout, socketAdapterShim } from "./adapter-fanout.js";
import { CommandDispatcher } from "./command-dispatcher.js";
import {
  ConnectionActor,
  FlushQueue,
  type ActorHost,
  type ActorState,
} from "./connection-actor.js";
import { ConnectionIndex } from "./connection-index.js";
import { ImMetrics } from "./metrics.js";
import { NodeWatcher } from "./node-watcher.js";
import { ReceiptTracker } from "./receipt-tracker.js";
import { encodePush } from "./socket-internals.js";
import { ThrottledWarn } from "./throttled-warn.js";

export interface ImServerOptions {
  config: Config;
  engine: Engine;
  logger: Logger;
}

export interface ImServer {
  nodeId: string;
  url: string;
  port: number;
  /** The socket.io path clients connect to: "/socket.io". */
  path: string;
  io: Server;
  /** This node's own metrics registry (not prom-client's global one). */
  registry: import("prom-client").Registry;
  /** SIGTERM: /health → 503, stop accepting, kicked{reason:"shutdown"} to all, close, deregister. */
  drain(): Promise<void>;
  /** The same without kicked messages (tests). */
  close(): Promise<void>;
}

const PATH = "/socket.io";
const HEARTBEAT_MS = 2_000;
const MEMBERSHIP_TTL_MS = 6_000;
/** How long a closing connection may take to flush its last packets before it is dropped. */
const CLOSE_GRACE_MS = 3_000;
/** Longer than any token (base64url of 256 bits is 43 characters): refused without a lookup. */
const MAX_TOKEN_LENGTH = 256;

/** A refused handshake: the contract's codes, or `unavailable` while the node cannot admit. */
type Refusal = ConnectErrorCode | "unavailable";

type Phase = "starting" | "ready" | "draining" | "stopped";

/** What the node knows of each socket, for socket.io's `socket.data` (plain data only). */
interface SocketData {
  userId: UserId;
  sessionId: string;
}

export async function startImServer(options: ImServerOptions): Promise<ImServer> {
  const node = new ImNode(options);
  try {
    await node.start();
  } catch (err) {
    await node.close().catch(() => undefined);
    throw err;
  }
  return node;
}

class ImNode implements ImServer {
  readonly nodeId: string;
  readonly path = PATH;
  url = "";
  port = 0;
  readonly io: Server;
  readonly registry: import("prom-client").Registry;

  private phase: Phase = "starting";
  private readonly http: HttpServer;
  private readonly index = new ConnectionIndex();
  private readonly metrics: ImMetrics;
  private readonly nodeView: NodeView;
  private readonly dispatcher: CommandDispatcher;
  private readonly tracker: ReceiptTracker;
  private readonly host: ActorHost;
  private readonly logger: Logger;
  private readonly engine: Engine;
  private readonly config: Config;
  private readonly clientFrameWarn: ThrottledWarn;
  private readonly watcher: NodeWatcher;
  /** Adapter mode over Redis: commands reach every node through @socket.io/redis-adapter. */
  private readonly fanout: AdapterFanout | null = null;
  private unsubscribe: Unsubscribe | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Presence writes in flight (connects and disconnects), awaited by a shutdown. */
  private readonly presenceWork = new Set<Promise<void>>();
  /** Each actor's presence.add (and online event), which its presence.remove must follow. */
  private readonly registrations = new WeakMap<ConnectionActor, Promise<void>>();
  /** Actors whose transport has not closed yet, and who waits for them to reach zero. */
  private openTransports = 0;
  private transportsClosed: (() => void) | null = null;
  private stopping: Promise<void> | null = null;

  constructor({ config, engine, logger }: ImServerOptions) {
    this.config = config;
    this.engine = engine;
    this.logger = logger;
    this.nodeId = config.nodeId;
    this.metrics = new ImMetrics(() => this.index.size);
    this.registry = this.metrics.registry;
    this.clientFrameWarn = new ThrottledWarn(logger, "dropped events emitted by clients");
    this.http = createServer((req, res) => this.onRequest(req, res));
    this.io = new Server(this.http, {
      path: PATH,
      transports: ["websocket"],
      serveClient: false,
      perMessageDeflate: false, // frames are precomputed once per push (socket-internals.ts)
      httpCompression: false,
      allowEIO3: false,
      connectTimeout: 10_000,
    });
    this.nodeView = new NodeView(engine);
    this.dispatcher = new CommandDispatcher({
      nodeId: this.nodeId,
      io: this.io,
      bus: engine.bus,
      router: this.nodeView.router,
      index: this.index,
      metrics: this.metrics,
      logger,
    });
    const metrics = this.metrics;
    this.tracker = new ReceiptTracker({
      ackTimeoutMs: config.ackTimeoutMs,
      acked: () => metrics.acks++,
      userOf: (socket) => (socket.data as Partial<SocketData>).userId,
      emit: (from, receipt) => this.dispatcher.emitReceipt(from, receipt),
    });
    this.dispatcher.useTracker(this.tracker);
    // The memory engine has no adapter: one process, one node, the partition path does it all.
    // TODO(merge): the server branch builds it with server/socket-adapter.ts.
    const adapter = config.router === "adapter" ? socketAdapterShim(engine) : undefined;
    if (adapter) {
      const fanout = new AdapterFanout({
        io: this.io,
        adapter,
        nodeId: this.nodeId,
        ackTimeoutMs: config.ackTimeoutMs,
        dispatcher: this.dispatcher,
        presence: engine.presence,
        logger,
      });
      this.dispatcher.routeReceiptsWith((from, receipt) =>
        fanout.everywhere({ v: 1, kind: "push", event: "receipt", to: [from], data: receipt }),
      );
      this.fanout = fanout;
    }
    this.watcher = new NodeWatcher({
      nodeId: this.nodeId,
      router: config.router,
      owners: this.nodeView.router,
      index: this.index,
      presence: engine.presence,
      publishOffline: (userId) => this.publishPresence(userId, false),
      notifyMembership: (nodeId) => engine.bus.publish(topics.membership, nodeId),
      refresh: () => this.nodeView.refresh(),
      restorePresence: () => this.restorePresence(),
      logger,
    });
    this.nodeView.onChange((nodes) => this.watcher.onChange(nodes));
    const flushQueue = new FlushQueue();
    this.host = {
      mailboxMax: config.mailboxMax,
      closeGraceMs: CLOSE_GRACE_MS,
      delivered: (count) => {
        metrics.deliveries += count;
      },
      encodeKicked: (reason) => encodePush(this.io, "kicked", { reason }),
      kicked: (reason) => metrics.kicked(reason),
      overflowed: (actor) => {
        metrics.mailboxOverflows.inc();
        logger.warn({ userId: actor.userId, connId: actor.connId }, "mailbox overflow");
      },
      transitioned: (actor, from) => this.transitioned(actor, from),
      schedule: (actor) => flushQueue.add(actor),
    };
    this.io.use((socket, next) => {
      this.admit(socket).then(
        (refusal) => next(refusal ? new Error(refusal) : undefined),
        (err: unknown) => {
          logger.error({ err }, "handshake failed");
          next(new Error("unavailable"));
        },
      );
    });
    this.io.on("connection", (socket) => {
      const actor = this.index.byConnId(socket.id);
      if (!actor) {
        socket.disconnect(true); // released between the middleware and now
        return;
      }
      actor.goOnline();
      // For other emitters on the adapter (e.g. @socket.io/redis-emitter): io.to("u:<id>").
      if (this.fanout) void socket.join(`u:${actor.userId}`);
      this.watcher.admitted(actor);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(this.config.imPort, this.config.host, () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    this.port = (this.http.address() as AddressInfo).port;
    const local = `http://${this.config.host}:${this.port}`;
    this.url = this.config.imPort === 0 ? local : (this.config.imPublicUrl ?? local);

    // Entries left by a previous run of this node id: those users are not connected any more.
    for (const userId of await this.engine.presence.clearNode(this.nodeId))
      await this.publishPresence(userId, false);
    const fanout = this.fanout;
    await fanout?.start();
    this.unsubscribe = await this.engine.bus.subscribe(
      topics.node(this.nodeId),
      fanout ? (raw) => fanout.handle(raw) : (raw) => this.dispatcher.handle(raw),
    );
    await this.nodeView.start();
    await this.engine.membership.register(this.info(), MEMBERSHIP_TTL_MS);
    await this.nodeView.refresh();
    this.heartbeat = setInterval(() => {
      this.engine.membership.heartbeat(this.info(), MEMBERSHIP_TTL_MS).catch((err: unknown) => {
        this.logger.warn({ err }, "membership heartbeat failed");
      });
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    this.tracker.start();
    this.phase = "ready";
    this.logger.info({ nodeId: this.nodeId, url: this.url }, "imServer ready");
  }

  drain(): Promise<void> {
    return this.stop(true);
  }

  close(): Promise<void> {
    return this.stop(false);
  }

  private info(): NodeInfo {
    return { nodeId: this.nodeId, url: this.url };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (req.method === "GET" && path === "/health") {
      const ready = this.phase === "ready";
      const status = ready ? "ok" : this.phase === "starting" ? "starting" : "draining";
      res.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status, nodeId: this.nodeId }));
      return;
    }
    if (req.method === "GET" && path === "/metrics") {
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": this.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          this.logger.error({ err }, "metrics failed");
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { code: "internal", message: "metrics failed" } }));
        },
      );
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "not_found", message: "no such resource" } }));
  }

  /**
   * The handshake: spends the token, then registers the connection before socket.io sends
   * CONNECT, so that by the client's `connect` the user shows online and every push accepted
   * after that reaches this actor (queued until "connection").
   */
  private async admit(socket: Socket): Promise<Refusal | null> {
    if (this.phase !== "ready") return "unavailable";
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    const token = auth?.token;
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH)
      return "token_invalid";
    const taken = await this.engine.tokens.take(token);
    if (taken.status === "invalid") return "token_invalid";
    if (taken.status === "expired") return "token_expired";
    const { userId, sessionId, nodeId } = taken.grant;
    if (nodeId !== this.nodeId) return "wrong_node";
    // Gone while the token was taken, or the node began to drain: socket.io drops it.
    if (socket.conn.readyState !== "open" || this.phase !== "ready") return "unavailable";

    const data: SocketData = { userId, sessionId };
    socket.data = data;
    const actor = new ConnectionActor(socket, userId, sessionId, this.host);
    this.index.add(actor);
    this.openTransports++;
    socket.use(this.dropClientEvent);
    socket.on("disconnect", () => this.release(actor));
    // socket.io never emits "connection" (nor "disconnect") for a client that leaves before
    // the middleware ends: the transport's close is the one signal that always comes.
    socket.conn.once("close", () => {
      this.release(actor);
      if (--this.openTransports === 0) this.transportsClosed?.();
    });

    const registration = this.register(actor);
    this.registrations.set(actor, registration);
    this.track(registration);
    try {
      await registration;
    } catch {
      this.release(actor); // the engine is unreachable (logged by track): refuse, keep nothing
      return "unavailable";
    }
    if (actor.state !== "authenticating") return "unavailable"; // gone or kicked meanwhile
    this.logger.debug({ userId, connId: actor.connId }, "connected");
    return null;
  }

  /** presence.add, and the online event if this is the user's first connection. */
  private async register(actor: ConnectionActor): Promise<void> {
    const first = await this.engine.presence.add(actor.userId, this.nodeId, actor.connId);
    if (first) await this.publishPresence(actor.userId, true);
  }

  /**
   * Back in the live set after our own entry lapsed: survivors may have cleared our presence
   * entries, so every connection is registered again (after, and awaited like, its first one).
   */
  private restorePresence(): void {
    this.logger.warn({ nodeId: this.nodeId }, "membership had lapsed: writing presence again");
    for (const actor of this.index.all()) {
      if (!actor.accepting) continue;
      const previous = this.registrations.get(actor);
      const again = (async () => {
        await previous?.catch(() => undefined);
        if (actor.accepting) await this.register(actor);
      })();
      this.registrations.set(actor, again);
      this.track(again);
    }
  }

  /** The actor's connection is gone: out of the index, out of presence (after its add). */
  private release(actor: ConnectionActor): void {
    if (!actor.gone()) return;
    this.index.remove(actor);
    this.logger.debug(
      { userId: actor.userId, connId: actor.connId, reason: actor.reason },
      "disconnected",
    );
    const registration = this.registrations.get(actor);
    this.track(
      (async () => {
        await registration?.catch(() => undefined);
        const last = await this.engine.presence.remove(actor.userId, this.nodeId, actor.connId);
        if (last) await this.publishPresence(actor.userId, false);
      })(),
    );
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((err: unknown) => {
      this.logger.warn({ err }, "presence update failed");
    });
    this.presenceWork.add(tracked);
    void tracked.finally(() => this.presenceWork.delete(tracked));
  }

  private async publishPresence(userId: UserId, online: boolean): Promise<void> {
    const event: PresenceEvent = {
      v: 1,
      kind: "presence",
      userId,
      online,
      nodeId: this.nodeId,
      ts: Date.now(),
    };
    await this.engine.bus.publish(topics.events, encode(event));
  }

  private transitioned(actor: ConnectionActor, from: ActorState): void {
    if (actor.state === "closing") {
      this.metrics.closed(actor.reason!);
      this.logger.info(
        { userId: actor.userId, connId: actor.connId, from, reason: actor.reason },
        "closing connection",
      );
    } else if (actor.state === "closed" && from !== "closing") {
      this.metrics.closed("client_gone");
    }
  }

  /**
   * Clients emit nothing but acks: every event is counted and dropped. A socket middleware
   * rather than onAny, because it also ends the dispatch (never calling next), so no event name
   * a client picks (e.g. "error") reaches the socket's own listeners.
   */
  private readonly dropClientEvent = (event: unknown[]): void => {
    this.metrics.droppedClientFrames++;
    this.clientFrameWarn.warn({
      event: typeof event[0] === "string" ? event[0].slice(0, 64) : null,
    });
  };

  private stop(kick: boolean): Promise<void> {
    this.stopping ??= this.shutdown(kick);
    return this.stopping;
  }

  private async shutdown(kick: boolean): Promise<void> {
    this.phase = "draining";
    this.logger.info({ nodeId: this.nodeId, kick }, "imServer draining");
    this.watcher.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    await this.quietly("deregister", this.engine.membership.deregister(this.nodeId));
    if (this.unsubscribe) await this.quietly("unsubscribe", this.unsubscribe());
    this.unsubscribe = null;

    const reason: KickReason = "shutdown";
    const actors = [...this.index.all()];
    const kicked =
      kick && actors.length > 0 ? encodePush(this.io, "kicked", { reason }) : undefined;
    for (const actor of actors) {
      if (kicked) actor.kick(reason, kicked);
      else actor.close(reason);
    }
    if (kick) await this.transportsDown(CLOSE_GRACE_MS + 500);

    this.tracker.stop();
    this.fanout?.stop();
    await this.nodeView.stop();
    await this.io.close();
    this.http.closeAllConnections();
    if (this.fanout) await this.quietly("adapter close", this.fanout.close());
    await Promise.allSettled([...this.presenceWork]);
    const left = await this.engine.presence.clearNode(this.nodeId).catch((err: unknown) => {
      this.logger.warn({ err }, "presence not cleared");
      return [] as UserId[];
    });
    for (const userId of left)
      await this.quietly("presence event", this.publishPresence(userId, false));
    this.phase = "stopped";
    this.logger.info({ nodeId: this.nodeId }, "imServer stopped");
  }

  /** Resolves when every actor's transport has closed, or after `ms`. */
  private transportsDown(ms: number): Promise<void> {
    if (this.openTransports === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.transportsClosed = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.transportsClosed = done;
    });
  }

  private async quietly(what: string, work: Promise<unknown>): Promise<void> {
    try {
      await work;
    } catch (err) {
      this.logger.warn({ err }, `${what} failed`);
    }
  }
}
