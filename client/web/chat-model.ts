// Everything the signed-in page knows, kept in one immutable state object and changed only here.
// It listens to the SDK (messages and their changes, read cursors, typing, friends, channel
// counts, receipts, presence, status) and runs the person's actions through it; the components
// only read the state and call these methods. Nothing is polled: every list changes on a push.
import {
  conversationOf,
  cursorKey,
  newClientMsgId,
  refOf,
  type Attachment,
  type BroadcastPush,
  type ChannelInfo,
  type ChannelMember,
  type ChannelRole,
  type ChannelSummary,
  type ConnectionStatus,
  type ConversationPush,
  type ConversationSummary,
  type EditItem,
  type FileLink,
  type FriendPush,
  type HeraldClient,
  type HeraldError,
  type InvitedPush,
  type KickedPush,
  type MessageItem,
  type NewChannel,
  type PresencePush,
  type ReactionEvent,
  type ReadEvent,
  type RecallItem,
  type ReceiptPush,
  type RemovedPush,
  type StreamItem,
  type TypingEvent,
  type UploadedFile,
  type User,
} from "../sdk.js";
import { contentText } from "./content.js";
import {
  appendPending,
  confirmPending,
  failPending,
  fromItem,
  mergeStored,
  newestSeq,
  oldestSeq,
  removeMessage,
  setDelivery,
  updateMessage,
  type ChatMessage,
  type Delivery,
} from "./conversation-log.js";
import { describeError, describeMute, isUnauthorized } from "./errors.js";
import { formatBytes } from "./format.js";
import { saveCursors } from "./saved-session.js";

export { refOf } from "../sdk.js";

export interface Friend extends User {
  online: boolean;
}

export interface ConversationState {
  messages: readonly ChatMessage[];
  /** The newest page of history has been read. */
  loaded: boolean;
  loadingOlder: boolean;
  /** The oldest stored message (seq 1) is in `messages`. */
  atStart: boolean;
  /** The server's figures (the same on every device of this user). */
  unread: number;
  mentions: number;
  /** Direct conversations: the peer has read every message up to here. */
  peerReadSeq: number;
  lastTs: number;
  /** userId → when their "typing…" ends (ms since the epoch). */
  typing: Readonly<Record<string, number>>;
  /** Channels: how many members have read this user's newest message there. */
  readBy: { seq: number; count: number } | undefined;
  error: string | undefined;
}

/** A channel as the page knows it once opened: its settings, and this user's standing there. */
export interface ChannelView extends ChannelInfo {
  /** While this user is muted there: when it ends (ms since the epoch). */
  mutedUntil?: number;
}

/** A channel's members with their roles, as far as the members panel has paged. */
export interface Roster {
  members: readonly ChannelMember[];
  /** The `after` of the next page; null when every member is here. */
  next: number | null;
}

/** An invitation to a private channel, from its `invited` push (the server lists none). */
export interface Invite {
  channel: string;
  by: string;
  ts: number;
}

export interface Notice {
  id: number;
  kind: "info" | "error";
  text: string;
}

export interface ChatState {
  me: User;
  status: ConnectionStatus;
  friends: readonly Friend[];
  incoming: readonly User[];
  outgoing: readonly User[];
  /** Every channel on the server, with counts. */
  channels: readonly ChannelSummary[];
  /** The channels this user is in. */
  joined: readonly string[];
  /** Channel → its members' ids (read when the channel is opened), for @mentions. */
  members: Readonly<Record<string, readonly string[]>>;
  /** Channel → its settings and this user's role, read when it is opened. */
  channelInfo: Readonly<Record<string, ChannelView>>;
  /** Channel → its members with roles, read when its members panel is opened. */
  rosters: Readonly<Record<string, Roster>>;
  /** Invitations not yet taken up, newest first. */
  invites: readonly Invite[];
  /** The people this user blocks. */
  blocked: readonly User[];
  /** Whose profile is shown (a userId), or null. */
  profile: string | null;
  /** userId → username, for everyone whose name the server has told. */
  names: Readonly<Record<string, string>>;
  conversations: Readonly<Record<string, ConversationState>>;
  /** The conversation in view (its cursor key), or null for the list. */
  active: string | null;
  notices: readonly Notice[];
}

/** What a send adds to the text: the message it answers, the members it mentions. */
export interface Draft {
  text: string;
  replyTo?: string;
  mentions?: string[];
  attachments?: Attachment[];
}

/** Why the page went back to the login form. */
export type SessionEnd = { reason: "logout" } | { reason: "expired" | "kicked"; message: string };

export const PAGE_SIZE = 50;
/** Members per page of the members panel. */
export const ROSTER_PAGE = 100;
/** Clients show "typing…" this long after the last push (CONTRACT.md "Typing"). */
export const TYPING_MS = 5000;
const NOTICE_MS = 5000;
const MAX_PENDING_RECEIPTS = 256;
/** A bound on forward history reads when opening a conversation. */
const MAX_FORWARD_PAGES = 20;
/** Messages arriving in the open conversation are marked read together, not one call each. */
const MARK_READ_DELAY_MS = 150;
/** Names wanted within this window go in one lookup. */
const NAME_LOOKUP_DELAY_MS = 30;

/** What a conversation the page has not loaded yet looks like. */
export const EMPTY_CONVERSATION: ConversationState = {
  messages: [],
  loaded: false,
  loadingOlder: false,
  atStart: false,
  unread: 0,
  mentions: 0,
  peerReadSeq: 0,
  lastTs: 0,
  typing: {},
  readBy: undefined,
  error: undefined,
};

export class ChatModel {
  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly pendingReceipts = new Map<string, Delivery>();
  /** Ids whose names were asked for (or are queued), so each is looked up once. */
  private readonly nameLookups = new Set<string>();
  private nameQueue: string[] = [];
  private nameTimer: ReturnType<typeof setTimeout> | null = null;
  private cursorTimer: ReturnType<typeof setTimeout> | null = null;
  private markTimer: ReturnType<typeof setTimeout> | null = null;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private friendsReading: Promise<void> | null = null;
  private localIds = 0;
  /** The server's IM_FILE_MAX_BYTES (GET /api/files/limits), read at the first upload. */
  private maxFileBytes: Promise<number> | undefined;
  private noticeIds = 0;
  /** Channel → when this user's mute there ends, as last told (push, members list, refusal). */
  private readonly mutes = new Map<string, number>();
  private stopped = false;

  private onEnd: (end: SessionEnd) => void = () => undefined;

  constructor(
    private readonly client: HeraldClient,
    me: User,
  ) {
    this.state = {
      me,
      status: client.status,
      friends: [],
      incoming: [],
      outgoing: [],
      channels: [],
      joined: [],
      members: {},
      channelInfo: {},
      rosters: {},
      invites: [],
      blocked: [],
      profile: null,
      names: { [me.userId]: me.username },
      conversations: {},
      active: null,
      notices: [],
    };
  }

  get snapshot(): ChatState {
    return this.state;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Wires the SDK's events, reads the lists once and connects (reconnecting by itself). `onEnd`
   * is called once if the session ends (logout, 401, a kick that ends it).
   */
  start(onEnd: (end: SessionEnd) => void): void {
    this.onEnd = onEnd;
    this.client.on("message", this.onMessage);
    this.client.on("edit", this.onEdit);
    this.client.on("recall", this.onRecall);
    this.client.on("reaction", this.onReaction);
    this.client.on("read", this.onRead);
    this.client.on("typing", this.onTyping);
    this.client.on("friend", this.onFriend);
    this.client.on("conversation", this.onConversation);
    this.client.on("invited", this.onInvited);
    this.client.on("removed", this.onRemoved);
    this.client.on("receipt", this.onReceipt);
    this.client.on("presence", this.onPresence);
    this.client.on("kicked", this.onKicked);
    this.client.on("status", this.onStatus);
    this.client.on("error", this.onClientError);
    document.addEventListener("visibilitychange", this.onVisibility);
    void this.refresh();
    this.client.connect().catch((err: unknown) => this.fail(err));
  }

  /** Stops listening and disconnects; the model is not used again. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.persistCursors();
    for (const timer of [this.cursorTimer, this.markTimer, this.typingTimer, this.nameTimer]) {
      if (timer) clearTimeout(timer);
    }
    this.client.off("message", this.onMessage);
    this.client.off("edit", this.onEdit);
    this.client.off("recall", this.onRecall);
    this.client.off("reaction", this.onReaction);
    this.client.off("read", this.onRead);
    this.client.off("typing", this.onTyping);
    this.client.off("friend", this.onFriend);
    this.client.off("conversation", this.onConversation);
    this.client.off("invited", this.onInvited);
    this.client.off("removed", this.onRemoved);
    this.client.off("receipt", this.onReceipt);
    this.client.off("presence", this.onPresence);
    this.client.off("kicked", this.onKicked);
    this.client.off("status", this.onStatus);
    this.client.off("error", this.onClientError);
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.client.disconnect();
  }

  async logout(): Promise<void> {
    try {
      await this.client.logout();
    } catch {
      // The server could not be told; the page forgets the session all the same.
    }
    this.end({ reason: "logout" });
  }

  // --- lists ---

  /**
   * Reads friends, channels and this user's conversations with their figures: at start, when
   * the tab is shown again, and after joining or leaving. Pushes keep them current in between.
   */
  async refresh(): Promise<void> {
    try {
      const [, channels, conversations, blocked] = await Promise.all([
        this.readFriends(),
        this.client.channels(),
        this.client.conversations(),
        this.client.blocks(),
      ]);
      if (this.stopped) return;
      const joined: string[] = [];
      const convs = { ...this.state.conversations };
      for (const c of conversations) {
        if (c.kind === "channel") joined.push(c.channel);
        else this.wantNames([c.peer]);
        const key = cursorKey(c);
        convs[key] = this.withFigures(convs[key] ?? EMPTY_CONVERSATION, c);
      }
      this.set({
        channels: same(this.state.channels, channels),
        joined: same(
          this.state.joined,
          joined.sort((a, b) => a.localeCompare(b)),
        ),
        conversations: convs,
        blocked: same(this.state.blocked, sortByName(blocked)),
      });
    } catch (err) {
      this.fail(err, { quiet: true });
    }
  }

  /** Friends and requests; several asks while one is on its way share the next read. */
  private readFriends(): Promise<void> {
    this.friendsReading ??= (async () => {
      try {
        const lists = await this.client.friends();
        if (this.stopped) return;
        const names = { ...this.state.names };
        for (const u of [...lists.friends, ...lists.incoming, ...lists.outgoing]) {
          names[u.userId] = u.username;
        }
        this.set({
          friends: same(this.state.friends, sortByName(lists.friends)),
          incoming: same(this.state.incoming, lists.incoming),
          outgoing: same(this.state.outgoing, lists.outgoing),
          names: same(this.state.names, names),
        });
      } finally {
        this.friendsReading = null;
      }
    })();
    return this.friendsReading;
  }

  /** Every channel on the server, for "More channels": read when the person goes looking. */
  async refreshChannels(): Promise<void> {
    try {
      const channels = await this.client.channels();
      this.set({ channels: same(this.state.channels, channels) });
    } catch (err) {
      this.fail(err, { quiet: true });
    }
  }

  async addFriend(username: string): Promise<boolean> {
    const name = username.trim();
    if (name === "") return false;
    if (name.toLowerCase() === this.state.me.username.toLowerCase()) {
      this.notify("error", "That's you.");
      return false;
    }
    try {
      const user = await this.client.findUser(name);
      if (!user) {
        this.notify("error", `No one is called ${name}.`);
        return false;
      }
      const status = await this.client.requestFriend(user.userId);
      this.notify(
        "info",
        status === "friends"
          ? `You and ${user.username} are now friends.`
          : `Friend request sent to ${user.username}.`,
      );
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  async acceptFriend(userId: string): Promise<void> {
    try {
      await this.client.requestFriend(userId);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Declines an incoming request, cancels an outgoing one, or unfriends. */
  async removeFriend(userId: string): Promise<void> {
    try {
      await this.client.removeFriend(userId);
      if (this.state.active === `d:${userId}`) this.set({ active: null });
    } catch (err) {
      this.fail(err);
    }
  }

  async joinChannel(name: string): Promise<boolean> {
    try {
      await this.client.joinChannel(name);
      await this.refresh();
      this.open(`c:${name}`);
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  async leaveChannel(name: string): Promise<void> {
    try {
      await this.client.leaveChannel(name);
      this.forgetChannel(name);
      await this.refresh();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Drops a channel this user is no longer in from every list the page keeps. */
  private forgetChannel(name: string): void {
    const key = `c:${name}`;
    this.mutes.delete(name);
    this.set({
      joined: this.state.joined.filter((n) => n !== name),
      active: this.state.active === key ? null : this.state.active,
      conversations: without(this.state.conversations, key),
      channelInfo: without(this.state.channelInfo, name),
      rosters: without(this.state.rosters, name),
      members: without(this.state.members, name),
    });
  }

  /** Creates a channel owned by this user and opens it. */
  async createChannel(channel: NewChannel): Promise<boolean> {
    try {
      const info = await this.client.createChannel(channel);
      this.set({ channelInfo: { ...this.state.channelInfo, [info.name]: info } });
      await this.refresh();
      this.open(`c:${info.name}`);
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /** Takes up an invitation: joins the channel and opens it. */
  async acceptInvite(channel: string): Promise<void> {
    if (await this.joinChannel(channel)) this.dismissInvite(channel);
  }

  dismissInvite(channel: string): void {
    this.set({ invites: this.state.invites.filter((i) => i.channel !== channel) });
  }

  // --- running a channel (owner and admins) ---

  /** The first page of a channel's members with their roles (the members panel opened). */
  async readRoster(channel: string): Promise<void> {
    try {
      const page = await this.client.members(channel, { limit: ROSTER_PAGE });
      this.setRoster(channel, page.members, page.next);
    } catch (err) {
      this.fail(err, { quiet: true });
    }
  }

  /** The members panel closed: its list is no longer kept current. */
  closeRoster(channel: string): void {
    this.set({ rosters: without(this.state.rosters, channel) });
  }

  /** The next page of the members panel. */
  async readMoreMembers(channel: string): Promise<void> {
    const roster = this.state.rosters[channel];
    if (roster?.next == null) return;
    try {
      const page = await this.client.members(channel, { after: roster.next, limit: ROSTER_PAGE });
      const known = new Set(roster.members.map((m) => m.userId));
      const members = [...roster.members, ...page.members.filter((m) => !known.has(m.userId))];
      this.setRoster(channel, members, page.next);
    } catch (err) {
      this.fail(err);
    }
  }

  private setRoster(channel: string, members: readonly ChannelMember[], next: number | null): void {
    const names = { ...this.state.names };
    for (const m of members) names[m.userId] = m.username;
    const mine = members.find((m) => m.userId === this.state.me.userId);
    this.set({
      rosters: { ...this.state.rosters, [channel]: { members, next } },
      names: same(this.state.names, names),
    });
    // This user's own line tells their role and mute, as the pushes do.
    if (mine) this.noteStanding(channel, mine.role, mine.mutedUntil);
  }

  async invite(channel: string, username: string): Promise<boolean> {
    try {
      const user = await this.client.findUser(username);
      if (!user) {
        this.notify("error", `No one is called ${username}.`);
        return false;
      }
      await this.client.invite(channel, user.userId);
      this.notify("info", `Invited ${user.username} to #${channel}.`);
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /** Promotes to admin or demotes to member (the owner only). */
  async setRole(channel: string, userId: string, role: "admin" | "member"): Promise<void> {
    await this.moderate(channel, () => this.client.setRole(channel, userId, role));
  }

  async transferOwner(channel: string, userId: string): Promise<void> {
    await this.moderate(channel, () => this.client.transferOwner(channel, userId));
  }

  async kick(channel: string, userId: string, ban: boolean): Promise<void> {
    await this.moderate(channel, () => this.client.kick(channel, userId, { ban }));
  }

  async mute(channel: string, userId: string, seconds: number): Promise<void> {
    await this.moderate(channel, () => this.client.mute(channel, userId, seconds));
  }

  async unmute(channel: string, userId: string): Promise<void> {
    await this.moderate(channel, () => this.client.unmute(channel, userId));
  }

  /** One moderation step, then the channel and its members as they now are. */
  private async moderate(channel: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (err) {
      this.fail(err);
    }
    await Promise.all([this.readChannel(channel), this.readRoster(channel)]);
  }

  // --- people: profiles and blocking ---

  /** Shows someone's profile (null: closes it). */
  showProfile(userId: string | null): void {
    if (userId !== null) this.wantNames([userId]);
    this.set({ profile: userId });
  }

  async block(userId: string): Promise<void> {
    await this.act(() => this.client.block(userId));
    await this.refresh();
  }

  async unblock(userId: string): Promise<void> {
    await this.act(() => this.client.unblock(userId));
    await this.refresh();
  }

  // --- conversations ---

  /** Shows a conversation (null: the list); loads its newest history the first time. */
  open(key: string | null): void {
    // What arrived in the conversation being left was on screen: it is read now, not lost with
    // the moment's wait (MARK_READ_DELAY_MS) that would have marked it.
    const leaving = this.state.active;
    if (this.markTimer && leaving !== null && leaving !== key) {
      clearTimeout(this.markTimer);
      this.markTimer = null;
      this.markSeen(leaving);
    }
    this.set({ active: key });
    if (key === null) return;
    const conv = this.conversation(key);
    if (!conv.loaded) void this.loadNewest(key);
    else this.markSeen(key);
    const ref = refOf(key);
    if (ref.kind === "channel") {
      void this.readChannel(ref.channel);
      void this.refreshReadBy(key);
    }
  }

  private async loadNewest(key: string): Promise<void> {
    const ref = refOf(key);
    try {
      const summaries = await this.client.conversations();
      const summary = summaries.find((c) => cursorKey(c) === key);
      const lastSeq = summary?.lastSeq ?? 0;
      let after = Math.max(0, lastSeq - PAGE_SIZE);
      const start = after;
      let fetched: StreamItem[] = [];
      // Forward from the newest page; more pages only if items arrived meanwhile.
      for (let page = 0; page < MAX_FORWARD_PAGES && lastSeq > 0; page++) {
        const batch = await this.client.history(ref, { after, limit: PAGE_SIZE });
        fetched = fetched.concat(batch);
        const last = batch[batch.length - 1];
        if (batch.length < PAGE_SIZE || !last) break;
        after = last.seq;
      }
      let conv = this.conversation(key);
      if (summary) conv = this.withFigures(conv, summary);
      this.setConversation(key, {
        ...conv,
        messages: mergeStored(conv.messages, this.ingest(fetched)),
        loaded: true,
        atStart: start === 0,
        error: undefined,
      });
      this.markSeen(key);
      void this.refreshReadBy(key);
    } catch (err) {
      const conv = this.conversation(key);
      this.setConversation(key, { ...conv, error: describeError(err) });
      this.fail(err, { quiet: true });
    }
  }

  /** Reads the page before the oldest message shown. */
  async loadOlder(key: string): Promise<void> {
    const conv = this.conversation(key);
    if (!conv.loaded || conv.loadingOlder || conv.atStart) return;
    const oldest = oldestSeq(conv.messages);
    if (oldest === undefined || oldest <= 1) {
      this.setConversation(key, { ...conv, atStart: true });
      return;
    }
    this.setConversation(key, { ...conv, loadingOlder: true });
    try {
      const after = Math.max(0, oldest - 1 - PAGE_SIZE);
      const batch = await this.client.history(refOf(key), { after, limit: oldest - 1 - after });
      const now = this.conversation(key);
      this.setConversation(key, {
        ...now,
        messages: mergeStored(now.messages, this.ingest(batch)),
        loadingOlder: false,
        atStart: after === 0,
      });
    } catch (err) {
      this.setConversation(key, { ...this.conversation(key), loadingOlder: false });
      this.fail(err);
    }
  }

  /** Shows the message at once as "sending", then as sent (202) or not sent. */
  async sendText(key: string, draft: Draft): Promise<void> {
    const me = this.state.me;
    const local: ChatMessage = {
      key: `local-${++this.localIds}`,
      id: undefined,
      seq: undefined,
      from: me.userId,
      content: draft.text,
      ts: Date.now(),
      mine: true,
      delivery: "sending",
      clientMsgId: newClientMsgId(),
      reactions: [],
    };
    if (draft.replyTo !== undefined) local.replyTo = draft.replyTo;
    if (draft.mentions && draft.mentions.length > 0) local.mentions = draft.mentions;
    if (draft.attachments && draft.attachments.length > 0) local.attachments = draft.attachments;
    const conv = this.conversation(key);
    this.setConversation(key, {
      ...conv,
      messages: appendPending(conv.messages, local),
      lastTs: local.ts,
    });
    await this.deliver(key, local);
  }

  /** Sends a message that could not be sent again, as the same bubble (and the same id). */
  async retry(key: string, messageKey: string): Promise<void> {
    const conv = this.conversation(key);
    const message = conv.messages.find((m) => m.key === messageKey);
    if (!message || message.delivery !== "error") return;
    this.setConversation(key, {
      ...conv,
      messages: conv.messages.map((m) =>
        m.key === messageKey ? { ...m, delivery: "sending" as const, error: undefined } : m,
      ),
    });
    await this.deliver(key, message);
  }

  discard(key: string, messageKey: string): void {
    const conv = this.conversation(key);
    this.setConversation(key, { ...conv, messages: removeMessage(conv.messages, messageKey) });
  }

  private async deliver(key: string, local: ChatMessage): Promise<void> {
    const ref = refOf(key);
    const opts = {
      clientMsgId: local.clientMsgId,
      replyTo: local.replyTo,
      attachments: local.attachments ? [...local.attachments] : undefined,
    };
    try {
      const accepted =
        ref.kind === "channel"
          ? await this.client.sendChannel(ref.channel, local.content, {
              ...opts,
              mentions: local.mentions ? [...local.mentions] : undefined,
            })
          : await this.client.send(ref.peer, local.content, { ...opts, receipt: true });
      const receipt = this.pendingReceipts.get(accepted.id);
      this.pendingReceipts.delete(accepted.id);
      const conv = this.conversation(key);
      this.setConversation(key, {
        ...conv,
        messages: confirmPending(conv.messages, local.key, accepted, receipt ?? "sent"),
      });
      void this.refreshReadBy(key);
    } catch (err) {
      const conv = this.conversation(key);
      const reason =
        ref.kind === "channel"
          ? describeMute(err, this.state.channelInfo[ref.channel]?.mutedUntil)
          : undefined;
      if (ref.kind === "channel" && reason !== undefined) this.learnMute(ref.channel, err);
      this.setConversation(key, {
        ...conv,
        messages: failPending(conv.messages, local.key, reason ?? describeError(err)),
      });
      if (isUnauthorized(err)) this.fail(err);
    }
  }

  /**
   * Uploads a file for the composer, refusing one past the server's limit before any byte
   * is sent (the reason is the error's message).
   */
  async upload(
    file: File,
    onProgress: (sent: number, total: number) => void,
  ): Promise<UploadedFile> {
    this.maxFileBytes ??= this.client.fileLimits().then((limits) => limits.maxBytes);
    const max = await this.maxFileBytes.catch(() => {
      this.maxFileBytes = undefined; // read again next time; the server still refuses with 413
      return Infinity;
    });
    if (file.size > max)
      throw new Error(
        `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(max)}`,
      );
    return this.client.upload(file, { name: file.name, onProgress });
  }

  /** Fresh signed links to a file shown in a message. */
  fileLink(fileId: string): Promise<FileLink> {
    return this.client.fileLink(fileId);
  }

  /** Changes come back as SDK events (the same ones every other device gets). */
  async editMessage(id: string, text: string): Promise<void> {
    await this.act(() => this.client.edit(id, text));
  }

  async recallMessage(id: string): Promise<void> {
    await this.act(() => this.client.recall(id));
  }

  /** Adds the reaction, or takes it back if this user has it there already. */
  async toggleReaction(key: string, id: string, emoji: string): Promise<void> {
    const message = this.conversation(key).messages.find((m) => m.id === id);
    const mine = message?.reactions.some((r) => r.emoji === emoji && r.me) ?? false;
    await this.act(() => (mine ? this.client.unreact(id, emoji) : this.client.react(id, emoji)));
  }

  /** Someone is typing in the composer (the SDK asks the server at most every 2 s). */
  typing(key: string): void {
    const ref = refOf(key);
    // A muted member's typing is refused like their posts: not asked for.
    const until = ref.kind === "channel" ? this.state.channelInfo[ref.channel]?.mutedUntil : 0;
    if (until !== undefined && until > Date.now()) return;
    this.client.typing(ref).catch((err: unknown) => this.fail(err, { quiet: true }));
  }

  /** "Read by N" of this user's newest message in a channel: on open, on activity, on a click. */
  async refreshReadBy(key: string): Promise<void> {
    const ref = refOf(key);
    if (ref.kind !== "channel") return;
    const mine = [...this.conversation(key).messages]
      .reverse()
      .find((m) => m.mine && m.seq !== undefined && !m.recalled);
    if (mine?.seq === undefined) return;
    try {
      const readers = await this.client.readers(ref.channel, mine.seq);
      // Sending moved this user's own cursor there: the others are everyone but them.
      this.setConversation(key, {
        ...this.conversation(key),
        readBy: { seq: readers.seq, count: Math.max(0, readers.count - 1) },
      });
    } catch (err) {
      this.fail(err, { quiet: true });
    }
  }

  /**
   * The channel from one read: its settings, this user's role (with their mute as last told),
   * its members and its counts (who is online changes with no push of its own).
   */
  private async readChannel(channel: string): Promise<void> {
    try {
      const info = await this.client.channelInfo(channel);
      this.wantNames(info.members);
      this.set({
        channelInfo: {
          ...this.state.channelInfo,
          [channel]: withMute(info, this.mutes.get(channel)),
        },
        members: { ...this.state.members, [channel]: info.members },
      });
      const { members, online, title, visibility } = info;
      this.setCounts({ name: channel, members: members.length, online, title, visibility });
    } catch (err) {
      this.fail(err, { quiet: true });
    }
  }

  private async act(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Moves the read cursor to the newest message shown, if the person can see it. */
  private markSeen(key: string): void {
    if (!this.inView(key)) return;
    const conv = this.conversation(key);
    const seq = Math.max(newestSeq(conv.messages), this.client.cursors()[key] ?? 0);
    const figures = this.client.unread(refOf(key));
    if (seq === 0 || (figures && figures.readSeq >= seq && figures.unread === 0)) return;
    this.client.markRead(refOf(key), seq).catch((err: unknown) => this.fail(err, { quiet: true }));
  }

  private inView(key: string): boolean {
    return this.state.active === key && document.visibilityState === "visible";
  }

  /** A message arrived in `key`: if it is the one in view, it is read in a moment. */
  private scheduleMarkSeen(key: string): void {
    if (this.markTimer || this.state.active !== key) return;
    this.markTimer = setTimeout(() => {
      this.markTimer = null;
      if (this.state.active) this.markSeen(this.state.active);
    }, MARK_READ_DELAY_MS);
  }

  // --- SDK events (arrow properties: the same function for on and off) ---

  private readonly onMessage = (push: MessageItem | BroadcastPush): void => {
    if ("broadcast" in push) {
      this.notify("info", `Announcement: ${contentText(push.content)}`);
      return;
    }
    const ref = conversationOf(push, this.state.me.userId);
    if (!ref) return;
    const key = cursorKey(ref);
    const conv = this.conversation(key);
    const [message] = this.ingest([push]);
    if (!message) return;
    const messages = mergeStored(conv.messages, [message]);
    const figures = this.client.unread(ref);
    // Their message is what they were typing.
    const typing = Object.fromEntries(
      Object.entries(conv.typing).filter(([userId]) => userId !== push.from),
    );
    // The conversation in view is being read: its count stays 0 until the server's says so.
    const seen = this.inView(key);
    this.setConversation(key, {
      ...conv,
      messages,
      unread: seen ? conv.unread : (figures?.unread ?? conv.unread),
      mentions: seen ? conv.mentions : (figures?.mentions ?? conv.mentions),
      lastTs: Math.max(conv.lastTs, push.ts),
      typing,
    });
    if (ref.kind === "channel" && !this.state.joined.includes(ref.channel)) void this.refresh();
    if (!message.mine) {
      this.scheduleMarkSeen(key);
      void this.refreshReadBy(key);
    }
    this.scheduleCursorSave();
  };

  private readonly onEdit = (edit: EditItem): void => {
    this.changeMessage(edit, (m) => ({ ...m, content: edit.content, editedAt: edit.ts }));
  };

  private readonly onRecall = (recall: RecallItem): void => {
    this.changeMessage(recall, (m) => ({
      ...m,
      content: undefined,
      replyTo: undefined,
      mentions: undefined,
      attachments: undefined,
      recalled: true,
      reactions: [],
    }));
  };

  private readonly onReaction = (reaction: ReactionEvent): void => {
    this.changeMessage(reaction, (m) => ({ ...m, reactions: reaction.reactions }));
  };

  private changeMessage(
    item: EditItem | RecallItem | ReactionEvent,
    change: (m: ChatMessage) => ChatMessage,
  ): void {
    const ref = conversationOf(item, this.state.me.userId);
    if (!ref) return;
    const key = cursorKey(ref);
    const conv = this.conversation(key);
    const messages = updateMessage(conv.messages, item.target, change);
    if (messages !== conv.messages) this.setConversation(key, { ...conv, messages });
    this.scheduleCursorSave();
  }

  private readonly onRead = (read: ReadEvent): void => {
    const key = cursorKey(read.conversation);
    const conv = this.conversation(key);
    if (read.userId !== this.state.me.userId) {
      if (read.seq > conv.peerReadSeq)
        this.setConversation(key, { ...conv, peerReadSeq: read.seq });
      return;
    }
    this.setConversation(key, { ...conv, unread: read.unread, mentions: read.mentions });
  };

  private readonly onTyping = (typing: TypingEvent): void => {
    if (typing.from === this.state.me.userId) return;
    const key = cursorKey(typing.conversation);
    const conv = this.conversation(key);
    this.wantNames([typing.from]);
    this.setConversation(key, {
      ...conv,
      typing: { ...conv.typing, [typing.from]: Date.now() + TYPING_MS },
    });
    this.scheduleTypingExpiry();
  };

  /** One timer for every "typing…": it clears what has run out, then waits for the next one. */
  private scheduleTypingExpiry(): void {
    if (this.typingTimer) return;
    let next = Infinity;
    for (const conv of Object.values(this.state.conversations)) {
      for (const until of Object.values(conv.typing)) next = Math.min(next, until);
    }
    if (next === Infinity) return;
    this.typingTimer = setTimeout(
      () => {
        this.typingTimer = null;
        const now = Date.now();
        const convs = { ...this.state.conversations };
        for (const [key, conv] of Object.entries(convs)) {
          const live = Object.entries(conv.typing).filter(([, until]) => until > now);
          if (live.length !== Object.keys(conv.typing).length) {
            convs[key] = { ...conv, typing: Object.fromEntries(live) };
          }
        }
        this.set({ conversations: convs });
        this.scheduleTypingExpiry();
      },
      Math.max(0, next - Date.now()),
    );
  }

  private readonly onFriend = (friend: FriendPush): void => {
    this.set({ names: { ...this.state.names, [friend.userId]: friend.username } });
    // "pending" does not say which side waits: the lists say it exactly, in one read.
    this.readFriends()
      .then(() => this.refreshPresence())
      .catch((err: unknown) => this.fail(err, { quiet: true }));
  };

  private readonly onConversation = (push: ConversationPush): void => {
    if (push.role !== undefined) this.changedStanding(push.channel, push.role, push.mutedUntil);
    this.setCounts({ ...this.countsOf(push.channel), members: push.members, online: push.online });
    // Joined from another device: its conversation and figures come with the lists.
    if (!this.state.joined.includes(push.channel)) void this.refresh();
    else if (this.state.active === `c:${push.channel}`) {
      if (push.role === undefined) void this.readChannel(push.channel); // else changedStanding did
      // The members panel is open on it: someone came or went.
      if (this.state.rosters[push.channel] && push.role === undefined) {
        void this.readRoster(push.channel);
      }
    }
  };

  /** A post refused with `muted` says until when: the composer shows it from now on. */
  private learnMute(channel: string, err: unknown): void {
    const role = this.state.channelInfo[channel]?.role;
    const until = (err as HeraldError).details.mutedUntil;
    if (role && typeof until === "number") this.noteStanding(channel, role, until);
  }

  /** This user's standing in a channel as just learned, kept for when its info is read again. */
  private noteStanding(channel: string, role: ChannelRole, mutedUntil: number | undefined): void {
    if (mutedUntil === undefined) this.mutes.delete(channel);
    else this.mutes.set(channel, mutedUntil);
    const info = this.state.channelInfo[channel];
    if (!info) return;
    const view = withMute({ ...info, role }, mutedUntil);
    this.set({ channelInfo: { ...this.state.channelInfo, [channel]: view } });
  }

  /** This user was promoted, demoted, muted or unmuted in a channel (a push). */
  private changedStanding(channel: string, role: ChannelRole, mutedUntil: number | undefined) {
    this.noteStanding(channel, role, mutedUntil);
    // The owner may have changed too (a hand-over): the channel says, and its members.
    void this.readChannel(channel);
    if (this.state.rosters[channel]) void this.readRoster(channel);
  }

  private readonly onInvited = (push: InvitedPush): void => {
    this.wantNames([push.by]);
    const others = this.state.invites.filter((i) => i.channel !== push.channel);
    this.set({ invites: [{ channel: push.channel, by: push.by, ts: push.ts }, ...others] });
  };

  private readonly onRemoved = (push: RemovedPush): void => {
    if (!this.state.joined.includes(push.channel) && !this.state.channelInfo[push.channel]) {
      return;
    }
    this.forgetChannel(push.channel);
    this.notify(
      "info",
      push.reason === "banned"
        ? `You were banned from #${push.channel}.`
        : `You were removed from #${push.channel}.`,
    );
    // A private channel leaves the list of channels too.
    void this.refresh();
  };

  private readonly onReceipt = (receipt: ReceiptPush): void => {
    const key = `d:${receipt.to}`;
    const conv = this.state.conversations[key];
    const known = conv?.messages.some((m) => m.id === receipt.messageId);
    if (!conv || !known) {
      // The receipt overtook its message: applied by the 202 or when the message arrives by push
      // or history (ingest), whichever comes first. Bounded: a receipt for a message sent from
      // another device and never loaded here never finds it.
      this.pendingReceipts.set(receipt.messageId, receipt.status);
      if (this.pendingReceipts.size > MAX_PENDING_RECEIPTS) {
        const oldest = this.pendingReceipts.keys().next().value;
        if (oldest !== undefined) this.pendingReceipts.delete(oldest);
      }
      return;
    }
    const messages = setDelivery(conv.messages, receipt.messageId, receipt.status);
    if (messages !== conv.messages) this.setConversation(key, { ...conv, messages });
  };

  private readonly onPresence = (presence: PresencePush): void => {
    const friends = this.state.friends;
    if (!friends.some((f) => f.userId === presence.userId)) return;
    this.set({
      friends: friends.map((f) =>
        f.userId === presence.userId ? { ...f, online: presence.online } : f,
      ),
    });
  };

  private readonly onStatus = (status: ConnectionStatus): void => {
    this.set({ status });
    // Presence pushes missed while away: ask once more for the dots of every friend.
    if (status === "connected") void this.refreshPresence();
  };

  private readonly onKicked = (kicked: KickedPush): void => {
    if (kicked.reason === "logout") {
      this.end({ reason: "expired", message: "You were logged out." });
    } else if (kicked.reason === "force_offline") {
      this.end({ reason: "kicked", message: "An operator disconnected this session." });
    }
    // shutdown, rebalance, slow_consumer: the SDK reconnects by itself.
  };

  private readonly onVisibility = (): void => {
    if (document.visibilityState !== "visible") return;
    void this.refresh();
    if (this.state.active) this.markSeen(this.state.active);
  };

  private readonly onClientError = (error: HeraldError): void => {
    this.fail(error);
  };

  private async refreshPresence(): Promise<void> {
    const ids = this.state.friends.map((f) => f.userId);
    if (ids.length === 0) return;
    try {
      const online = await this.client.presence(ids);
      this.set({
        friends: this.state.friends.map((f) =>
          f.userId in online ? { ...f, online: online[f.userId] === true } : f,
        ),
      });
    } catch (err) {
      this.fail(err, { quiet: true });
    }
  }

  // --- names ---

  /** Turns stored items into view messages, and asks for the names they bring up. */
  private ingest(items: readonly StreamItem[]): ChatMessage[] {
    const me = this.state.me.userId;
    const messages = items.filter((i): i is MessageItem => i.kind === "message");
    this.wantNames(messages.flatMap((m) => [m.from, ...(m.mentions ?? [])]));
    return messages.map((m) => {
      // Our own message arriving by push or history before its 202: a receipt heard first.
      const receipt = m.from === me ? this.pendingReceipts.get(m.id) : undefined;
      if (receipt) this.pendingReceipts.delete(m.id);
      return fromItem(m, me, receipt);
    });
  }

  /** Names not known yet are looked up together, a moment later, once each. */
  private wantNames(ids: readonly string[]): void {
    for (const id of ids) {
      if (this.state.names[id] !== undefined || this.nameLookups.has(id)) continue;
      this.nameLookups.add(id);
      this.nameQueue.push(id);
    }
    if (this.nameQueue.length === 0 || this.nameTimer) return;
    this.nameTimer = setTimeout(() => {
      this.nameTimer = null;
      const ids = this.nameQueue;
      this.nameQueue = [];
      this.client
        .users(ids)
        .then((users) => {
          const names = { ...this.state.names };
          for (const u of users) names[u.userId] = u.username;
          this.set({ names });
        })
        .catch((err: unknown) => {
          for (const id of ids) this.nameLookups.delete(id); // asked again when next seen
          this.fail(err, { quiet: true });
        });
    }, NAME_LOOKUP_DELAY_MS);
  }

  // --- notices and failures ---

  notify(kind: Notice["kind"], text: string): void {
    const notice: Notice = { id: ++this.noticeIds, kind, text };
    this.set({ notices: [...this.state.notices.slice(-2), notice] });
    setTimeout(() => this.dismiss(notice.id), NOTICE_MS);
  }

  dismiss(id: number): void {
    if (!this.state.notices.some((n) => n.id === id)) return;
    this.set({ notices: this.state.notices.filter((n) => n.id !== id) });
  }

  /** A 401 ends the session; other failures become a notice unless `quiet`. */
  private fail(err: unknown, opts: { quiet?: boolean } = {}): void {
    if (this.stopped) return;
    if (isUnauthorized(err)) {
      this.end({ reason: "expired", message: "Your session has ended. Please log in again." });
      return;
    }
    if (!opts.quiet) this.notify("error", describeError(err));
  }

  private end(end: SessionEnd): void {
    if (this.stopped) return;
    this.stop();
    this.onEnd(end);
  }

  // --- state ---

  /** The channel's summary as known (its name alone when not yet listed). */
  private countsOf(name: string): ChannelSummary {
    return this.state.channels.find((c) => c.name === name) ?? { name, members: 0, online: 0 };
  }

  private setCounts(counts: ChannelSummary): void {
    const known = this.state.channels.some((c) => c.name === counts.name);
    this.set({
      channels: known
        ? this.state.channels.map((c) => (c.name === counts.name ? counts : c))
        : [...this.state.channels, counts],
    });
  }

  /** A conversation with its figures: the SDK's (a summary older than what it counted loses). */
  private withFigures(conv: ConversationState, c: ConversationSummary): ConversationState {
    const figures = this.client.unread(c) ?? c;
    return {
      ...conv,
      unread: figures.unread,
      mentions: figures.mentions,
      peerReadSeq: Math.max(conv.peerReadSeq, figures.peerReadSeq ?? 0),
      lastTs: Math.max(conv.lastTs, c.lastTs),
    };
  }

  private conversation(key: string): ConversationState {
    return this.state.conversations[key] ?? EMPTY_CONVERSATION;
  }

  private setConversation(key: string, conv: ConversationState, extra: Partial<ChatState> = {}) {
    this.set({ ...extra, conversations: { ...this.state.conversations, [key]: conv } });
  }

  private set(patch: Partial<ChatState>): void {
    if (this.stopped) return;
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  private scheduleCursorSave(): void {
    if (this.cursorTimer) return;
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = null;
      this.persistCursors();
    }, 500);
  }

  /** The SDK's cursors outlive a reload, so what arrived while the page was closed shows up. */
  persistCursors(): void {
    saveCursors(this.state.me.userId, this.client.cursors());
  }
}

/** `current` if `next` holds the same plain data (small lists from JSON), else `next`. */
function same<T>(current: T, next: T): T {
  return JSON.stringify(current) === JSON.stringify(next) ? current : next;
}

/** `record` less the entry `key`. */
function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}

/** A channel with this user's mute: `until` while it is still ahead, else none. */
function withMute(info: ChannelInfo, until: number | undefined): ChannelView {
  const view: ChannelView = { ...info };
  if (until !== undefined && until > Date.now()) view.mutedUntil = until;
  else delete view.mutedUntil;
  return view;
}

function sortByName<T extends User>(users: readonly T[]): T[] {
  return [...users].sort((a, b) => a.username.localeCompare(b.username));
}
