// The socket side of the SDK: a fresh single-use token for every attempt, one socket.io socket
// at a time, and the SDK's own reconnect loop (socket.io's cannot ask for a new token or URL).
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type {
  BroadcastPush,
  ConversationPush,
  FriendPush,
  InvitedPush,
  KickedPush,
  KickReason,
  PresencePush,
  ReadPush,
  ReceiptPush,
  RemovedPush,
  ServerToClientEvents,
  StreamItem,
  TypingPush,
} from "../engine/protocol.js";
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import { HeraldError } from "./http.js";

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "disconnected";

/** The answer of `POST /api/connect`. */
export interface ConnectGrant {
  url: string;
  path: string;
  token: string;
  nodeId: string;
  expiresIn: number;
}

export interface ConnectionHandlers {
  /**
   * Before each attempt: a fresh grant (and whatever must precede the first socket). `failed`:
   * the node the last socket failed on or closed from without a kick, for business to check.
   */
  grant(failed?: string): Promise<ConnectGrant>;
  /** The socket is registered; resolves when the catch-up after (re)connecting is done. */
  connected(): Promise<void>;
  message(push: StreamItem | BroadcastPush): void;
  receipt(push: ReceiptPush): void;
  presence(push: PresencePush): void;
  read(push: ReadPush): void;
  typing(push: TypingPush): void;
  friend(push: FriendPush): void;
  conversation(push: ConversationPush): void;
  invited(push: InvitedPush): void;
  removed(push: RemovedPush): void;
  kicked(push: KickedPush): void;
  status(status: ConnectionStatus): void;
  /** The loop stopped for good on an error no retry can fix (e.g. 401: the session is gone). */
  failed(error: HeraldError): void;
}

/** Opens one socket.io socket; socket.io-client's `io` by default. */
export type SocketFactory = (url: string, opts: Partial<ManagerOptions & SocketOptions>) => Socket;

export interface ConnectionOptions extends BackoffOptions {
  /** How long one socket may take to open before the attempt counts as failed. */
  connectTimeoutMs?: number;
  io?: SocketFactory;
}

/** Kicks after which reconnecting would be wrong: the user or an operator ended the session. */
const FINAL_KICKS: ReadonlySet<KickReason> = new Set<KickReason>(["logout", "force_offline"]);

type HeraldSocket = Socket<ServerToClientEvents, Record<string, never>>;

interface Waiter {
  resolve: () => void;
  reject: (err: HeraldError) => void;
}

export class Connection {
  private statusValue: ConnectionStatus = "disconnected";
  /** Bumped by every start and stop; a loop or socket of an older generation stands down. */
  private generation = 0;
  private socket: HeraldSocket | null = null;
  private waiters: Waiter[] = [];
  private wake: (() => void) | null = null;

  constructor(
    private readonly handlers: ConnectionHandlers,
    private readonly opts: ConnectionOptions = {},
  ) {}

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  /** Resolves once connected and caught up; rejects if the loop stops first. */
  start(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.statusValue === "connected") {
      this.settle();
    } else if (this.statusValue === "disconnected") {
      const gen = ++this.generation;
      this.setStatus("connecting");
      void this.run(gen);
    }
    return done;
  }

  /** Closes the socket and ends the loop; nothing reconnects until the next start. */
  stop(): void {
    this.generation++;
    this.closeSocket();
    this.wake?.();
    this.setStatus("disconnected");
    this.settle(new HeraldError(0, "disconnected", "disconnected before the connection opened"));
  }

  private async run(gen: number): Promise<void> {
    let failures = 0;
    let everConnected = false;
    let failedNode: string | undefined;
    while (gen === this.generation) {
      let waitAtLeastMs = 0;
      let grant: ConnectGrant | undefined;
      let kicked = false;
      try {
        grant = await this.handlers.grant(failedNode);
        failedNode = undefined;
        if (gen !== this.generation) return;
        let finalKick = false;
        const { socket, closed } = await this.open(grant, gen, (final) => {
          kicked = true;
          finalKick ||= final;
        });
        if (gen !== this.generation) {
          socket.disconnect();
          return;
        }
        failures = 0;
        everConnected = true;
        this.setStatus("connected");
        void this.handlers
          .connected()
          .catch(() => undefined)
          .then(() => {
            if (gen === this.generation) this.settle();
          });
        await closed;
        if (this.socket === socket) this.socket = null;
        if (gen !== this.generation) return;
        if (finalKick) {
          this.finish(gen);
          return;
        }
        // Closed without a word from the server: its node may be dead.
        if (!kicked) failedNode = grant.nodeId;
      } catch (err) {
        if (gen !== this.generation) return;
        if (err instanceof HeraldError && isFatal(err)) {
          this.finish(gen, err);
          return;
        }
        failures++;
        if (grant) failedNode = grant.nodeId; // its socket did not open
        if (err instanceof HeraldError && err.retryAfter) waitAtLeastMs = err.retryAfter * 1000;
      }
      this.setStatus(everConnected ? "reconnecting" : "connecting");
      await this.sleep(Math.max(waitAtLeastMs, backoffDelay(failures, this.opts)), gen);
    }
  }

  /** Opens one socket; rejects with the server's refusal code (token_expired, wrong_node, ...). */
  private open(
    grant: ConnectGrant,
    gen: number,
    onKick: (final: boolean) => void,
  ): Promise<{ socket: HeraldSocket; closed: Promise<void> }> {
    const socket: HeraldSocket = (this.opts.io ?? io)(grant.url, {
      path: grant.path,
      transports: ["websocket"],
      auth: { token: grant.token },
      reconnection: false,
      forceNew: true,
      timeout: this.opts.connectTimeoutMs ?? 10_000,
    });
    // Held from the start so that stop() also closes a socket that is still opening.
    this.socket = socket;
    const live = () => gen === this.generation;
    // Every push is acked once the SDK has taken it, even if a listener throws.
    socket.on("message", (push, ack) => acked(ack, () => live() && this.handlers.message(push)));
    socket.on("receipt", (push, ack) => acked(ack, () => live() && this.handlers.receipt(push)));
    socket.on("presence", (push, ack) => acked(ack, () => live() && this.handlers.presence(push)));
    socket.on("read", (push, ack) => acked(ack, () => live() && this.handlers.read(push)));
    socket.on("typing", (push, ack) => acked(ack, () => live() && this.handlers.typing(push)));
    socket.on("friend", (push, ack) => acked(ack, () => live() && this.handlers.friend(push)));
    socket.on("conversation", (push, ack) =>
      acked(ack, () => live() && this.handlers.conversation(push)),
    );
    socket.on("invited", (push, ack) => acked(ack, () => live() && this.handlers.invited(push)));
    socket.on("removed", (push, ack) => acked(ack, () => live() && this.handlers.removed(push)));
    socket.on("kicked", (push, ack) =>
      acked(ack, () => {
        if (!live()) return;
        this.handlers.kicked(push);
        onKick(FINAL_KICKS.has(push.reason));
        if (FINAL_KICKS.has(push.reason)) {
          // Do not wait for the server's close: nothing may reconnect this session.
          queueMicrotask(() => socket.disconnect());
        }
      }),
    );
    // Watched from the start, so not even a close right after `connect` goes unseen.
    const closed = new Promise<void>((resolve) => socket.once("disconnect", () => resolve()));
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        socket.off("connect_error", onError);
        socket.off("disconnect", onClose);
        resolve({ socket, closed });
      };
      const onError = (err: Error) => {
        socket.off("connect", onConnect);
        socket.off("disconnect", onClose);
        socket.disconnect();
        reject(
          new HeraldError(0, err.message || "connect_error", `socket refused: ${err.message}`),
        );
      };
      // Closed after the transport opened but before socket.io's CONNECT (the server dropped it
      // mid-handshake): socket.io emits only "disconnect", and the loop must still retry.
      const onClose = (reason: string) => {
        socket.off("connect", onConnect);
        socket.off("connect_error", onError);
        reject(new HeraldError(0, "connect_error", `socket closed before it opened: ${reason}`));
      };
      socket.once("connect", onConnect);
      socket.once("connect_error", onError);
      socket.once("disconnect", onClose);
    });
  }

  private finish(gen: number, error?: HeraldError): void {
    if (gen !== this.generation) return;
    this.generation++;
    this.setStatus("disconnected");
    if (error) this.handlers.failed(error);
    this.settle(error ?? new HeraldError(0, "kicked", "the session was ended by the server"));
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = null;
    socket?.disconnect();
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.statusValue) return;
    this.statusValue = status;
    this.handlers.status(status);
  }

  /** Resolves (no error) or rejects every pending start. */
  private settle(error?: HeraldError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  /** A wait that stop() cuts short. */
  private sleep(ms: number, gen: number): Promise<void> {
    if (gen !== this.generation) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/** 401: the session is gone; other 4xx but 408/429: a request no retry can fix. */
function isFatal(err: HeraldError): boolean {
  return (
    err.status === 401 ||
    (err.status >= 400 && err.status < 500 && ![408, 429].includes(err.status))
  );
}

function acked(ack: unknown, take: () => unknown): void {
  try {
    take();
  } finally {
    if (typeof ack === "function") (ack as () => void)();
  }
}
