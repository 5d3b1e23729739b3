// Herald's client SDK for browsers and Node: the HTTP API as typed methods, and a connection that
// keeps the app's promise (README, "The client SDK's promise"): every stored message reaches
// the app once, in seq order per conversation, across drops, restarts and lost pushes.
import type {
  BroadcastPush,
  KickedPush,
  MessagePush,
  PresencePush,
  ReceiptPush,
  UserId,
} from "../engine/protocol.js";
import { DEFAULT_MAX_DELAY_MS, DEFAULT_MIN_DELAY_MS, backoffDelay } from "./backoff.js";
import {
  Connection,
  type ConnectGrant,
  type ConnectionStatus,
  type SocketFactory,
} from "./connection.js";
import { ConversationStreams } from "./conversation-stream.js";
import { TypedEmitter } from "./emitter.js";
import { HeraldError, HttpClient, type FetchLike } from "./http.js";

export { HeraldError } from "./http.js";
export type { ConnectionStatus, ConnectGrant, SocketFactory } from "./connection.js";
export type {
  BroadcastPush,
  KickedPush,
  KickReason,
  MessagePush,
  PresencePush,
  ReceiptPush,
  ReceiptStatus,
  UserId,
} from "../engine/protocol.js";

export interface HeraldClientOptions {
  /** The business service, e.g. "http://127.0.0.1:5555". */
  baseUrl: string;
  /** A session token kept from an earlier login. */
  token?: string;
  /** Defaults to the global fetch. */
  fetch?: FetchLike;
  /**
   * Opens each socket; defaults to socket.io-client's `io`. A wrapper may watch the raw socket
   * (e.g. `onAny`) to see pushes as the server sent them, before the SDK drops repeats.
   */
  io?: SocketFactory;
  /** Last seq the app already has per conversation (from an earlier `cursors()`). */
  cursors?: Record<string, number>;
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** How long a seq gap may wait for the missing push before history is fetched (ms). */
  gapGraceMs?: number;
}

export interface User {
  userId: UserId;
  username: string;
}

export interface LoginResult extends User {
  token: string;
}

export interface FriendLists {
  friends: (User & { online: boolean })[];
  incoming: User[];
  outgoing: User[];
}

export interface SendResult {
  id: string;
  seq: number;
  ts: number;
}

export interface ChannelSummary {
  name: string;
  members: number;
  online: number;
}

export interface ChannelDetail {
  name: string;
  members: UserId[];
  online: number;
}

/** A conversation from the caller's point of view. */
export type ConversationRef =
  { kind: "direct"; peer: UserId } | { kind: "channel"; channel: string };

export type ConversationSummary = ConversationRef & { lastSeq: number; lastTs: number };

export interface HeraldEvents {
  /** Stored messages once each, in seq order per conversation; broadcasts as they come. */
  message: (message: MessagePush | BroadcastPush) => void;
  receipt: (receipt: ReceiptPush) => void;
  presence: (presence: PresencePush) => void;
  kicked: (kicked: KickedPush) => void;
  status: (status: ConnectionStatus) => void;
  /** The connection stopped for good on an error (e.g. 401 `unauthorized`: the session is gone). */
  error: (error: HeraldError) => void;
}

/** The key of a conversation in `cursors()`: `d:<peerId>` or `c:<channel>`. */
export function cursorKey(ref: ConversationRef): string {
  return ref.kind === "direct" ? `d:${ref.peer}` : `c:${ref.channel}`;
}

/** Which conversation a stored message belongs to, seen by `me`; null if it names no peer. */
export function conversationOf(message: MessagePush, me: UserId): ConversationRef | null {
  if (message.channel !== undefined) return { kind: "channel", channel: message.channel };
  const peer = message.from === me ? message.to : message.from;
  return peer === undefined ? null : { kind: "direct", peer };
}

/** Internal history reads retry a few times on 429/503/network before the fill gives up. */
const FETCH_ATTEMPTS = 3;
/** Conversations caught up at once after a reconnect, to stay far below the rate limit. */
const SYNC_CONCURRENCY = 4;
const PAGE_SIZE = 200;
/** POSTs whose repetition is harmless, so a request lost on a dead connection is sent again. */
const IDEMPOTENT = { idempotent: true };

export class HeraldClient {
  private readonly http: HttpClient;
  private readonly events = new TypedEmitter<HeraldEvents>();
  private readonly connection: Connection;
  private readonly reconnectOpts: { minDelayMs: number; maxDelayMs: number };
  private readonly gapGraceMs: number | undefined;
  private streams: ConversationStreams;
  private tokenValue: string | undefined;
  private userIdValue: UserId | undefined;
  private resyncTimer: ReturnType<typeof setTimeout> | null = null;
  private resyncFailures = 0;
  /** Set by a failed gap fill, so a sync that "succeeded" around it does not reset the backoff. */
  private fillFailed = false;

  constructor(opts: HeraldClientOptions) {
    this.tokenValue = opts.token;
    this.http = new HttpClient({
      baseUrl: opts.baseUrl,
      fetch: opts.fetch,
      token: () => this.tokenValue,
    });
    this.reconnectOpts = {
      minDelayMs: opts.reconnect?.minDelayMs ?? DEFAULT_MIN_DELAY_MS,
      maxDelayMs: opts.reconnect?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    };
    this.gapGraceMs = opts.gapGraceMs;
    this.streams = this.newStreams(opts.cursors);
    this.connection = new Connection(
      {
        grant: (failed) => this.prepareAttempt(failed),
        connected: () => this.syncAfterConnect(),
        message: (push) => this.onMessage(push),
        receipt: (push) => this.events.emit("receipt", push),
        presence: (push) => this.events.emit("presence", push),
        kicked: (push) => this.events.emit("kicked", push),
        status: (status) => this.onStatus(status),
        failed: (error) => this.events.emit("error", error),
      },
      { ...this.reconnectOpts, io: opts.io },
    );
  }

  get status(): ConnectionStatus {
    return this.connection.status;
  }

  /** Known after login(), me() or connect(). */
  get userId(): UserId | undefined {
    return this.userIdValue;
  }

  get token(): string | undefined {
    return this.tokenValue;
  }

  /** Last seq emitted per conversation (keys from cursorKey), for an app to persist. */
  cursors(): Record<string, number> {
    return this.streams.cursors();
  }

  on<K extends keyof HeraldEvents>(event: K, listener: HeraldEvents[K]): this {
    this.events.on(event, listener);
    return this;
  }

  off<K extends keyof HeraldEvents>(event: K, listener: HeraldEvents[K]): this {
    this.events.off(event, listener);
    return this;
  }

  // --- accounts and session ---

  register(username: string, password: string): Promise<User> {
    return this.http.request<User>("POST", "/api/register", { username, password });
  }

  /** Keeps the session token for every later call. Logging in as someone else starts afresh. */
  async login(username: string, password: string): Promise<LoginResult> {
    const result = await this.http.request<LoginResult>("POST", "/api/login", {
      username,
      password,
    });
    if (this.userIdValue !== undefined && this.userIdValue !== result.userId) {
      this.disconnect();
      this.streams.dispose();
      this.streams = this.newStreams();
    }
    this.tokenValue = result.token;
    this.userIdValue = result.userId;
    return result;
  }

  /** Ends the session on the server (its sockets are kicked) and forgets the token. */
  async logout(): Promise<void> {
    try {
      await this.http.request<undefined>("POST", "/api/logout", undefined, undefined, IDEMPOTENT);
    } catch (err) {
      // A session that is already gone is logged out all the same.
      if (!(err instanceof HeraldError && err.status === 401)) throw err;
    } finally {
      this.disconnect();
      this.tokenValue = undefined;
    }
  }

  async me(): Promise<User> {
    const user = await this.http.request<User>("GET", "/api/me");
    this.userIdValue ??= user.userId;
    return user;
  }

  // --- friends and people ---

  friends(): Promise<FriendLists> {
    return this.http.request<FriendLists>("GET", "/api/friends");
  }

  async requestFriend(userId: UserId): Promise<"pending" | "friends"> {
    const r = await this.http.request<{ status: "pending" | "friends" }>(
      "POST",
      `/api/friends/${encodeURIComponent(userId)}`,
      undefined,
      undefined,
      IDEMPOTENT,
    );
    return r.status;
  }

  async removeFriend(userId: UserId): Promise<void> {
    await this.http.request<undefined>("DELETE", `/api/friends/${encodeURIComponent(userId)}`);
  }

  /** null when no user has that name. */
  async findUser(username: string): Promise<User | null> {
    try {
      return await this.http.request<User>("GET", "/api/users", undefined, { username });
    } catch (err) {
      if (err instanceof HeraldError && err.status === 404) return null;
      throw err;
    }
  }

  /** Online flags for the caller and their friends; other ids are left out. */
  async presence(ids: readonly UserId[]): Promise<Record<UserId, boolean>> {
    if (ids.length === 0) return {};
    return this.http.request<Record<UserId, boolean>>("GET", "/api/presence", undefined, {
      ids: ids.join(","),
    });
  }

  // --- messages ---

  /** Sends a direct message; it is also emitted as a "message" event, in its place in order. */
  async send(to: UserId, content: unknown, opts: { receipt?: boolean } = {}): Promise<SendResult> {
    const body: { to: UserId; content: unknown; receipt?: boolean } = { to, content };
    if (opts.receipt !== undefined) body.receipt = opts.receipt;
    const stored = roundTrip(content);
    const result = await this.http.request<SendResult>("POST", "/api/messages", body);
    const from = await this.ensureUserId();
    this.streams.accept(cursorKey({ kind: "direct", peer: to }), {
      id: result.id,
      seq: result.seq,
      from,
      to,
      content: stored,
      ts: result.ts,
    });
    return result;
  }

  /** Posts to a channel; it is also emitted as a "message" event, in its place in order. */
  async sendChannel(name: string, content: unknown): Promise<SendResult> {
    const stored = roundTrip(content);
    const result = await this.http.request<SendResult>(
      "POST",
      `/api/channels/${encodeURIComponent(name)}/messages`,
      { content },
    );
    const from = await this.ensureUserId();
    this.streams.accept(cursorKey({ kind: "channel", channel: name }), {
      id: result.id,
      seq: result.seq,
      from,
      channel: name,
      content: stored,
      ts: result.ts,
    });
    return result;
  }

  /** Stored messages after `after` (default 0), oldest first, at most `limit` (default 50). */
  async history(
    conversation: ConversationRef,
    opts: { after?: number; limit?: number } = {},
  ): Promise<MessagePush[]> {
    const r =
      conversation.kind === "direct"
        ? await this.http.request<{ messages: MessagePush[] }>("GET", "/api/messages", undefined, {
            peer: conversation.peer,
            after: opts.after,
            limit: opts.limit,
          })
        : await this.http.request<{ messages: MessagePush[] }>(
            "GET",
            `/api/channels/${encodeURIComponent(conversation.channel)}/messages`,
            undefined,
            { after: opts.after, limit: opts.limit },
          );
    return r.messages;
  }

  /** Direct conversations with a stored message and the caller's channels, newest first. */
  async conversations(): Promise<ConversationSummary[]> {
    const r = await this.http.request<{ conversations: ConversationSummary[] }>(
      "GET",
      "/api/conversations",
    );
    return r.conversations;
  }

  // --- channels ---

  async joinChannel(name: string): Promise<void> {
    const path = `/api/channels/${encodeURIComponent(name)}/join`;
    await this.http.request<unknown>("POST", path, undefined, undefined, IDEMPOTENT);
  }

  async leaveChannel(name: string): Promise<void> {
    const path = `/api/channels/${encodeURIComponent(name)}/leave`;
    await this.http.request<unknown>("POST", path, undefined, undefined, IDEMPOTENT);
  }

  async channels(): Promise<ChannelSummary[]> {
    const r = await this.http.request<{ channels: ChannelSummary[] }>("GET", "/api/channels");
    return r.channels;
  }

  channel(name: string): Promise<ChannelDetail> {
    return this.http.request<ChannelDetail>("GET", `/api/channels/${encodeURIComponent(name)}`);
  }

  // --- operators ---

  async broadcast(content: unknown): Promise<void> {
    await this.http.request<unknown>("POST", "/api/broadcast", { content });
  }

  async disconnectUser(userId: UserId): Promise<void> {
    const path = `/api/users/${encodeURIComponent(userId)}/disconnect`;
    await this.http.request<undefined>("POST", path, undefined, undefined, IDEMPOTENT);
  }

  // --- connection ---

  /**
   * Connects and keeps connected (reconnecting by itself) until disconnect(), logout or a kick
   * that ends the session. Resolves once connected and caught up with what was missed; rejects
   * if the session is gone (401) or disconnect() comes first.
   */
  connect(): Promise<void> {
    return this.connection.start();
  }

  disconnect(): void {
    this.cancelResync();
    this.connection.stop();
  }

  // --- internals ---

  private newStreams(cursors?: Record<string, number>): ConversationStreams {
    return new ConversationStreams({
      cursors,
      pageSize: PAGE_SIZE,
      gapGraceMs: this.gapGraceMs,
      fetchPage: (key, after, limit) => this.fetchPage(key, after, limit),
      emit: (_key, message) => this.events.emit("message", message),
      onFillError: () => {
        this.fillFailed = true;
        this.scheduleResync();
      },
      // A new peer's first messages are news; a channel joined later keeps its backlog in history.
      startsAtZero: (key) => key.startsWith("d:"),
    });
  }

  private async ensureUserId(): Promise<UserId> {
    if (this.userIdValue === undefined) await this.me();
    return this.userIdValue!;
  }

  /**
   * Runs before every socket attempt: the user id (for conversation keys), on the very first
   * attempt the baseline of what already exists, then a fresh single-use token (telling business
   * which node the last socket failed on, so it stops granting a dead one at once).
   */
  private async prepareAttempt(failed?: string): Promise<ConnectGrant> {
    await this.ensureUserId();
    if (!this.streams.isBaselined) {
      // Taken before the socket opens, so whatever is stored after it is emitted.
      const list = await this.conversations();
      this.streams.baseline(list.map((c) => ({ key: cursorKey(c), lastSeq: c.lastSeq })));
    }
    return this.http.request<ConnectGrant>(
      "POST",
      "/api/connect",
      failed === undefined ? undefined : { failed },
      undefined,
      IDEMPOTENT,
    );
  }

  /** After each (re)connect: catch up every conversation whose lastSeq is past its cursor. */
  private async syncAfterConnect(): Promise<void> {
    try {
      this.fillFailed = false;
      await this.syncAll();
      if (!this.fillFailed) this.resyncFailures = 0;
    } catch {
      this.scheduleResync();
    }
  }

  private async syncAll(): Promise<void> {
    const list = await this.conversations();
    const streams = this.streams;
    const queue = list.map((c) => () => streams.catchUp(cursorKey(c), c.lastSeq));
    const workers = Array.from({ length: Math.min(SYNC_CONCURRENCY, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    });
    await Promise.all(workers);
  }

  /** A sync or gap fill failed while connected: try again later, backing off. */
  private scheduleResync(): void {
    if (this.resyncTimer || this.connection.status !== "connected") return;
    const delay = backoffDelay(this.resyncFailures++, this.reconnectOpts);
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      if (this.connection.status === "connected") void this.syncAfterConnect();
    }, delay);
  }

  private cancelResync(): void {
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
  }

  private onStatus(status: ConnectionStatus): void {
    // A reconnect syncs anyway; a stale timer would only add a request.
    if (status !== "connected") this.cancelResync();
    this.events.emit("status", status);
  }

  private onMessage(push: MessagePush | BroadcastPush): void {
    if ("broadcast" in push && push.broadcast === true) {
      this.events.emit("message", push);
      return;
    }
    const message = push as MessagePush;
    const me = this.userIdValue;
    if (me === undefined || typeof message.seq !== "number" || typeof message.id !== "string") {
      return;
    }
    const ref = conversationOf(message, me);
    if (ref) this.streams.accept(cursorKey(ref), message);
  }

  /** One history page for a gap fill; null when the caller may no longer read it. */
  private async fetchPage(
    key: string,
    after: number,
    limit: number,
  ): Promise<MessagePush[] | null> {
    const ref: ConversationRef = key.startsWith("c:")
      ? { kind: "channel", channel: key.slice(2) }
      : { kind: "direct", peer: key.slice(2) };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.history(ref, { after, limit });
      } catch (err) {
        if (!(err instanceof HeraldError)) throw err;
        if (err.status === 403 || err.status === 404) return null;
        const transient = err.status === 0 || err.status === 429 || err.status >= 500;
        if (!transient || attempt >= FETCH_ATTEMPTS) throw err;
        const wait = Math.max(
          (err.retryAfter ?? 0) * 1000,
          backoffDelay(attempt - 1, this.reconnectOpts),
        );
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}

/** The content as the server stores and pushes it: its JSON round trip. */
function roundTrip(content: unknown): unknown {
  const json = JSON.stringify(content);
  return json === undefined ? undefined : (JSON.parse(json) as unknown);
}
