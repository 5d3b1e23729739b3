// Herald's client SDK for browsers and Node: the HTTP API as typed methods, and a connection that
// keeps the app's promise (README, "The client SDK's promise"): every stored message reaches
// the app once, in seq order per conversation, across drops, restarts and lost pushes; then the
// edits, recalls and reactions of the messages it has, and its read figures, kept current.
import type {
  Attachment,
  BroadcastPush,
  ConversationPush,
  EditItem,
  FriendPush,
  InvitedPush,
  KickedPush,
  MessageItem,
  PresencePush,
  ReadPush,
  RecallItem,
  ReceiptPush,
  RemovedPush,
  StreamItem,
  TypingPush,
  UserId,
} from "../engine/protocol.js";
import { DEFAULT_MAX_DELAY_MS, DEFAULT_MIN_DELAY_MS, backoffDelay } from "./backoff.js";
import {
  Connection,
  type ConnectGrant,
  type ConnectionStatus,
  type SocketFactory,
} from "./connection.js";
import { ConversationStreams, type FoldedItem, type ReactionEvent } from "./conversation-stream.js";
import { TypedEmitter } from "./emitter.js";
import { HeraldError, HttpClient, type FetchLike } from "./http.js";
import { Outbox, newClientMsgId } from "./outbox.js";
import { ReadState, type ReadFigures } from "./read-state.js";

export { HeraldError } from "./http.js";
export { newClientMsgId } from "./outbox.js";
export type { ConnectionStatus, ConnectGrant, SocketFactory } from "./connection.js";
export type { ReactionEvent } from "./conversation-stream.js";
export type { ReadFigures } from "./read-state.js";
export type {
  Attachment,
  BroadcastPush,
  ConversationPush,
  EditItem,
  FriendPush,
  FriendStatus,
  InvitedPush,
  KickedPush,
  KickReason,
  MessageItem,
  MessagePush,
  PresencePush,
  ReactionCount,
  ReactionItem,
  ReadPush,
  RecallItem,
  ReceiptPush,
  ReceiptStatus,
  RemovedPush,
  StreamItem,
  TypingPush,
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
  /** Channels with owners ("" when none was given). */
  title?: string;
  visibility?: ChannelVisibility;
}

export interface ChannelDetail {
  name: string;
  members: UserId[];
  online: number;
}

/** A member's standing in a channel (CONTRACT.md "Channels with owners"). */
export type ChannelRole = NonNullable<ConversationPush["role"]>;
/** Why the caller left a channel against their will. */
export type RemovedReason = RemovedPush["reason"];

export type ChannelVisibility = "public" | "private";
/** `since_join`: a member sees only what was posted after they (last) joined. */
export type ChannelHistory = "all" | "since_join";

/** What `POST /api/channels` takes; only the name is required (public, all history). */
export interface NewChannel {
  name: string;
  visibility?: ChannelVisibility;
  title?: string;
  history?: ChannelHistory;
}

/** `GET /api/channels/:name`: the v1 detail with the channel's settings and the caller's role. */
export interface ChannelInfo extends ChannelDetail {
  /** "" when none was given. */
  title: string;
  visibility: ChannelVisibility;
  history: ChannelHistory;
  /** null once the last member left. */
  owner: UserId | null;
  /** null when the caller is not a member (a public channel they have not joined). */
  role: ChannelRole | null;
}

/** One member as `GET /api/channels/:name/members` lists them. */
export interface ChannelMember extends User {
  role: ChannelRole;
  /** While muted: when the mute ends (ms since the epoch). */
  mutedUntil?: number;
}

/** Which page of members: `after` is the `next` of the page before (default: the first). */
export interface MemberPageQuery {
  after?: number;
  /** 1–500, default 100. */
  limit?: number;
}

/** Members in join order; `next` is the `after` of the next page, null on the last. */
export interface MemberPage {
  members: ChannelMember[];
  next: number | null;
}

/** A conversation from the caller's point of view. */
export type ConversationRef =
  { kind: "direct"; peer: UserId } | { kind: "channel"; channel: string };

/** A conversation as `GET /api/conversations` lists it, with the caller's read figures. */
export type ConversationSummary = ConversationRef & {
  lastSeq: number;
  lastTs: number;
  readSeq: number;
  unread: number;
  mentions: number;
  /** Direct conversations: how far the peer has read. */
  peerReadSeq?: number;
};

export interface Readers {
  seq: number;
  /** Members whose read cursor is at or past `seq`. */
  count: number;
  /** At most 200 of them. */
  userIds: UserId[];
}

/** Options of a send; `clientMsgId` is generated when not given (give it to retry a send). */
export interface SendOptions {
  replyTo?: string;
  clientMsgId?: string;
  /** Files the caller uploaded (what `upload` resolved to), at most 10. */
  attachments?: Attachment[];
}

/** What `upload` resolves to (CONTRACT.md "Files"). */
export interface UploadedFile extends Attachment {
  sha256: string;
}

export interface UploadOptions {
  name: string;
  /** Default: the Blob's own type, else application/octet-stream. */
  contentType?: string;
  /** Bytes sent so far (in a browser, as they go; in Node, once at the end). */
  onProgress?: (sent: number, total: number) => void;
}

export interface FileLimits {
  maxBytes: number;
  maxAttachments: number;
}

/** A file's description with signed links valid for `expiresIn` seconds. */
export interface FileLink extends UploadedFile {
  url: string;
  expiresIn: number;
  /** Images only. */
  thumbnailUrl?: string;
  width?: number;
  height?: number;
}

/** A read cursor moved; `unread`/`mentions` are the caller's figures after it. */
export interface ReadEvent {
  conversation: ConversationRef;
  /** The caller (this device or another) or, in a DM, the peer: a read receipt. */
  userId: UserId;
  seq: number;
  ts: number;
  unread: number;
  mentions: number;
}

export interface TypingEvent {
  conversation: ConversationRef;
  from: UserId;
  ts: number;
}

export interface HeraldEvents {
  /** Stored messages once each, in seq order per conversation; broadcasts as they come. */
  message: (message: MessageItem | BroadcastPush) => void;
  /** A message the app has was edited: `content` is its new content. */
  edit: (edit: EditItem) => void;
  /** A message the app has was recalled: drop its content. */
  recall: (recall: RecallItem) => void;
  /** A reaction on a message the app has; `reactions` is the message's set after it. */
  reaction: (reaction: ReactionEvent) => void;
  read: (read: ReadEvent) => void;
  typing: (typing: TypingEvent) => void;
  friend: (friend: FriendPush) => void;
  /**
   * A channel's member counts changed; or, with `role` set, the caller's own standing there
   * changed (a promotion, a demotion, a mute or its end).
   */
  conversation: (conversation: ConversationPush) => void;
  /** Someone invited the caller to a private channel: `joinChannel` now lets them in. */
  invited: (invited: InvitedPush) => void;
  /** The caller was kicked or banned from a channel. */
  removed: (removed: RemovedPush) => void;
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

/** The conversation of a cursor key. */
export function refOf(key: string): ConversationRef {
  return key.startsWith("c:")
    ? { kind: "channel", channel: key.slice(2) }
    : { kind: "direct", peer: key.slice(2) };
}

/** Which conversation a stored item belongs to, seen by `me`; null if it names no peer. */
export function conversationOf(message: StreamItem, me: UserId): ConversationRef | null {
  if (message.channel !== undefined) return { kind: "channel", channel: message.channel };
  const peer = message.from === me ? message.to : message.from;
  return peer === undefined ? null : { kind: "direct", peer };
}

/** Internal history reads retry a few times on 429/503/network before the fill gives up. */
const FETCH_ATTEMPTS = 3;
/** Conversations filled through history at once after a sync, to stay far below the rate limit. */
const SYNC_CONCURRENCY = 4;
const PAGE_SIZE = 200;
/** Items per conversation in the one catch-up request (the contract's maximum). */
const SYNC_LIMIT = 500;
/** The server pushes at most one `typing` per user and conversation this often. */
const TYPING_EVERY_MS = 2000;
/** Ids per `GET /api/users?ids=`. */
const USERS_PER_LOOKUP = 100;
/** POSTs whose repetition is harmless, so a request lost on a dead connection is sent again. */
const IDEMPOTENT = { idempotent: true };

export class HeraldClient {
  private readonly http: HttpClient;
  private readonly events = new TypedEmitter<HeraldEvents>();
  private readonly connection: Connection;
  private readonly reconnectOpts: { minDelayMs: number; maxDelayMs: number };
  private readonly gapGraceMs: number | undefined;
  private readonly outbox: Outbox;
  private streams: ConversationStreams;
  private reads: ReadState;
  private tokenValue: string | undefined;
  private userIdValue: UserId | undefined;
  private resyncTimer: ReturnType<typeof setTimeout> | null = null;
  private resyncFailures = 0;
  /** Set by a failed gap fill, so a sync that "succeeded" around it does not reset the backoff. */
  private fillFailed = false;
  /** When each conversation last asked for a typing push (keys from cursorKey). */
  private readonly typedAt = new Map<string, number>();
  /** Conversations whose figures only a fresh summary can tell; one refresh at a time. */
  private readonly stale = new Set<string>();
  private refreshing: Promise<void> | null = null;

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
    this.outbox = new Outbox(this.http, this.reconnectOpts);
    this.streams = this.newStreams(opts.cursors);
    this.reads = this.newReadState();
    this.connection = new Connection(
      {
        grant: (failed) => this.prepareAttempt(failed),
        connected: () => this.syncAfterConnect(),
        message: (push) => this.onMessage(push),
        receipt: (push) => this.events.emit("receipt", push),
        presence: (push) => this.events.emit("presence", push),
        read: (push) => this.onRead(push),
        typing: (push) => this.onTyping(push),
        friend: (push) => this.events.emit("friend", push),
        conversation: (push) => this.events.emit("conversation", push),
        invited: (push) => this.events.emit("invited", push),
        removed: (push) => this.events.emit("removed", push),
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

  /** The caller's read figures in a conversation, as last learned (undefined: none yet). */
  unread(conversation: ConversationRef): ReadFigures | undefined {
    return this.reads.figures(cursorKey(conversation));
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
      this.reads = this.newReadState();
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

  /** The names of these users (unknown ids are left out), in batches of 100 per request. */
  async users(ids: readonly UserId[]): Promise<User[]> {
    const unique = [...new Set(ids)];
    const batches: UserId[][] = [];
    for (let i = 0; i < unique.length; i += USERS_PER_LOOKUP) {
      batches.push(unique.slice(i, i + USERS_PER_LOOKUP));
    }
    const answers = await Promise.all(
      batches.map((batch) =>
        this.http.request<{ users: User[] }>("GET", "/api/users", undefined, {
          ids: batch.join(","),
        }),
      ),
    );
    return answers.flatMap((a) => a.users);
  }

  /** Online flags for the caller and their friends; other ids are left out. */
  async presence(ids: readonly UserId[]): Promise<Record<UserId, boolean>> {
    if (ids.length === 0) return {};
    return this.http.request<Record<UserId, boolean>>("GET", "/api/presence", undefined, {
      ids: ids.join(","),
    });
  }

  // --- messages ---

  /**
   * Sends a direct message; it is also emitted as a "message" event, in its place in order.
   * A send whose answer is lost is posted again with the same clientMsgId (stored once).
   */
  async send(
    to: UserId,
    content: unknown,
    opts: SendOptions & { receipt?: boolean } = {},
  ): Promise<SendResult> {
    const body = { to, content, ...sendFields(opts), receipt: opts.receipt };
    const result = await this.outbox.post<SendResult>("/api/messages", body);
    await this.acceptSent({ kind: "direct", peer: to }, body, result, opts.attachments);
    return result;
  }

  /** Posts to a channel; it is also emitted as a "message" event, in its place in order. */
  async sendChannel(
    name: string,
    content: unknown,
    opts: SendOptions & { mentions?: UserId[] } = {},
  ): Promise<SendResult> {
    const body = { content, ...sendFields(opts), mentions: opts.mentions };
    const path = `${channelPath(name)}/messages`;
    const result = await this.outbox.post<SendResult>(path, body);
    await this.acceptSent({ kind: "channel", channel: name }, body, result, opts.attachments);
    return result;
  }

  /** Uploads a file (a raw body, so a browser can report its progress); 413 `too_large`
   * past the server's IM_FILE_MAX_BYTES. */
  async upload(file: Blob | Uint8Array, opts: UploadOptions): Promise<UploadedFile> {
    const contentType =
      opts.contentType ||
      (file instanceof Blob && file.type !== "" ? file.type : "application/octet-stream");
    const headers = { "content-type": contentType, "x-filename": encodeURIComponent(opts.name) };
    return this.http.postRaw<UploadedFile>("/api/files", file, headers, opts.onProgress);
  }

  /** Fresh signed links to a file the caller uploaded or that was shared with them. */
  async fileLink(fileId: string): Promise<FileLink> {
    return this.http.request<FileLink>("GET", `/api/files/${encodeURIComponent(fileId)}`);
  }

  /** The server's file limits, so a page can refuse a file before uploading it. */
  async fileLimits(): Promise<FileLimits> {
    return this.http.request<FileLimits>("GET", "/api/files/limits");
  }

  /** Replaces the content of one of the caller's messages; emitted as an "edit" event. */
  async edit(messageId: string, content: unknown): Promise<SendResult> {
    const result = await this.http.request<SendResult>("PATCH", messagePath(messageId), {
      content,
    });
    await this.acceptChange(messageId, result, { kind: "edit", content: roundTrip(content) });
    return result;
  }

  /** Withdraws a message (its content is deleted); emitted as a "recall" event. */
  async recall(messageId: string): Promise<SendResult> {
    const result = await this.http.request<SendResult>("DELETE", messagePath(messageId));
    await this.acceptChange(messageId, result, { kind: "recall" });
    return result;
  }

  /** Adds the caller's reaction; null when it was there already (nothing stored). */
  async react(messageId: string, emoji: string): Promise<SendResult | null> {
    const path = `${messagePath(messageId)}/reactions`;
    const result = await this.http.request<SendResult | undefined>("POST", path, { emoji });
    if (!result) return null;
    await this.acceptChange(messageId, result, { kind: "reaction", emoji, op: "add" });
    return result;
  }

  /** Takes the caller's reaction back; null when there was none. */
  async unreact(messageId: string, emoji: string): Promise<SendResult | null> {
    const path = `${messagePath(messageId)}/reactions/${encodeURIComponent(emoji)}`;
    const result = await this.http.request<SendResult | undefined>("DELETE", path);
    if (!result) return null;
    await this.acceptChange(messageId, result, { kind: "reaction", emoji, op: "remove" });
    return result;
  }

  /**
   * Stored items after `after` (default 0), oldest first, at most `limit` (default 50); messages
   * in their current state. Later edits, recalls and reactions of these messages are emitted.
   */
  async history(
    conversation: ConversationRef,
    opts: { after?: number; limit?: number } = {},
  ): Promise<StreamItem[]> {
    const items = await this.readHistory(conversation, opts);
    this.streams.loaded(cursorKey(conversation), items);
    return items;
  }

  /**
   * Messages matching `query` (full-text: words, `"a phrase"`, `or`, `-word`), newest first, in
   * `opts.in` or in every conversation of the caller's, at most `opts.limit` (1–100, default
   * 20), in their current state. Only a server on PostgreSQL searches; any other answers a
   * HeraldError with code `unsupported` (501).
   */
  async search(
    query: string,
    opts: { in?: ConversationRef; limit?: number } = {},
  ): Promise<StreamItem[]> {
    const scope =
      opts.in === undefined
        ? {}
        : opts.in.kind === "direct"
          ? { peer: opts.in.peer }
          : { channel: opts.in.channel };
    const r = await this.http.request<{ items: StreamItem[] }>("GET", "/api/search", undefined, {
      q: query,
      ...scope,
      limit: opts.limit,
    });
    return r.items;
  }

  /** Direct conversations with a stored message and the caller's channels, newest first. */
  async conversations(): Promise<ConversationSummary[]> {
    const r = await this.http.request<{ conversations: ConversationSummary[] }>(
      "GET",
      "/api/conversations",
    );
    for (const c of r.conversations) this.reads.summary(cursorKey(c), c);
    return r.conversations;
  }

  /**
   * Moves the caller's read cursor to `seq` (default: the last item the SDK has passed on). The
   * other devices follow through their `read` push; so does a DM's peer (a read receipt).
   */
  async markRead(
    conversation: ConversationRef,
    seq?: number,
  ): Promise<{ readSeq: number; unread: number }> {
    const key = cursorKey(conversation);
    const at = seq ?? this.streams.cursors()[key] ?? 0;
    const r = await this.http.request<{ readSeq: number; unread: number }>(
      "POST",
      "/api/read",
      { ...refBody(conversation), seq: at },
      undefined,
      IDEMPOTENT,
    );
    this.movedRead(key, await this.ensureUserId(), r.readSeq, Date.now());
    return r;
  }

  /**
   * Tells the conversation the caller is typing. Call it on every keystroke: it asks the server
   * at most once per 2 s per conversation, the rate at which the server pushes anyway.
   */
  async typing(conversation: ConversationRef): Promise<void> {
    const key = cursorKey(conversation);
    const now = Date.now();
    if (now - (this.typedAt.get(key) ?? 0) < TYPING_EVERY_MS) return;
    this.typedAt.set(key, now);
    await this.http.request<undefined>("POST", "/api/typing", refBody(conversation));
  }

  // --- channels ---

  async joinChannel(name: string): Promise<void> {
    const path = `${channelPath(name)}/join`;
    await this.http.request<unknown>("POST", path, undefined, undefined, IDEMPOTENT);
  }

  async leaveChannel(name: string): Promise<void> {
    const path = `${channelPath(name)}/leave`;
    await this.http.request<unknown>("POST", path, undefined, undefined, IDEMPOTENT);
  }

  async channels(): Promise<ChannelSummary[]> {
    const r = await this.http.request<{ channels: ChannelSummary[] }>("GET", "/api/channels");
    return r.channels;
  }

  channel(name: string): Promise<ChannelDetail> {
    return this.http.request<ChannelDetail>("GET", channelPath(name));
  }

  /** Creates a channel owned by the caller; 409 `channel_exists` if the name is taken. */
  createChannel(channel: NewChannel): Promise<ChannelInfo> {
    return this.http.request<ChannelInfo>("POST", "/api/channels", channel);
  }

  /** The channel with its settings and the caller's role; a private one they are not in: 404. */
  channelInfo(name: string): Promise<ChannelInfo> {
    return this.http.request<ChannelInfo>("GET", channelPath(name));
  }

  /** One page of a channel's members with their roles, in join order (members only). */
  members(name: string, page: MemberPageQuery = {}): Promise<MemberPage> {
    return this.http.request<MemberPage>("GET", `${channelPath(name)}/members`, undefined, {
      after: page.after,
      limit: page.limit,
    });
  }

  /** Promotes a member to admin or demotes an admin (the owner only): the member as now. */
  setRole(name: string, userId: UserId, role: "admin" | "member"): Promise<ChannelMember> {
    return this.http.request<ChannelMember>(
      "POST",
      memberPath(name, userId),
      { role },
      undefined,
      IDEMPOTENT,
    );
  }

  /** Hands ownership to another member (the owner only): the new owner. */
  transferOwner(name: string, userId: UserId): Promise<ChannelMember> {
    return this.http.request<ChannelMember>(
      "POST",
      `${channelPath(name)}/owner`,
      { userId },
      undefined,
      IDEMPOTENT,
    );
  }

  /** Lets a user join a private channel (owner or admin); they get an `invited` push. */
  async invite(name: string, userId: UserId): Promise<void> {
    await this.http.request<unknown>(
      "POST",
      `${channelPath(name)}/invites`,
      { userId },
      undefined,
      IDEMPOTENT,
    );
  }

  /** Removes a member (owner or admin); with `ban`, they may not join again until unbanned. */
  async kick(name: string, userId: UserId, opts: { ban?: boolean } = {}): Promise<void> {
    await this.http.request<undefined>("DELETE", memberPath(name, userId), undefined, {
      ban: opts.ban === undefined ? undefined : String(opts.ban),
    });
  }

  async unban(name: string, userId: UserId): Promise<void> {
    const path = `${channelPath(name)}/bans/${encodeURIComponent(userId)}`;
    await this.http.request<undefined>("DELETE", path);
  }

  /** Stops a member posting for `seconds` (their posts get 403 `muted`): the member as now. */
  mute(name: string, userId: UserId, seconds: number): Promise<ChannelMember> {
    return this.http.request<ChannelMember>(
      "POST",
      `${memberPath(name, userId)}/mute`,
      { seconds },
      undefined,
      IDEMPOTENT,
    );
  }

  async unmute(name: string, userId: UserId): Promise<void> {
    await this.http.request<undefined>("DELETE", `${memberPath(name, userId)}/mute`);
  }

  // --- blocking ---

  /** Ends any friendship or request with them and refuses their DMs, requests and typing. */
  async block(userId: UserId): Promise<void> {
    const path = `/api/blocks/${encodeURIComponent(userId)}`;
    await this.http.request<undefined>("POST", path, undefined, undefined, IDEMPOTENT);
  }

  async unblock(userId: UserId): Promise<void> {
    await this.http.request<undefined>("DELETE", `/api/blocks/${encodeURIComponent(userId)}`);
  }

  /** The users the caller blocks. */
  async blocks(): Promise<User[]> {
    const r = await this.http.request<{ blocked: User[] }>("GET", "/api/blocks");
    return r.blocked;
  }

  /** The members who have read the channel up to `seq` ("read by N"). */
  readers(name: string, seq: number): Promise<Readers> {
    const path = `${channelPath(name)}/readers`;
    return this.http.request<Readers>("GET", path, undefined, { seq });
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
      me: () => this.userIdValue,
      fetchPage: (key, after, limit) => this.fetchPage(key, after, limit),
      ordered: (key, item) => this.reads.item(key, item),
      emit: (_key, item) => this.emitFolded(item),
      onFillError: () => {
        this.fillFailed = true;
        this.scheduleResync();
      },
      // A new peer's first messages are news; a channel joined later keeps its backlog in history.
      startsAtZero: (key) => key.startsWith("d:"),
    });
  }

  private newReadState(): ReadState {
    return new ReadState(
      () => this.userIdValue,
      (key) => {
        this.stale.add(key);
        void this.refreshFigures();
      },
    );
  }

  private emitFolded(item: FoldedItem): void {
    switch (item.kind) {
      case "message":
        this.events.emit("message", item);
        return;
      case "edit":
        this.events.emit("edit", item);
        return;
      case "recall":
        this.events.emit("recall", item);
        return;
      case "reaction":
        this.events.emit("reaction", item);
    }
  }

  private async ensureUserId(): Promise<UserId> {
    if (this.userIdValue === undefined) await this.me();
    return this.userIdValue!;
  }

  /** The sender's own 202: the message takes its place in the stream at once. */
  private async acceptSent(
    ref: ConversationRef,
    body: { content: unknown; clientMsgId: string; replyTo?: string; mentions?: UserId[] },
    result: SendResult,
    attachments: Attachment[] | undefined,
  ): Promise<void> {
    const from = await this.ensureUserId();
    const item: MessageItem = {
      id: result.id,
      seq: result.seq,
      kind: "message",
      from,
      ...(ref.kind === "direct" ? { to: ref.peer } : { channel: ref.channel }),
      content: roundTrip(body.content),
      clientMsgId: body.clientMsgId,
      ts: result.ts,
    };
    if (body.replyTo !== undefined) item.replyTo = body.replyTo;
    if (body.mentions !== undefined) item.mentions = body.mentions;
    if (attachments?.length) item.attachments = attachments.map(attachmentOf);
    this.streams.accept(cursorKey(ref), item);
  }

  /** The 202 of an edit, recall or reaction: folded in its place when the target is known here. */
  private async acceptChange(
    target: string,
    result: SendResult,
    change:
      | { kind: "edit"; content: unknown }
      | { kind: "recall" }
      | { kind: "reaction"; emoji: string; op: "add" | "remove" },
  ): Promise<void> {
    const key = this.streams.keyOf(target);
    if (key === undefined) return; // its push still brings it in order
    const from = await this.ensureUserId();
    const ref = refOf(key);
    const where = ref.kind === "direct" ? { to: ref.peer } : { channel: ref.channel };
    const base = { id: result.id, seq: result.seq, from, ...where, ts: result.ts, target };
    this.streams.accept(key, { ...base, ...change } as StreamItem);
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

  /** After each (re)connect: one sync, and sends waiting for another attempt go now. */
  private async syncAfterConnect(): Promise<void> {
    this.outbox.flush();
    try {
      this.fillFailed = false;
      await this.syncAll();
      if (!this.fillFailed) this.resyncFailures = 0;
    } catch {
      this.scheduleResync();
    }
  }

  /**
   * One `POST /api/sync` with every cursor: the items missed, and every conversation's figures.
   * Only a conversation with more than a page missed, or new to the SDK, reads history after it.
   */
  private async syncAll(): Promise<void> {
    const streams = this.streams;
    const cursors = Object.entries(streams.cursors()).map(([key, seq]) => ({
      ...refBody(refOf(key)),
      seq,
    }));
    const r = await this.http.request<{ conversations: SyncedConversation[] }>(
      "POST",
      "/api/sync",
      { cursors, limit: SYNC_LIMIT },
      undefined,
      IDEMPOTENT,
    );
    for (const c of r.conversations) {
      const key = cursorKey(c);
      this.noteSummary(key, c);
      streams.synced(key, c.items ?? []);
    }
    const queue = r.conversations.map((c) => () => streams.catchUp(cursorKey(c), c.lastSeq));
    const workers = Array.from({ length: Math.min(SYNC_CONCURRENCY, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    });
    await Promise.all(workers);
  }

  /** A summary from the server; a change of figures is told as a `read` event. */
  private noteSummary(key: string, c: ConversationSummary): void {
    const before = this.reads.figures(key);
    this.reads.summary(key, c);
    const after = this.reads.figures(key)!;
    const me = this.userIdValue ?? "";
    const ref = refOf(key);
    if (before && after.peerReadSeq !== before.peerReadSeq && ref.kind === "direct") {
      this.emitRead(key, ref.peer, after.peerReadSeq ?? 0, c.lastTs);
    }
    if (
      this.stale.delete(key) ||
      (before && (before.readSeq !== after.readSeq || before.unread !== after.unread))
    ) {
      this.emitRead(key, me, after.readSeq, c.lastTs);
    }
  }

  /** One `GET /api/conversations` for the figures a cursor move left unknown. */
  private async refreshFigures(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = (async () => {
      try {
        const r = await this.http.request<{ conversations: ConversationSummary[] }>(
          "GET",
          "/api/conversations",
        );
        for (const c of r.conversations) this.noteSummary(cursorKey(c), c);
      } catch {
        // The figures stay an estimate until the next summary (a reconnect, another move).
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** A read cursor moved (the caller's on any device, or a DM peer's): emitted if it changed. */
  private movedRead(key: string, userId: UserId, seq: number, ts: number): void {
    const moved =
      userId === this.userIdValue ? this.reads.read(key, seq) : this.reads.peerRead(key, seq);
    if (moved) this.emitRead(key, userId, seq, ts);
  }

  private emitRead(key: string, userId: UserId, seq: number, ts: number): void {
    const figures = this.reads.figures(key);
    this.events.emit("read", {
      conversation: refOf(key),
      userId,
      seq,
      ts,
      unread: figures?.unread ?? 0,
      mentions: figures?.mentions ?? 0,
    });
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

  private onMessage(push: StreamItem | BroadcastPush): void {
    if ("broadcast" in push && push.broadcast === true) {
      this.events.emit("message", push);
      return;
    }
    const item = push as StreamItem;
    const me = this.userIdValue;
    if (me === undefined || typeof item.seq !== "number" || typeof item.id !== "string") {
      return;
    }
    const ref = conversationOf(item, me);
    if (ref) this.streams.accept(cursorKey(ref), item);
  }

  private onRead(push: ReadPush): void {
    const ref: ConversationRef | null =
      push.channel !== undefined
        ? { kind: "channel", channel: push.channel }
        : push.peer !== undefined
          ? { kind: "direct", peer: push.peer }
          : null;
    if (ref) this.movedRead(cursorKey(ref), push.userId, push.seq, push.ts);
  }

  private onTyping(push: TypingPush): void {
    const conversation: ConversationRef =
      push.channel !== undefined
        ? { kind: "channel", channel: push.channel }
        : { kind: "direct", peer: push.from };
    this.events.emit("typing", { conversation, from: push.from, ts: push.ts });
  }

  private readHistory(
    conversation: ConversationRef,
    opts: { after?: number; limit?: number },
  ): Promise<StreamItem[]> {
    const query = { after: opts.after, limit: opts.limit };
    const path =
      conversation.kind === "direct"
        ? "/api/messages"
        : `${channelPath(conversation.channel)}/messages`;
    const q = conversation.kind === "direct" ? { peer: conversation.peer, ...query } : query;
    return this.http
      .request<{ messages: StreamItem[] }>("GET", path, undefined, q)
      .then((r) => r.messages);
  }

  /** One history page for a gap fill; null when the caller may no longer read it. */
  private async fetchPage(key: string, after: number, limit: number): Promise<StreamItem[] | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readHistory(refOf(key), { after, limit });
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

/** A conversation of `POST /api/sync`: its summary, and the items after the cursor given. */
type SyncedConversation = ConversationSummary & { items?: StreamItem[]; more?: boolean };

/** The fields every send carries: its clientMsgId (new unless retried), its reply, its files. */
function sendFields(opts: SendOptions): {
  clientMsgId: string;
  replyTo?: string;
  attachments?: string[];
} {
  const fields: { clientMsgId: string; replyTo?: string; attachments?: string[] } = {
    clientMsgId: opts.clientMsgId ?? newClientMsgId(),
  };
  if (opts.replyTo !== undefined) fields.replyTo = opts.replyTo;
  if (opts.attachments?.length) fields.attachments = opts.attachments.map((a) => a.fileId);
  return fields;
}

/** What an item carries of a file (an upload answer also has its sha256). */
function attachmentOf({ fileId, name, size, contentType }: Attachment): Attachment {
  return { fileId, name, size, contentType };
}

/** `{peer}` or `{channel}`: how request bodies name a conversation. */
function refBody(ref: ConversationRef): { peer: UserId } | { channel: string } {
  return ref.kind === "direct" ? { peer: ref.peer } : { channel: ref.channel };
}

function channelPath(name: string): string {
  return `/api/channels/${encodeURIComponent(name)}`;
}

function memberPath(name: string, userId: UserId): string {
  return `${channelPath(name)}/members/${encodeURIComponent(userId)}`;
}

function messagePath(messageId: string): string {
  return `/api/messages/${encodeURIComponent(messageId)}`;
}

/** The content as the server stores and pushes it: its JSON round trip. */
function roundTrip(content: unknown): unknown {
  const json = JSON.stringify(content);
  return json === undefined ? undefined : (JSON.parse(json) as unknown);
}
