// Everything the signed-in page knows, kept in one immutable state object and changed only here.
// It listens to the SDK (messages, receipts, presence, status) and runs the person's actions
// through it; the components only read the state and call these methods.
import {
  conversationOf,
  cursorKey,
  type BroadcastPush,
  type ChannelSummary,
  type ConnectionStatus,
  type ConversationRef,
  type HeraldClient,
  type HeraldError,
  type KickedPush,
  type MessagePush,
  type PresencePush,
  type ReceiptPush,
  type User,
} from "../sdk.js";
import { channelContent, claimedUsername, contentText } from "./content.js";
import {
  appendPending,
  confirmPending,
  failPending,
  fromPush,
  mergeStored,
  oldestSeq,
  removeMessage,
  setDelivery,
  type ChatMessage,
  type Delivery,
} from "./conversation-log.js";
import { describeError, isUnauthorized } from "./errors.js";
import { saveCursors } from "./saved-session.js";

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
  unread: number;
  lastTs: number;
  error: string | undefined;
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
  /** userId → username, for everyone whose name the server has confirmed. */
  names: Readonly<Record<string, string>>;
  conversations: Readonly<Record<string, ConversationState>>;
  /** The conversation in view (its cursor key), or null for the list. */
  active: string | null;
  notices: readonly Notice[];
}

/** Why the page went back to the login form. */
export type SessionEnd = { reason: "logout" } | { reason: "expired" | "kicked"; message: string };

export const PAGE_SIZE = 50;
/** How often lists without a push of their own (requests, channel counts) are re-read. */
const REFRESH_MS = 2500;
const NOTICE_MS = 5000;
const MAX_PENDING_RECEIPTS = 256;
/** A bound on forward history reads when opening a conversation. */
const MAX_FORWARD_PAGES = 20;

/** What a conversation the page has not loaded yet looks like. */
export const EMPTY_CONVERSATION: ConversationState = {
  messages: [],
  loaded: false,
  loadingOlder: false,
  atStart: false,
  unread: 0,
  lastTs: 0,
  error: undefined,
};

export function refOf(key: string): ConversationRef {
  return key.startsWith("c:")
    ? { kind: "channel", channel: key.slice(2) }
    : { kind: "direct", peer: key.slice(2) };
}

export class ChatModel {
  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly pendingReceipts = new Map<string, Delivery>();
  private readonly nameLookups = new Set<string>();
  private refreshTimer: ReturnType<typeof setInterval> | null = null;
  private cursorTimer: ReturnType<typeof setTimeout> | null = null;
  private localIds = 0;
  private noticeIds = 0;
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
   * Wires the SDK's events, reads the lists and connects (reconnecting by itself). `onEnd` is
   * called once if the session ends (logout, 401, a kick that ends it).
   */
  start(onEnd: (end: SessionEnd) => void): void {
    this.onEnd = onEnd;
    this.client.on("message", this.onMessage);
    this.client.on("receipt", this.onReceipt);
    this.client.on("presence", this.onPresence);
    this.client.on("kicked", this.onKicked);
    this.client.on("status", this.onStatus);
    this.client.on("error", this.onClientError);
    this.refreshTimer = setInterval(() => {
      // A tab in the background does not poll; it catches up when it is shown again.
      if (document.visibilityState === "visible") void this.refresh({ membership: false });
    }, REFRESH_MS);
    document.addEventListener("visibilitychange", this.onVisibility);
    void this.refresh();
    this.client.connect().catch((err: unknown) => this.fail(err));
  }

  /** Stops listening and disconnects; the model is not used again. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.persistCursors();
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.cursorTimer) clearTimeout(this.cursorTimer);
    this.client.off("message", this.onMessage);
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
   * Re-reads friends, requests and channel counts, which have no push of their own; with
   * `membership`, also which channels this user is in (that changes by this user's own actions,
   * or from another of their devices).
   */
  async refresh(opts: { membership?: boolean } = {}): Promise<void> {
    try {
      const [lists, channels, conversations] = await Promise.all([
        this.client.friends(),
        this.client.channels(),
        opts.membership === false ? null : this.client.conversations(),
      ]);
      if (this.stopped) return;
      const names = { ...this.state.names };
      for (const u of [...lists.friends, ...lists.incoming, ...lists.outgoing]) {
        names[u.userId] = u.username;
      }
      // Unchanged lists keep their identity, so a poll that finds nothing new re-renders nothing.
      const s = this.state;
      const patch: Partial<ChatState> = {
        friends: same(s.friends, sortByName(lists.friends)),
        incoming: same(s.incoming, lists.incoming),
        outgoing: same(s.outgoing, lists.outgoing),
        channels: same(s.channels, channels),
        names: same(s.names, names),
      };
      if (conversations) {
        const joined: string[] = [];
        const convs = { ...this.state.conversations };
        for (const c of conversations) {
          if (c.kind === "channel") joined.push(c.channel);
          const key = cursorKey(c);
          const conv = convs[key] ?? EMPTY_CONVERSATION;
          if (c.lastTs > conv.lastTs) convs[key] = { ...conv, lastTs: c.lastTs };
        }
        patch.joined = same(
          s.joined,
          joined.sort((a, b) => a.localeCompare(b)),
        );
        patch.conversations = convs;
      }
      if (Object.entries(patch).some(([k, v]) => v !== s[k as keyof ChatState])) this.set(patch);
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
      await this.refresh();
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  async acceptFriend(userId: string): Promise<void> {
    try {
      await this.client.requestFriend(userId);
      await this.refresh();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Declines an incoming request, cancels an outgoing one, or unfriends. */
  async removeFriend(userId: string): Promise<void> {
    try {
      await this.client.removeFriend(userId);
      if (this.state.active === `d:${userId}`) this.set({ active: null });
      await this.refresh();
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
      const key = `c:${name}`;
      const conversations = Object.fromEntries(
        Object.entries(this.state.conversations).filter(([k]) => k !== key),
      );
      this.set({
        joined: this.state.joined.filter((n) => n !== name),
        active: this.state.active === key ? null : this.state.active,
        conversations,
      });
      await this.refresh();
    } catch (err) {
      this.fail(err);
    }
  }

  // --- conversations ---

  /** Shows a conversation (null: the list); loads its newest history the first time. */
  open(key: string | null): void {
    if (key === null) {
      this.set({ active: null });
      return;
    }
    const conv = this.conversation(key);
    this.setConversation(key, { ...conv, unread: 0 }, { active: key });
    if (!conv.loaded) void this.loadNewest(key);
  }

  private async loadNewest(key: string): Promise<void> {
    const ref = refOf(key);
    try {
      const summaries = await this.client.conversations();
      const summary = summaries.find((c) => cursorKey(c) === key);
      const lastSeq = summary?.lastSeq ?? 0;
      let after = Math.max(0, lastSeq - PAGE_SIZE);
      const start = after;
      let fetched: MessagePush[] = [];
      // Forward from the newest page; more pages only if messages arrived meanwhile.
      for (let page = 0; page < MAX_FORWARD_PAGES && lastSeq > 0; page++) {
        const batch = await this.client.history(ref, { after, limit: PAGE_SIZE });
        fetched = fetched.concat(batch);
        const last = batch[batch.length - 1];
        if (batch.length < PAGE_SIZE || !last) break;
        after = last.seq;
      }
      const conv = this.conversation(key);
      this.setConversation(key, {
        ...conv,
        messages: mergeStored(conv.messages, this.ingest(fetched)),
        loaded: true,
        atStart: start === 0,
        error: undefined,
      });
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
  async sendText(key: string, text: string): Promise<void> {
    const ref = refOf(key);
    const me = this.state.me;
    const content = ref.kind === "channel" ? channelContent(text, me.username) : text;
    const local: ChatMessage = {
      key: `local-${++this.localIds}`,
      id: undefined,
      seq: undefined,
      from: me.userId,
      content,
      ts: Date.now(),
      mine: true,
      delivery: "sending",
    };
    const conv = this.conversation(key);
    this.setConversation(key, {
      ...conv,
      messages: appendPending(conv.messages, local),
      lastTs: local.ts,
    });
    await this.deliver(key, local);
  }

  /** Sends a message that could not be sent again, as the same bubble. */
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
    try {
      const accepted =
        ref.kind === "channel"
          ? await this.client.sendChannel(ref.channel, local.content)
          : await this.client.send(ref.peer, local.content, { receipt: true });
      const receipt = this.pendingReceipts.get(accepted.id);
      this.pendingReceipts.delete(accepted.id);
      const conv = this.conversation(key);
      this.setConversation(key, {
        ...conv,
        messages: confirmPending(conv.messages, local.key, accepted, receipt ?? "sent"),
      });
    } catch (err) {
      const conv = this.conversation(key);
      this.setConversation(key, {
        ...conv,
        messages: failPending(conv.messages, local.key, describeError(err)),
      });
      if (isUnauthorized(err)) this.fail(err);
    }
  }

  // --- SDK events (arrow properties: the same function for on and off) ---

  private readonly onMessage = (push: MessagePush | BroadcastPush): void => {
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
    if (messages === conv.messages) return;
    const unseen = !message.mine && this.state.active !== key;
    this.setConversation(key, {
      ...conv,
      messages,
      unread: conv.unread + (unseen ? 1 : 0),
      lastTs: Math.max(conv.lastTs, push.ts),
    });
    if (ref.kind === "channel" && !this.state.joined.includes(ref.channel)) void this.refresh();
    this.scheduleCursorSave();
  };

  private readonly onReceipt = (receipt: ReceiptPush): void => {
    const key = `d:${receipt.to}`;
    const conv = this.state.conversations[key];
    const known = conv?.messages.some((m) => m.id === receipt.messageId);
    if (!conv || !known) {
      // The receipt overtook the 202 of its own message: apply it once the id is known.
      // Bounded: receipts for messages sent from another device never find their message here.
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
    if (document.visibilityState === "visible") void this.refresh();
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

  /** Turns pushes into view messages, and looks up names a channel post claims. */
  private ingest(pushes: readonly MessagePush[]): ChatMessage[] {
    const me = this.state.me.userId;
    for (const push of pushes) {
      if (push.channel === undefined || this.state.names[push.from] !== undefined) continue;
      const claimed = claimedUsername(push.content);
      if (claimed !== undefined) void this.verifyName(push.from, claimed);
    }
    return pushes.map((p) => fromPush(p, me));
  }

  /** A name is shown only once the server says it belongs to that user id. */
  private async verifyName(userId: string, username: string): Promise<void> {
    const lookup = `${userId}/${username.toLowerCase()}`;
    if (this.nameLookups.has(lookup)) return;
    this.nameLookups.add(lookup);
    try {
      const user = await this.client.findUser(username);
      if (user && user.userId === userId) {
        this.set({ names: { ...this.state.names, [userId]: user.username } });
      }
    } catch (err) {
      this.fail(err, { quiet: true });
    }
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

function sortByName<T extends User>(users: readonly T[]): T[] {
  return [...users].sort((a, b) => a.username.localeCompare(b.username));
}
