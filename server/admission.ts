// The handshake and what follows a connection to its end: the token middleware (the contract's
// connect_error codes), the actor and its registration in the index and in presence before
// socket.io sends CONNECT, and its release when the connection goes.
import type { Server, Socket } from "socket.io";
import type { Logger } from "../config/logger.js";
import type { ConnectErrorCode, UserId } from "../engine/protocol.js";
import type { Tokens } from "../engine/types.js";
import { ConnectionActor, type ActorHost } from "./connection-actor.js";
import type { ConnectionIndex } from "./connection-index.js";
import type { ImMetrics } from "./metrics.js";
import type { PresenceRecorder } from "./presence-recorder.js";
import type { RoutingMode } from "./routing-mode.js";
import { perEmitter } from "./emitter-listener.js";
import { awaitsAck } from "./socket-internals.js";
import { ThrottledWarn } from "./throttled-warn.js";
import { TransportGuard, type Transport } from "./transport-guard.js";

/** socket.io's ACK packet: "3", then its id (a namespace other than "/" is never joined). */
const ACK_ID = /^3(\d{1,15})/;

/** Longer than any token (base64url of 256 bits is 43 characters): refused without a lookup. */
const MAX_TOKEN_LENGTH = 256;

/** A refused handshake: the contract's codes, or `unavailable` while the node cannot admit. */
type Refusal = ConnectErrorCode | "unavailable";

/** What the node knows of each socket, for socket.io's `socket.data` (plain data only). */
export interface SocketData {
  userId: UserId;
  sessionId: string;
}

export function userOf(socket: Socket): UserId | undefined {
  return (socket.data as Partial<SocketData>).userId;
}

export interface AdmissionDeps {
  readonly nodeId: string;
  readonly tokens: Pick<Tokens, "take">;
  /** True while the node admits connections (ready, not draining). */
  ready(): boolean;
  readonly host: ActorHost;
  readonly index: ConnectionIndex;
  readonly presence: PresenceRecorder;
  readonly maxConnectionsPerUser: number;
  readonly routing: Pick<RoutingMode, "admitted">;
  readonly metrics: ImMetrics;
  readonly logger: Logger;
  /** Called before the actor is built, on every handshake (checks socket.io's internals). */
  inspect(socket: Socket): void;
}

export class Admission {
  /** Each actor whose transport has not closed yet, by that transport. */
  private readonly transports = new Map<Transport, ConnectionActor>();
  /** Who waits for the last transport to close. */
  private transportsClosed: (() => void) | null = null;
  private readonly clientFrameWarn: ThrottledWarn;

  /** Every connection's first listener; it hands on what it lets through. */
  private readonly guard: TransportGuard;

  constructor(private readonly deps: AdmissionDeps) {
    this.clientFrameWarn = new ThrottledWarn(deps.logger, "dropped events emitted by clients");
    this.guard = new TransportGuard(deps.metrics, {
      frame: (conn, data) => {
        const actor = this.transports.get(conn);
        if (actor) this.countStray(actor.socket, data);
      },
      // socket.io never emits "connection" (nor "disconnect") for a client that leaves before
      // the middleware ends: the transport's close is the one signal that always comes.
      closed: (conn) => {
        const actor = this.transports.get(conn);
        if (!actor) return;
        this.transports.delete(conn);
        this.release(actor);
        if (this.transports.size === 0) this.transportsClosed?.();
      },
    });
  }

  /** Installs the transport guard, the token middleware and the "connection" handler on `io`. */
  attach(io: Server): void {
    this.guard.attach(io);
    io.use((socket, next) => {
      this.admit(socket).then(
        (refusal) => next(refusal ? new Error(refusal) : undefined),
        (err: unknown) => {
          this.deps.logger.error({ err }, "handshake failed");
          next(new Error("unavailable"));
        },
      );
    });
    io.on("connection", (socket) => {
      this.guard.admitted(socket.conn);
      const actor = this.deps.index.byConnId(socket.id);
      if (!actor) {
        socket.disconnect(true); // released between the middleware and now
        return;
      }
      actor.goOnline();
      this.deps.routing.admitted(actor);
    });
  }

  /** Resolves when every actor's transport has closed, or after `ms`. */
  transportsDown(ms: number): Promise<void> {
    if (this.transports.size === 0) return Promise.resolve();
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

  /**
   * Spends the token, then registers the connection before socket.io sends CONNECT, so that
   * by the client's `connect` the user shows online and every push accepted after that reaches
   * this actor (queued until "connection").
   */
  private async admit(socket: Socket): Promise<Refusal | null> {
    const { deps } = this;
    if (!deps.ready()) return "unavailable";
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    const token = auth?.token;
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH)
      return "token_invalid";
    const taken = await deps.tokens.take(token);
    if (taken.status === "invalid") return "token_invalid";
    if (taken.status === "expired") return "token_expired";
    const { userId, sessionId, nodeId } = taken.grant;
    if (nodeId !== deps.nodeId) return "wrong_node";
    // Gone while the token was taken, or the node began to drain: socket.io drops it.
    if (socket.conn.readyState !== "open" || !deps.ready()) return "unavailable";

    const data: SocketData = { userId, sessionId };
    socket.data = data;
    deps.inspect(socket);
    const actor = new ConnectionActor(socket, userId, sessionId, deps.host);
    deps.index.add(actor);
    this.transports.set(socket.conn, actor);
    socket.use(this.dropClientEvent);
    // Listeners shared by every connection, as the guard's are: an idle connection's memory is
    // mostly such objects, one closure per connection each.
    socket.on("error", this.onMalformedFrame);
    socket.on("disconnect", this.onDisconnect);

    // Counted as this one goes in, so of concurrent connects of one user only the first pass.
    let count: number;
    try {
      count = await deps.presence.add(actor);
    } catch {
      this.release(actor); // the engine is unreachable (logged by the recorder): refuse
      return "unavailable";
    }
    if (actor.state !== "authenticating") return "unavailable"; // gone or kicked meanwhile
    if (count > deps.maxConnectionsPerUser) {
      this.release(actor);
      deps.metrics.refusals.inc({ reason: "too_many_connections" });
      return "too_many_connections";
    }
    deps.logger.debug({ userId, connId: actor.connId }, "connected");
    return null;
  }

  /** The actor's connection is gone: out of the index, out of presence (after its add). */
  private release(actor: ConnectionActor): void {
    if (!actor.gone()) return;
    this.deps.index.remove(actor);
    this.deps.logger.debug(
      { userId: actor.userId, connId: actor.connId, reason: actor.reason },
      "disconnected",
    );
    this.deps.presence.remove(actor);
  }

  /**
   * Counts what socket.io would drop silently: an ack for an id this socket does not wait for,
   * and packets a client has no business sending once connected (CONNECT again, CONNECT_ERROR,
   * an unknown type). Events are counted by dropClientEvent, binary frames by the transport
   * guard; DISCONNECT is a client leaving.
   */
  private countStray(socket: Socket, frame: string): void {
    switch (frame[0]) {
      case "1":
      case "2":
      case "5":
      case "6":
        return;
      case "3": {
        const id = ACK_ID.exec(frame)?.[1];
        if (id !== undefined && awaitsAck(socket, Number(id))) return;
        break;
      }
    }
    this.deps.metrics.droppedClientFrames++;
  }

  private readonly onDisconnect = perEmitter((socket: Socket) => {
    const actor = this.deps.index.byConnId(socket.id);
    if (actor) this.release(actor);
  });

  /** A frame that does not decode: socket.io closes the connection and reports it here (with no
   * listener, its "error" event would throw). */
  private readonly onMalformedFrame = (): void => {
    this.deps.metrics.refusals.inc({ reason: "malformed_frame" });
  };

  /**
   * Clients emit nothing but acks: every event is counted and dropped. A socket middleware
   * rather than onAny, because it also ends the dispatch (never calling next), so no event name
   * a client picks (e.g. "error") reaches the socket's own listeners.
   */
  private readonly dropClientEvent = (event: unknown[]): void => {
    this.deps.metrics.droppedClientFrames++;
    this.clientFrameWarn.warn({
      event: typeof event[0] === "string" ? event[0].slice(0, 64) : null,
    });
  };
}
