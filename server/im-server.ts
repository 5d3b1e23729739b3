// An imServer node: one HTTP server answering /health and /metrics (config/ops.ts), socket.io
// attached to it (websocket only, namespace "/" only), and the node's lifecycle: start, the
// membership heartbeat, drain and shutdown. What it is made of, each in its own module:
// admission (handshake → actor → release), presence recording, the routing mode (commands in,
// receipts out), the connection actors and the socket writer.
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { Server, type Socket } from "socket.io";
import type { Config } from "../config/index.js";
import type { Logger } from "../config/logger.js";
import { engineProbe, serveOps } from "../config/ops.js";
import { NodeView } from "../engine/node-view.js";
import type { Engine } from "../engine/types.js";
import { topics } from "../engine/wire.js";
import { Admission, userOf } from "./admission.js";
import { FlushQueue, type ActorHost } from "./connection-actor.js";
import { ConnectionIndex } from "./connection-index.js";
import { Heartbeat } from "./heartbeat.js";
import { ImMetrics } from "./metrics.js";
import { NodeWatcher } from "./node-watcher.js";
import { PresenceRecorder } from "./presence-recorder.js";
import { createRoutingMode, type RoutingMode } from "./routing-mode.js";
import {
  batchEngineWrites,
  internalsWriter,
  missingInternal,
  missingServerInternal,
  publicWriter,
  type SocketWriter,
} from "./socket-internals.js";
import { HANDSHAKE_TIMEOUT_MS, MAX_FRAME_BYTES } from "./transport-guard.js";

export interface ImServerOptions {
  config: Config;
  engine: Engine;
  logger: Logger;
  /**
   * Checks socket.io's per-socket internals on each handshake: what is missing, or null
   * (default: socket-internals.ts's missingInternal; tests force a failure here).
   */
  checkInternals?: (socket: Socket) => string | null;
}

export interface ImServer {
  nodeId: string;
  url: string;
  port: number;
  /** The socket.io path clients connect to: "/socket.io". */
  path: string;
  io: Server;
  /** This node's own metrics registry (not prom-client's global one). */
  registry: Registry;
  /** SIGTERM: /health → 503, stop accepting, kicked{reason:"shutdown"} to all, close, deregister. */
  drain(): Promise<void>;
  /** The same without kicked messages (tests). */
  close(): Promise<void>;
}

const PATH = "/socket.io";
/** How long a closing connection may take to flush its last packets before it is dropped. */
const CLOSE_GRACE_MS = 3_000;

type Phase = "starting" | "ready" | "draining" | "stopped";

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
  readonly registry: Registry;

  private phase: Phase = "starting";
  private readonly http: HttpServer;
  private readonly index = new ConnectionIndex();
  private readonly metrics: ImMetrics;
  private readonly nodeView: NodeView;
  private readonly host: ActorHost & { writer: SocketWriter };
  private readonly presence: PresenceRecorder;
  private readonly routing: RoutingMode;
  private readonly admission: Admission;
  private readonly watcher: NodeWatcher;
  private readonly heartbeat: Heartbeat;
  private stopping: Promise<void> | null = null;
  /** Undoes the engine-wide write batching (internals writer only). */
  private readonly unbatchWrites: () => void;

  constructor(private readonly options: ImServerOptions) {
    const { config, engine, logger } = options;
    this.nodeId = config.nodeId;
    const metrics = (this.metrics = new ImMetrics(() => this.index.size));
    this.registry = metrics.registry;
    const engineUp = engineProbe(engine);
    this.http = createServer(
      serveOps(
        {
          registry: this.registry,
          identity: { nodeId: this.nodeId },
          metricsToken: config.metricsToken,
          // While Redis is unreachable the node can neither admit nor push: a balancer should know.
          unready: async () =>
            this.phase !== "ready" ? this.phase : (await engineUp()) ? null : "engine unreachable",
        },
        logger,
      ),
    );
    this.io = new Server(this.http, {
      path: PATH,
      transports: ["websocket"],
      serveClient: false,
      perMessageDeflate: false, // frames are precomputed once per push (socket-internals.ts)
      httpCompression: false,
      allowEIO3: false,
      maxHttpBufferSize: MAX_FRAME_BYTES,
      // The handshake deadline is the transport guard's (counted); this is only socket.io's own.
      connectTimeout: HANDSHAKE_TIMEOUT_MS * 2,
    });
    const flushQueue = new FlushQueue();
    this.unbatchWrites = batchEngineWrites(this.io);
    this.host = {
      mailboxMax: config.mailboxMax,
      mailboxMaxBytes: config.mailboxMaxBytes,
      closeGraceMs: CLOSE_GRACE_MS,
      writer: internalsWriter(this.io),
      delivered: (count) => {
        metrics.deliveries += count;
      },
      encodeKicked: (reason) => this.host.writer.encode("kicked", { reason }),
      kicked: (reason) => metrics.kicked(reason),
      overflowed: (actor) => {
        metrics.mailboxOverflows.inc();
        logger.warn({ userId: actor.userId, connId: actor.connId }, "mailbox overflow");
      },
      transitioned: (actor, from) => {
        if (actor.state === "closing") {
          metrics.closed(actor.reason!);
          logger.info(
            { userId: actor.userId, connId: actor.connId, from, reason: actor.reason },
            "closing connection",
          );
        } else if (actor.state === "closed" && from !== "closing") {
          metrics.closed("client_gone");
        }
      },
      schedule: (actor) => flushQueue.add(actor),
    };
    this.nodeView = new NodeView(engine);
    this.presence = new PresenceRecorder(this.nodeId, engine, logger);
    this.routing = createRoutingMode(config, {
      nodeId: this.nodeId,
      io: this.io,
      bus: engine.bus,
      presence: engine.presence,
      owners: this.nodeView.router,
      refresh: () => this.nodeView.refresh(),
      host: this.host,
      index: this.index,
      metrics,
      logger,
      ackTimeoutMs: config.ackTimeoutMs,
      userOf,
    });
    this.admission = new Admission({
      nodeId: this.nodeId,
      tokens: engine.tokens,
      ready: () => this.phase === "ready",
      host: this.host,
      index: this.index,
      presence: this.presence,
      maxConnectionsPerUser: config.maxConnectionsPerUser,
      routing: this.routing,
      metrics,
      logger,
      inspect: (socket) => {
        if (this.host.writer.mode !== "internals") return;
        const missing = (options.checkInternals ?? missingInternal)(socket);
        if (missing) this.fallBack(missing);
      },
    });
    this.admission.attach(this.io);
    this.watcher = new NodeWatcher({
      nodeId: this.nodeId,
      presence: engine.presence,
      publishOffline: (userId) => this.presence.publish(userId, false),
      notifyMembership: (nodeId) => engine.bus.publish(topics.membership, nodeId),
      logger,
    });
    this.nodeView.onChange((nodes) => {
      this.watcher.onChange(nodes);
      this.routing.membershipChanged(nodes);
    });
    this.heartbeat = new Heartbeat(engine.membership, logger, () =>
      this.presence.rewrite(this.index.all()),
    );
  }

  async start(): Promise<void> {
    const { config } = this.options;
    const missing = missingServerInternal(this.io);
    if (missing) this.fallBack(missing);
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(config.imPort, config.host, () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    this.port = (this.http.address() as AddressInfo).port;
    const local = `http://${config.host}:${this.port}`;
    this.url = config.imPort === 0 ? local : (config.imPublicUrl ?? local);

    // What a previous run of this node id left: its membership entry (it may not have lapsed
    // yet, and presence of a live node is never cleared), then its presence entries.
    await this.options.engine.membership.deregister(this.nodeId);
    await this.presence.clearOwn();
    await this.routing.start();
    await this.nodeView.start();
    await this.heartbeat.start({ nodeId: this.nodeId, url: this.url });
    await this.nodeView.refresh();
    this.phase = "ready";
    this.options.logger.info({ nodeId: this.nodeId, url: this.url }, "imServer ready");
  }

  drain(): Promise<void> {
    return this.stop(true);
  }

  close(): Promise<void> {
    return this.stop(false);
  }

  /** socket.io's internals are not what socket-internals.ts expects: its public emit from now. */
  private fallBack(missing: string): void {
    this.host.writer = publicWriter(this.options.config.ackTimeoutMs);
    this.unbatchWrites();
    this.metrics.fallbackWritePath.set(1);
    this.options.logger.error(
      { missing },
      "socket.io internals changed: pushes go through socket.io's public emit (slower, no back-pressure)",
    );
  }

  private stop(kick: boolean): Promise<void> {
    this.stopping ??= this.shutdown(kick);
    return this.stopping;
  }

  private async shutdown(kick: boolean): Promise<void> {
    this.phase = "draining";
    this.options.logger.info({ nodeId: this.nodeId, kick }, "imServer draining");
    this.watcher.stop();
    await this.quietly("deregister", this.heartbeat.stop(this.nodeId));
    await this.quietly("unsubscribe", this.routing.stop());

    const actors = [...this.index.all()];
    const kicked =
      kick && actors.length > 0 ? this.host.writer.encode("kicked", { reason: "shutdown" }) : null;
    for (const actor of actors) {
      if (kicked) actor.kick("shutdown", kicked);
      else actor.close("shutdown");
    }
    if (kick) await this.admission.transportsDown(CLOSE_GRACE_MS + 500);

    this.routing.settlePending();
    await this.nodeView.stop();
    await this.io.close();
    this.http.closeAllConnections();
    await this.quietly("routing close", this.routing.close());
    await this.presence.settled();
    await this.quietly("presence clear", this.presence.clearOwn());
    this.phase = "stopped";
    this.options.logger.info({ nodeId: this.nodeId }, "imServer stopped");
  }

  private async quietly(what: string, work: Promise<unknown>): Promise<void> {
    try {
      await work;
    } catch (err) {
      this.options.logger.warn({ err }, `${what} failed`);
    }
  }
}
