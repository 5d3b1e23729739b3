// The client SDK: its ordering/dedup/gap logic in isolation with a fake history, its HTTP error
// mapping, and end to end against a real single-node Herald (memory engine, real sockets).
import { expect } from "chai";
import { testConfig } from "./helpers/config.js";
import type {
  BroadcastPush,
  KickedPush,
  MessagePush,
  PresencePush,
  ReceiptPush,
  StreamItem,
} from "../engine/protocol.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import { encode, topics, type KickCommand } from "../engine/wire.js";
import { startHerald, type Herald } from "../herald.js";
import {
  HeraldClient,
  type ConnectionStatus,
  type ConversationPush,
  type EditItem,
  type FriendPush,
  type HeraldClientOptions,
  type ReactionEvent,
  type ReadEvent,
  type RecallItem,
  type TypingEvent,
} from "../client/sdk.js";
import { backoffDelay } from "../client/backoff.js";
import {
  ConversationStreams,
  type FetchPage,
  type FoldedItem,
} from "../client/conversation-stream.js";
import { ReadState } from "../client/read-state.js";
import { HeraldError, HttpClient } from "../client/http.js";
import { Connection } from "../client/connection.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";

function msg(seq: number, key = "d:peer", id = `${key}#${seq}`): MessagePush {
  return { id, seq, kind: "message", from: "peer", to: "me", content: { n: seq }, ts: 1000 + seq };
}

/** A fake history: the messages stored per conversation, with a log of every page asked for. */
class FakeHistory {
  readonly stored = new Map<string, StreamItem[]>();
  readonly calls: { key: string; after: number; limit: number }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  failNext = 0;
  unreadable = new Set<string>();
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;

  store(key: string, upTo: number): void {
    this.stored.set(
      key,
      Array.from({ length: upTo }, (_, i) => msg(i + 1, key)),
    );
  }

  /** Holds every fetch until release(), to observe what happens while a fill is in flight. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = null;
  }

  readonly fetchPage: FetchPage = async (key, after, limit) => {
    this.calls.push({ key, after, limit });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.gate) await this.gate;
      else await Promise.resolve();
      if (this.failNext > 0) {
        this.failNext--;
        throw new HeraldError(503, "unavailable", "down");
      }
      if (this.unreadable.has(key)) return null;
      return (this.stored.get(key) ?? []).filter((m) => m.seq > after).slice(0, limit);
    } finally {
      this.inFlight--;
    }
  };
}

function streamsWith(
  history: FakeHistory,
  opts: { cursors?: Record<string, number>; pageSize?: number; gapGraceMs?: number } = {},
) {
  const emitted: { key: string; seq: number; id: string }[] = [];
  const errors: string[] = [];
  const streams = new ConversationStreams({
    fetchPage: history.fetchPage,
    emit: (key, m) => emitted.push({ key, seq: m.seq, id: m.id }),
    cursors: opts.cursors,
    pageSize: opts.pageSize ?? 200,
    gapGraceMs: opts.gapGraceMs ?? 0,
    onFillError: (key) => errors.push(key),
  });
  const seqs = (key = "d:peer") => emitted.filter((e) => e.key === key).map((e) => e.seq);
  return { streams, emitted, errors, seqs };
}

describe("SDK conversation stream (ordering, dedup, gaps)", () => {
  it("emits consecutive pushes once each and drops repeats by seq and by id", () => {
    const history = new FakeHistory();
    const { streams, seqs, emitted } = streamsWith(history, { cursors: { "d:peer": 0 } });
    streams.accept("d:peer", msg(1));
    streams.accept("d:peer", msg(2));
    streams.accept("d:peer", msg(2));
    streams.accept("d:peer", msg(1));
    // The same id under a new seq is still the same message.
    streams.accept("d:peer", { ...msg(3), id: "d:peer#2" });
    expect(seqs()).to.deep.equal([1, 2]);
    expect(emitted.map((e) => e.id)).to.deep.equal(["d:peer#1", "d:peer#2"]);
    expect(history.calls).to.deep.equal([]);
    expect(streams.cursors()).to.deep.equal({ "d:peer": 3 });
  });

  it("on a seq gap buffers the later message, fetches history after the cursor, emits in order", async () => {
    const history = new FakeHistory();
    history.store("d:peer", 5);
    const { streams, seqs } = streamsWith(history, { cursors: { "d:peer": 1 } });
    streams.accept("d:peer", msg(5));
    expect(seqs()).to.deep.equal([]);
    await streams.idle();
    expect(seqs()).to.deep.equal([2, 3, 4, 5]);
    expect(history.calls[0]).to.deep.include({ key: "d:peer", after: 1 });
    expect(streams.cursors()["d:peer"]).to.equal(5);
  });

  it("a missing push that arrives within the grace period closes the gap without a fetch", async () => {
    const history = new FakeHistory();
    history.store("d:peer", 3);
    const { streams, seqs } = streamsWith(history, { cursors: { "d:peer": 1 }, gapGraceMs: 50 });
    streams.accept("d:peer", msg(3));
    streams.accept("d:peer", msg(2));
    expect(seqs()).to.deep.equal([2, 3]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(history.calls).to.deep.equal([]);
  });

  it("fills page by page until caught up", async () => {
    const history = new FakeHistory();
    history.store("c:room", 8);
    const { streams, seqs } = streamsWith(history, {
      cursors: { "c:room": 0 },
      pageSize: 3,
    });
    streams.accept("c:room", msg(8, "c:room"));
    await streams.idle();
    expect(seqs("c:room")).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(history.calls.map((c) => c.after)).to.deep.equal([0, 3, 6]);
  });

  it("serialises fills per conversation and emits pushes that arrive mid-fill in order, once", async () => {
    const history = new FakeHistory();
    history.store("d:peer", 10);
    const { streams, seqs } = streamsWith(history, { cursors: { "d:peer": 0 }, pageSize: 4 });
    history.hold();
    streams.accept("d:peer", msg(3));
    void streams.catchUp("d:peer", 6);
    streams.accept("d:peer", msg(1)); // the cursor's next: emitted at once, even mid-fill
    streams.accept("d:peer", msg(10)); // raises the target of the running fill
    expect(seqs()).to.deep.equal([1]);
    history.release();
    await streams.idle();
    expect(seqs()).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(history.maxInFlight).to.equal(1);
    expect(history.calls.map((c) => c.after)).to.deep.equal([0, 4, 8]);
  });

  it("catchUp fetches only what is past the cursor", async () => {
    const history = new FakeHistory();
    history.store("d:peer", 4);
    const { streams, seqs } = streamsWith(history, { cursors: { "d:peer": 2 } });
    await streams.catchUp("d:peer", 2);
    expect(history.calls).to.deep.equal([]);
    await streams.catchUp("d:peer", 4);
    expect(seqs()).to.deep.equal([3, 4]);
    expect(history.calls).to.deep.equal([{ key: "d:peer", after: 2, limit: 200 }]);
  });

  it("baseline: unknown conversations start at their lastSeq, later ones at 0", async () => {
    const history = new FakeHistory();
    history.store("d:old", 5);
    history.store("d:new", 2);
    const { streams, seqs } = streamsWith(history);
    streams.baseline([{ key: "d:old", lastSeq: 5 }]);
    await streams.catchUp("d:old", 5);
    await streams.catchUp("d:new", 2);
    expect(seqs("d:old")).to.deep.equal([]);
    expect(seqs("d:new")).to.deep.equal([1, 2]);
    // A later baseline changes nothing: only the first look counts.
    streams.baseline([{ key: "d:other", lastSeq: 9 }]);
    streams.accept("d:other", msg(1, "d:other"));
    expect(seqs("d:other")).to.deep.equal([1]);
  });

  it("saved cursors are the baseline: they win, and conversations unknown to them start at 0", async () => {
    const history = new FakeHistory();
    history.store("d:kept", 5);
    history.store("d:begun-while-away", 3);
    const { streams, seqs } = streamsWith(history, { cursors: { "d:kept": 3 } });
    streams.baseline([
      { key: "d:kept", lastSeq: 5 },
      { key: "d:begun-while-away", lastSeq: 3 },
    ]);
    await streams.catchUp("d:kept", 5);
    await streams.catchUp("d:begun-while-away", 3);
    expect(seqs("d:kept")).to.deep.equal([4, 5]);
    expect(seqs("d:begun-while-away")).to.deep.equal([1, 2, 3]);
  });

  it("after the baseline, a conversation that does not start at zero starts where first met", async () => {
    const history = new FakeHistory();
    history.store("c:late", 9);
    const emitted: string[] = [];
    const streams = new ConversationStreams({
      fetchPage: history.fetchPage,
      emit: (key, m) => emitted.push(`${key}#${m.seq}`),
      gapGraceMs: 0,
      startsAtZero: (key) => key.startsWith("d:"),
    });
    streams.baseline([]);
    await streams.catchUp("c:late", 9);
    streams.accept("c:pushed", msg(4, "c:pushed"));
    streams.accept("d:new", msg(1, "d:new"));
    expect(emitted).to.deep.equal(["c:pushed#4", "d:new#1"]);
    expect(history.calls).to.deep.equal([]);
    expect(streams.cursors()).to.deep.equal({ "c:late": 9, "c:pushed": 4, "d:new": 1 });
  });

  it("a conversation met mid-stream starts at the earliest message of the grace: overtaken pushes are not lost", async () => {
    const history = new FakeHistory();
    const emitted: string[] = [];
    const streams = new ConversationStreams({
      fetchPage: history.fetchPage,
      emit: (key, m) => emitted.push(`${key}#${m.seq}`),
      gapGraceMs: 30,
      startsAtZero: (key) => key.startsWith("d:"),
    });
    streams.baseline([]);
    // Two messages posted after the join, whose pushes (or the sender's 202) cross.
    streams.accept("c:joined", msg(6, "c:joined"));
    streams.accept("c:joined", msg(5, "c:joined"));
    streams.accept("c:joined", msg(6, "c:joined"));
    await wait(80);
    expect(emitted).to.deep.equal(["c:joined#5", "c:joined#6"]);
    streams.accept("c:joined", msg(7, "c:joined"));
    expect(emitted).to.deep.equal(["c:joined#5", "c:joined#6", "c:joined#7"]);
    expect(history.calls).to.deep.equal([]);
    streams.dispose();
  });

  it("before any baseline, a conversation first met through a message starts at that message", () => {
    const history = new FakeHistory();
    const { streams, seqs } = streamsWith(history);
    streams.accept("d:peer", msg(7));
    expect(seqs()).to.deep.equal([7]);
    expect(history.calls).to.deep.equal([]);
  });

  it("a failed fill keeps what is buffered and reports it; a later catchUp recovers", async () => {
    const history = new FakeHistory();
    history.store("d:peer", 4);
    const { streams, seqs, errors } = streamsWith(history, { cursors: { "d:peer": 1 } });
    history.failNext = 1;
    streams.accept("d:peer", msg(4));
    await streams.idle();
    expect(errors).to.deep.equal(["d:peer"]);
    expect(seqs()).to.deep.equal([]);
    await streams.catchUp("d:peer", 4);
    expect(seqs()).to.deep.equal([2, 3, 4]);
  });

  it("a conversation that can no longer be read emits what it buffered, past the gap", async () => {
    const history = new FakeHistory();
    const { streams, seqs } = streamsWith(history, { cursors: { "c:gone": 1 } });
    history.unreadable.add("c:gone");
    streams.accept("c:gone", msg(4, "c:gone"));
    streams.accept("c:gone", msg(6, "c:gone"));
    await streams.idle();
    expect(seqs("c:gone")).to.deep.equal([4, 6]);
    streams.accept("c:gone", msg(5, "c:gone"));
    expect(seqs("c:gone")).to.deep.equal([4, 6]);
  });
});

describe("SDK stream fold (edits, recalls, reactions)", () => {
  const base = (seq: number) => ({ id: `i${seq}`, seq, from: "peer", to: "me", ts: 1000 + seq });
  const edit = (seq: number, target: string, content: unknown): StreamItem => ({
    ...base(seq),
    kind: "edit",
    target,
    content,
  });
  const recall = (seq: number, target: string): StreamItem => ({
    ...base(seq),
    kind: "recall",
    target,
  });
  const reaction = (
    seq: number,
    target: string,
    emoji: string,
    op: "add" | "remove",
    from = "peer",
  ): StreamItem => ({ ...base(seq), from, kind: "reaction", target, emoji, op });

  function folded(opts: { cursors?: Record<string, number> } = {}) {
    const history = new FakeHistory();
    const events: FoldedItem[] = [];
    const ordered: number[] = [];
    const streams = new ConversationStreams({
      fetchPage: history.fetchPage,
      emit: (_key, item) => events.push(item),
      ordered: (_key, item) => ordered.push(item.seq),
      me: () => "me",
      cursors: opts.cursors ?? { "d:peer": 0 },
      gapGraceMs: 0,
    });
    const summary = () =>
      events.map((e) =>
        e.kind === "reaction"
          ? `${e.kind}:${e.target}:${e.reactions.map((r) => `${r.emoji}${r.count}${r.me ? "*" : ""}`).join(",")}`
          : `${e.kind}:${e.kind === "message" ? e.id : e.target}`,
      );
    return { history, streams, events, ordered, summary };
  }

  it("emits a message once, then its edit, reactions and recall in seq order; nothing after a recall", () => {
    const { streams, events, summary } = folded();
    streams.accept("d:peer", msg(1));
    streams.accept("d:peer", edit(2, "d:peer#1", "changed"));
    streams.accept("d:peer", reaction(3, "d:peer#1", "👍", "add"));
    streams.accept("d:peer", reaction(4, "d:peer#1", "👍", "add", "me"));
    streams.accept("d:peer", reaction(5, "d:peer#1", "🎉", "add", "me"));
    streams.accept("d:peer", reaction(6, "d:peer#1", "👍", "remove", "me"));
    streams.accept("d:peer", reaction(7, "d:peer#1", "🎉", "remove", "me"));
    streams.accept("d:peer", recall(8, "d:peer#1"));
    streams.accept("d:peer", edit(9, "d:peer#1", "too late"));
    expect(summary()).to.deep.equal([
      "message:d:peer#1",
      "edit:d:peer#1",
      "reaction:d:peer#1:👍1",
      "reaction:d:peer#1:👍2*",
      "reaction:d:peer#1:👍2*,🎉1*",
      "reaction:d:peer#1:👍1,🎉1*",
      "reaction:d:peer#1:👍1",
      "recall:d:peer#1",
    ]);
    expect(events[1]).to.deep.include({ kind: "edit", content: "changed" });
  });

  it("an item whose target the app never loaded raises nothing, yet keeps the order moving", () => {
    const { streams, ordered, summary } = folded();
    streams.accept("d:peer", edit(1, "never-loaded", "x"));
    streams.accept("d:peer", reaction(2, "never-loaded", "👍", "add"));
    streams.accept("d:peer", msg(3));
    expect(summary()).to.deep.equal(["message:d:peer#3"]);
    expect(ordered).to.deep.equal([1, 2, 3]);
    expect(streams.cursors()).to.deep.equal({ "d:peer": 3 });
  });

  it("a message the app loaded from history takes later changes only, and is not emitted again", () => {
    const { streams, ordered, summary } = folded({ cursors: { "d:peer": 3 } });
    // History as of seq 5: message 4 already shows the reaction at seq 5.
    streams.loaded("d:peer", [
      { ...msg(4), reactions: [{ emoji: "👍", count: 1, me: false }] },
      reaction(5, "d:peer#4", "👍", "add"),
    ]);
    streams.accept("d:peer", msg(4));
    streams.accept("d:peer", reaction(5, "d:peer#4", "👍", "add"));
    streams.accept("d:peer", reaction(6, "d:peer#4", "👍", "add", "me"));
    expect(summary()).to.deep.equal(["reaction:d:peer#4:👍2*"]);
    expect(ordered).to.deep.equal([4, 5, 6]);
  });

  it("a gap filled from history folds nothing twice: messages there are already current", async () => {
    const { history, streams, summary } = folded();
    history.stored.set("d:peer", [
      {
        ...msg(1),
        content: "edited",
        editedAt: 1002,
        reactions: [{ emoji: "👍", count: 2, me: true }],
      },
      edit(2, "d:peer#1", "edited"),
      reaction(3, "d:peer#1", "👍", "add", "me"),
      reaction(4, "d:peer#1", "👍", "add"),
    ]);
    streams.accept("d:peer", reaction(4, "d:peer#1", "👍", "add"));
    await streams.idle();
    expect(summary()).to.deep.equal(["message:d:peer#1"]);
    streams.accept("d:peer", reaction(5, "d:peer#1", "👍", "remove", "me"));
    expect(summary()).to.deep.equal(["message:d:peer#1", "reaction:d:peer#1:👍1"]);
  });
});

describe("SDK read figures (unread, mentions, cursors)", () => {
  const item = (seq: number, from: string, extra: Partial<MessagePush> = {}): StreamItem => ({
    ...msg(seq, "c:room"),
    from,
    ...extra,
  });

  function tracker() {
    const stale: string[] = [];
    const reads = new ReadState(
      () => "me",
      (key) => stale.push(key),
    );
    return { reads, stale, unread: () => reads.figures("c:room")?.unread };
  }

  it("counts others' messages after the summary, never mine; sending reads everything before it", () => {
    const { reads, unread } = tracker();
    reads.summary("c:room", { readSeq: 2, unread: 1, mentions: 0, lastSeq: 3 });
    reads.item("c:room", item(3, "ann")); // already in the summary
    reads.item("c:room", item(4, "ann"));
    reads.item("c:room", {
      ...item(5, "ann"),
      kind: "edit",
      target: "x",
      content: "y",
    } as StreamItem);
    expect(unread()).to.equal(2);
    reads.item("c:room", item(6, "me"));
    expect(reads.figures("c:room")).to.deep.equal({ readSeq: 6, unread: 0, mentions: 0 });
    reads.item("c:room", item(7, "bob", { mentions: ["me"] }));
    reads.item("c:room", item(8, "bob", { mentions: ["ann"] }));
    expect(reads.figures("c:room")).to.deep.equal({ readSeq: 6, unread: 2, mentions: 1 });
  });

  it("a cursor moved on another device, even past what this one has seen, reads exactly that far", () => {
    const { reads, unread, stale } = tracker();
    reads.summary("c:room", { readSeq: 0, unread: 0, mentions: 0, lastSeq: 0 });
    for (const seq of [1, 2, 3]) reads.item("c:room", item(seq, "ann"));
    expect(reads.read("c:room", 2)).to.equal(true);
    expect(unread()).to.equal(1);
    expect(reads.read("c:room", 1)).to.equal(false); // never back
    expect(reads.read("c:room", 5)).to.equal(true);
    reads.item("c:room", item(4, "ann")); // at or before the cursor: read already
    reads.item("c:room", item(5, "ann"));
    expect(unread()).to.equal(0);
    reads.item("c:room", item(6, "ann"));
    expect(unread()).to.equal(1);
    expect(stale).to.deep.equal([]);
  });

  it("a move into the part only the server counted asks for a fresh summary, which then rules", () => {
    const { reads, unread, stale } = tracker();
    reads.summary("c:room", { readSeq: 2, unread: 3, mentions: 1, lastSeq: 5 });
    reads.read("c:room", 4);
    expect(stale).to.deep.equal(["c:room"]);
    reads.summary("c:room", { readSeq: 4, unread: 1, mentions: 0, lastSeq: 5 });
    expect(unread()).to.equal(1);
    // An older snapshot than what is counted changes nothing.
    reads.item("c:room", item(6, "ann"));
    reads.summary("c:room", { readSeq: 4, unread: 1, mentions: 0, lastSeq: 5 });
    expect(unread()).to.equal(2);
    reads.read("c:room", 6);
    expect(unread()).to.equal(0);
  });
});

describe("SDK HTTP errors and backoff", () => {
  const errorFetch: typeof fetch = async () =>
    new Response(JSON.stringify({ error: { code: "rate_limited", message: "slow down" } }), {
      status: 429,
      headers: { "content-type": "application/json", "retry-after": "3" },
    });

  it("turns the contract's error shape into a typed HeraldError with retryAfter", async () => {
    const http = new HttpClient({ baseUrl: "http://x", fetch: errorFetch, token: () => "t" });
    const err = await http.request("GET", "/api/me").catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HeraldError);
    expect(err).to.include({
      status: 429,
      code: "rate_limited",
      message: "slow down",
      retryAfter: 3,
    });
  });

  it("sends the bearer token and the query; a request with no answer is network_error", async () => {
    const seen: { url: string; auth: string | null }[] = [];
    const fake: typeof fetch = async (input, init) => {
      seen.push({ url: String(input), auth: new Headers(init?.headers).get("authorization") });
      throw new TypeError("fetch failed");
    };
    const http = new HttpClient({ baseUrl: "http://x/", fetch: fake, token: () => "tok" });
    const err = await http
      .request("GET", "/api/messages", undefined, { peer: "a b", after: 2, limit: undefined })
      .catch((e: unknown) => e);
    expect(err).to.include({ status: 0, code: "network_error" });
    expect(seen[0]).to.deep.equal({
      url: "http://x/api/messages?peer=a+b&after=2",
      auth: "Bearer tok",
    });
  });

  it("repeats a request lost on a dead connection only when repeating it is harmless", async () => {
    let calls = 0;
    const flaky: typeof fetch = async () => {
      calls++;
      if (calls % 2 === 1) throw new TypeError("other side closed");
      return Response.json({ ok: true });
    };
    const http = new HttpClient({ baseUrl: "http://x", fetch: flaky, token: () => undefined });
    expect(await http.request("GET", "/api/me")).to.deep.equal({ ok: true });
    expect(calls).to.equal(2);
    await http.request("POST", "/api/channels/a/join", undefined, undefined, { idempotent: true });
    expect(calls).to.equal(4);
    // A message could be stored twice: never repeated.
    const err = await http
      .request("POST", "/api/messages", { to: "u", content: 1 })
      .catch((e) => e);
    expect(err).to.include({ code: "network_error" });
    expect(calls).to.equal(5);
  });

  it("reconnect delays are jittered, grow exponentially and stay within [min, max]", () => {
    const opts = { minDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, opts, () => 0)).to.equal(100);
    expect(backoffDelay(0, opts, () => 1)).to.equal(200);
    expect(backoffDelay(2, opts, () => 1)).to.equal(800);
    expect(backoffDelay(10, opts, () => 1)).to.equal(1000);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(i % 8, opts);
      expect(d).to.be.within(100, 1000);
    }
  });
});

describe("SDK connection loop", () => {
  it("a socket closed mid-handshake (before CONNECT) is retried with a fresh grant", async () => {
    const http = createServer();
    const io = new Server(http, { transports: ["websocket"] });
    let attempts = 0;
    // The first handshake is dropped by the server before socket.io's CONNECT: the client sees
    // a plain disconnect and no connect_error.
    io.use((socket, next) => {
      if (++attempts === 1) socket.conn.close();
      else next();
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    let grants = 0;
    const connection = new Connection(
      {
        grant: async () => {
          grants++;
          return { url, path: "/socket.io", token: `t${grants}`, nodeId: "n", expiresIn: 30 };
        },
        connected: async () => undefined,
        message: () => undefined,
        receipt: () => undefined,
        presence: () => undefined,
        read: () => undefined,
        typing: () => undefined,
        friend: () => undefined,
        conversation: () => undefined,
        invited: () => undefined,
        removed: () => undefined,
        kicked: () => undefined,
        status: () => undefined,
        failed: () => undefined,
      },
      { minDelayMs: 10, maxDelayMs: 20 },
    );
    try {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the loop never retried")), 3000);
      });
      await Promise.race([connection.start(), timeout]).finally(() => clearTimeout(timer));
      expect(grants).to.equal(2);
      expect(connection.status).to.equal("connected");
    } finally {
      connection.stop();
      await io.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: a real single-node Herald on the memory engine, real sockets, the SDK as an app.

/** Everything a client emitted, with event-driven bounded waits on it. */
class Recorder {
  readonly messages: (MessagePush | BroadcastPush)[] = [];
  readonly receipts: ReceiptPush[] = [];
  readonly presence: PresencePush[] = [];
  readonly kicks: KickedPush[] = [];
  readonly statuses: ConnectionStatus[] = [];
  readonly errors: HeraldError[] = [];
  /** Edits, recalls and reactions, as the fold emitted them. */
  readonly changes: (EditItem | RecallItem | ReactionEvent)[] = [];
  readonly reads: ReadEvent[] = [];
  readonly typing: TypingEvent[] = [];
  readonly friends: FriendPush[] = [];
  readonly channels: ConversationPush[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(client: HeraldClient) {
    client.on("edit", (e) => this.record(this.changes, e));
    client.on("recall", (r) => this.record(this.changes, r));
    client.on("reaction", (r) => this.record(this.changes, r));
    client.on("read", (r) => this.record(this.reads, r));
    client.on("typing", (t) => this.record(this.typing, t));
    client.on("friend", (f) => this.record(this.friends, f));
    client.on("conversation", (c) => this.record(this.channels, c));
    client.on("message", (m) => this.record(this.messages, m));
    client.on("receipt", (r) => this.record(this.receipts, r));
    client.on("presence", (p) => this.record(this.presence, p));
    client.on("kicked", (k) => this.record(this.kicks, k));
    client.on("status", (s) => this.record(this.statuses, s));
    client.on("error", (e) => this.record(this.errors, e));
  }

  /** Contents of stored messages in `conversation` (from the recorder's owner's view). */
  contents(filter: (m: MessagePush) => boolean = () => true): unknown[] {
    return this.stored()
      .filter(filter)
      .map((m) => m.content);
  }

  stored(): MessagePush[] {
    return this.messages.filter((m): m is MessagePush => !("broadcast" in m));
  }

  /** Resolves once `check` holds, re-checked after every event; rejects after `ms`. */
  until(check: () => boolean, what: string, ms = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      this.waiters.add(waiter);
    });
  }

  private record<T>(list: T[], item: T): void {
    list.push(item);
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** A gate for an injected fetch: while closed, requests wait; arrivals can be awaited. */
class Gate {
  private opened: Promise<void> = Promise.resolve();
  private openIt: () => void = () => undefined;
  private arrivals = 0;
  private readonly watchers: { count: number; resolve: () => void }[] = [];

  close(): void {
    this.opened = new Promise((resolve) => (this.openIt = resolve));
  }

  open(): void {
    this.openIt();
  }

  /** Called by the fetch for every gated request. */
  pass(): Promise<void> {
    this.arrivals++;
    for (const w of this.watchers.filter((w) => w.count <= this.arrivals)) w.resolve();
    return this.opened;
  }

  /** Resolves once `count` requests in all have reached the gate; rejects after `ms`. */
  arrived(count: number, ms = 5000): Promise<void> {
    if (this.arrivals >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.arrivals} requests`)), ms);
      this.watchers.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

const PASSWORD = "correct horse";
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SDK end to end (single node, memory engine)", function () {
  let engine: MemoryEngine;
  let herald: Herald;
  const clients: HeraldClient[] = [];
  let seq = 0;

  beforeEach(async () => {
    engine = new MemoryEngine();
    herald = await startHerald(testConfig({ admins: ["boss"], adminPassword: PASSWORD }), {
      engine,
    });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await herald.stop();
    await engine.close();
  });

  function newClient(opts: Partial<HeraldClientOptions> = {}): HeraldClient {
    const client = new HeraldClient({
      baseUrl: herald.business.url,
      reconnect: { minDelayMs: 20, maxDelayMs: 200 },
      gapGraceMs: 20,
      ...opts,
    });
    clients.push(client);
    return client;
  }

  /** A registered, logged-in client (not yet connected). */
  async function user(prefix: string, opts: Partial<HeraldClientOptions> = {}) {
    const client = newClient(opts);
    const name = `${prefix}${++seq}`;
    await client.register(name, PASSWORD);
    await client.login(name, PASSWORD);
    return { client, id: client.userId!, name, rec: new Recorder(client) };
  }

  async function befriend(a: HeraldClient, b: HeraldClient): Promise<void> {
    expect(await a.requestFriend(b.userId!)).to.equal("pending");
    expect(await b.requestFriend(a.userId!)).to.equal("friends");
  }

  /** Closes every server-side transport of `userId` without a goodbye: a network drop. */
  function dropConnections(userId: string): number {
    let dropped = 0;
    for (const socket of herald.im.io.sockets.sockets.values()) {
      if (socket.data.userId === userId) {
        socket.conn.close();
        dropped++;
      }
    }
    return dropped;
  }

  it("a DM with receipt reaches the friend once, the sender sees it once and gets delivered", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await befriend(a.client, b.client);
    await Promise.all([a.client.connect(), b.client.connect()]);
    expect(a.client.status).to.equal("connected");

    const sent = await a.client.send(b.id, { text: "hi" }, { receipt: true });
    await b.rec.until(() => b.rec.stored().length === 1, "bob's message");
    await a.rec.until(
      () => a.rec.receipts.some((r) => r.messageId === sent.id && r.status === "delivered"),
      "delivered receipt",
    );
    const clientMsgId = b.rec.stored()[0]?.clientMsgId;
    expect(clientMsgId).to.match(/^[A-Za-z0-9_-]{1,64}$/);
    expect(b.rec.stored()).to.deep.equal([
      {
        id: sent.id,
        seq: 1,
        kind: "message",
        from: a.id,
        to: b.id,
        content: { text: "hi" },
        clientMsgId,
        ts: sent.ts,
      },
    ]);
    // The sender's view comes from the 202; the push copy to its own socket is dropped by id.
    expect(a.rec.stored()).to.deep.equal(b.rec.stored());
    const second = await a.client.send(b.id, "second");
    await b.rec.until(() => b.rec.stored().length === 2, "second message");
    expect(a.rec.stored().map((m) => m.id)).to.deep.equal([sent.id, second.id]);
    expect(a.client.cursors()).to.deep.equal({ [`d:${b.id}`]: 2 });
    expect(b.client.cursors()).to.deep.equal({ [`d:${a.id}`]: 2 });
  });

  it("upload, send with attachments, fileLink: the peer gets the item with the files and may read them", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await befriend(a.client, b.client);
    await Promise.all([a.client.connect(), b.client.connect()]);
    const progress: [number, number][] = [];
    const bytes = new TextEncoder().encode("hello file");
    const file = await a.client.upload(bytes, {
      name: "note.txt",
      contentType: "text/plain",
      onProgress: (sent, total) => progress.push([sent, total]),
    });
    expect(file).to.include({ name: "note.txt", size: bytes.length, contentType: "text/plain" });
    expect(progress.at(-1)).to.deep.equal([bytes.length, bytes.length]);
    await b.client.fileLink(file.fileId).then(
      () => expect.fail("not shared yet"),
      (err: HeraldError) => expect(err.code).to.equal("file_not_found"),
    );

    await a.client.send(b.id, "", { attachments: [file] });
    await b.rec.until(() => b.rec.stored().length === 1, "bob's message");
    const attachment = {
      fileId: file.fileId,
      name: "note.txt",
      size: bytes.length,
      contentType: "text/plain",
    };
    expect(b.rec.stored()[0]!.attachments).to.deep.equal([attachment]);
    expect(a.rec.stored()).to.deep.equal(b.rec.stored());
    const link = await b.client.fileLink(file.fileId);
    expect(await (await fetch(link.url)).text()).to.equal("hello file");
    expect(await a.client.fileLimits()).to.deep.equal({
      maxBytes: testConfig().files.maxBytes,
      maxAttachments: 10,
    });
    const big = new Uint8Array(testConfig().files.maxBytes + 1);
    await a.client.upload(big, { name: "big.bin" }).then(
      () => expect.fail("too large"),
      (err: HeraldError) => expect([err.status, err.code]).to.deep.equal([413, "too_large"]),
    );
  });

  it("presence pushes of friends are emitted as they come", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await befriend(a.client, b.client);
    await b.client.connect();
    await a.client.connect();
    await b.rec.until(() => b.rec.presence.length === 1, "alice online");
    a.client.disconnect();
    await b.rec.until(() => b.rec.presence.length === 2, "alice offline");
    expect(b.rec.presence.map((p) => [p.userId, p.online])).to.deep.equal([
      [a.id, true],
      [a.id, false],
    ]);
    expect(await b.client.presence([a.id, b.id])).to.deep.equal({ [a.id]: false, [b.id]: true });
  });

  it("after a network drop the client reconnects by itself and gets what was sent meanwhile, once, in order", async () => {
    const gate = new Gate();
    const gatedFetch: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/api/connect")) await gate.pass();
      return fetch(input, init);
    };
    const a = await user("alice");
    const b = await user("bob", { fetch: gatedFetch });
    await befriend(a.client, b.client);
    await Promise.all([a.client.connect(), b.client.connect()]);
    await a.client.send(b.id, "before");
    await b.rec.until(() => b.rec.stored().length === 1, "first message");

    gate.close();
    expect(dropConnections(b.id)).to.equal(1);
    await b.rec.until(() => b.client.status === "reconnecting", "reconnecting");
    await gate.arrived(2); // the reconnect's fresh token is held until the sends are done
    const sent: string[] = [];
    for (let i = 1; i <= 5; i++) sent.push((await a.client.send(b.id, `missed ${i}`)).id);
    gate.open();

    await b.rec.until(() => b.rec.stored().length === 6, "the 5 missed messages", 5000);
    await b.rec.until(() => b.client.status === "connected", "connected again");
    expect(b.rec.contents()).to.deep.equal([
      "before",
      "missed 1",
      "missed 2",
      "missed 3",
      "missed 4",
      "missed 5",
    ]);
    expect(b.rec.stored().map((m) => m.seq)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(b.rec.statuses).to.deep.equal(["connecting", "connected", "reconnecting", "connected"]);
    // Live again: the next message is pushed, and nothing came twice.
    await a.client.send(b.id, "live");
    await b.rec.until(() => b.rec.stored().length === 7, "live message");
    expect(new Set(b.rec.stored().map((m) => m.id)).size).to.equal(7);
  });

  it("folds the stream: the message once, then its edit, reactions and recall, on both sides", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await befriend(a.client, b.client);
    await Promise.all([a.client.connect(), b.client.connect()]);

    const hi = await a.client.send(b.id, "hi");
    await b.rec.until(() => b.rec.stored().length === 1, "the message");
    const re = await b.client.send(a.id, "re", { replyTo: hi.id });
    await a.rec.until(() => a.rec.stored().length === 2, "the reply");
    expect(a.rec.stored()[1]).to.deep.include({ id: re.id, replyTo: hi.id, kind: "message" });

    await a.client.edit(hi.id, "hi!");
    expect(await b.client.react(hi.id, "👍")).to.not.equal(null);
    expect(await b.client.react(hi.id, "👍")).to.equal(null); // already there: nothing stored
    await a.client.react(hi.id, "👍");
    await a.client.recall(hi.id);
    const seen = (r: Recorder) =>
      r.changes.map((c) =>
        c.kind === "reaction"
          ? `${c.kind} ${c.reactions.map((x) => `${x.emoji}${x.count}${x.me ? "*" : ""}`).join()}`
          : `${c.kind} ${c.target === hi.id}`,
      );
    for (const r of [a.rec, b.rec]) await r.until(() => r.changes.length === 4, "four changes");
    expect(seen(a.rec)).to.deep.equal([
      "edit true",
      "reaction 👍1",
      "reaction 👍2*",
      "recall true",
    ]);
    expect(seen(b.rec)).to.deep.equal([
      "edit true",
      "reaction 👍1*",
      "reaction 👍2*",
      "recall true",
    ]);
    expect(b.rec.changes[0]).to.deep.include({ kind: "edit", content: "hi!" });
    await wait(50);
    expect(a.rec.changes).to.have.length(4); // the 202 and the push of each: folded once
    expect(b.rec.stored()).to.have.length(2);
  });

  it("a change to a message the app never loaded raises nothing; once loaded from history, it does", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await befriend(a.client, b.client);
    const old = await a.client.send(b.id, "old");
    await Promise.all([a.client.connect(), b.client.connect()]); // b starts at now: "old" is history
    await a.client.edit(old.id, "old, edited");
    await a.client.send(b.id, "marker");
    await b.rec.until(() => b.rec.stored().length === 1, "the marker");
    expect(b.rec.changes).to.deep.equal([]);

    const items = await b.client.history({ kind: "direct", peer: a.id });
    expect(items.map((i) => i.kind)).to.deep.equal(["message", "edit", "message"]);
    expect(items[0]).to.deep.include({ content: "old, edited", kind: "message" });
    await a.client.react(old.id, "🎉");
    await b.rec.until(() => b.rec.changes.length === 1, "the reaction");
    expect(b.rec.changes[0]).to.deep.include({
      target: old.id,
      reactions: [{ emoji: "🎉", count: 1, me: false }],
    });
  });

  it("a send whose answer was lost is posted again with the same clientMsgId and stored once", async () => {
    let lose = 1;
    const bodies: string[] = [];
    const losingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).endsWith("/api/messages") && init?.method === "POST") {
        bodies.push(String(init.body));
        if (lose-- > 0) throw new TypeError("fetch failed: the answer was lost");
      }
      return response;
    };
    const a = await user("alice", { fetch: losingFetch });
    const b = await user("bob");
    await befriend(a.client, b.client);
    await b.client.connect();

    const sent = await a.client.send(b.id, "only once");
    expect(bodies).to.have.length(2);
    expect(JSON.parse(bodies[0]!).clientMsgId).to.equal(JSON.parse(bodies[1]!).clientMsgId);
    await b.rec.until(() => b.rec.stored().length === 1, "the message");
    const history = await b.client.history({ kind: "direct", peer: a.id });
    expect(history.map((m) => [m.id, m.seq])).to.deep.equal([[sent.id, 1]]);
    // The app may retry under its own id, too: the same answer, nothing new stored.
    const again = await a.client.send(b.id, "only once", {
      clientMsgId: JSON.parse(bodies[0]!).clientMsgId,
    });
    expect(again).to.deep.equal(sent);
    await wait(50);
    expect(b.rec.stored()).to.have.length(1);
  });

  it("unread figures stay in step on two devices; a DM read is the peer's read receipt", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await befriend(a.client, b.client);
    const b2 = newClient();
    await b2.login(b.name, PASSWORD);
    const b2rec = new Recorder(b2);
    await Promise.all([a.client.connect(), b.client.connect(), b2.connect()]);
    const dm = { kind: "direct" as const, peer: a.id };

    for (const text of ["one", "two", "three"]) await a.client.send(b.id, text);
    for (const r of [b.rec, b2rec]) await r.until(() => r.stored().length === 3, "three messages");
    expect(b.client.unread(dm)).to.deep.include({ unread: 3, readSeq: 0 });
    expect(b2.unread(dm)).to.deep.include({ unread: 3 });

    expect(await b.client.markRead(dm, 2)).to.deep.equal({ readSeq: 2, unread: 1 });
    await b2rec.until(() => b2rec.reads.length === 1, "the other device's read event");
    expect(b2rec.reads[0]).to.deep.include({ userId: b.id, seq: 2, unread: 1, mentions: 0 });
    expect(b2rec.reads[0]!.conversation).to.deep.equal(dm);
    await a.rec.until(() => a.rec.reads.length === 1, "the read receipt");
    expect(a.rec.reads[0]).to.deep.include({ userId: b.id, seq: 2 });
    expect(a.rec.reads[0]!.conversation).to.deep.equal({ kind: "direct", peer: b.id });

    // Never back; the sender's own messages never count.
    expect(await b2.markRead(dm, 1)).to.deep.equal({ readSeq: 2, unread: 1 });
    await b2.send(a.id, "mine");
    await b.rec.until(() => b.rec.stored().length === 4, "the other device's message");
    expect(b.client.unread(dm)).to.deep.include({ unread: 0, readSeq: 4 });
    const [summary] = await b.client.conversations();
    expect(summary).to.deep.include({ unread: 0, readSeq: 4 });
  });

  it("typing, friend and conversation pushes come as typed events", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await Promise.all([a.client.connect(), b.client.connect()]);
    await a.client.requestFriend(b.id);
    await b.rec.until(() => b.rec.friends.length === 1, "the friend request");
    expect(b.rec.friends[0]).to.deep.include({ userId: a.id, username: a.name, status: "pending" });
    await b.client.requestFriend(a.id);
    await a.rec.until(() => a.rec.friends.some((f) => f.status === "friends"), "accepted");

    await a.client.typing({ kind: "direct", peer: b.id });
    await a.client.typing({ kind: "direct", peer: b.id }); // within 2 s: not even asked
    await b.rec.until(() => b.rec.typing.length === 1, "typing");
    expect(b.rec.typing[0]).to.deep.include({
      from: a.id,
      conversation: { kind: "direct", peer: a.id },
    });

    const room = `room${++seq}`;
    await a.client.joinChannel(room);
    await b.client.joinChannel(room);
    await a.rec.until(
      () => a.rec.channels.some((c) => c.channel === room && c.members === 2),
      "the channel's new counts",
    );
    await wait(50);
    expect(a.rec.typing).to.deep.equal([]);
  });

  it("catches up after a drop with one POST /api/sync for every conversation", async () => {
    const requests: string[] = [];
    const gate = new Gate();
    const watchedFetch: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      if (url.pathname === "/api/connect") await gate.pass();
      requests.push(`${init?.method ?? "GET"} ${url.pathname}`);
      return fetch(input, init);
    };
    const a = await user("alice");
    const b = await user("bob", { fetch: watchedFetch });
    await befriend(a.client, b.client);
    const rooms = [`r${++seq}`, `r${++seq}`];
    for (const room of rooms) {
      await a.client.joinChannel(room);
      await b.client.joinChannel(room);
    }
    await Promise.all([a.client.connect(), b.client.connect()]);
    await a.client.send(b.id, "before");
    await b.rec.until(() => b.rec.stored().length === 1, "first message");

    gate.close();
    dropConnections(b.id);
    await b.rec.until(() => b.client.status === "reconnecting", "reconnecting");
    await gate.arrived(2);
    requests.length = 0;
    await a.client.send(b.id, "missed dm");
    for (const room of rooms) await a.client.sendChannel(room, `missed in ${room}`);
    gate.open();
    await b.rec.until(() => b.rec.stored().length === 4, "the missed messages");
    expect(b.rec.contents()).to.have.members([
      "before",
      "missed dm",
      ...rooms.map((r) => `missed in ${r}`),
    ]);
    expect(requests).to.deep.equal(["POST /api/connect", "POST /api/sync"]);
  });

  it("a lost push (stored, never pushed) is fetched from history when the next seq shows the gap", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await befriend(a.client, b.client);
    await Promise.all([a.client.connect(), b.client.connect()]);
    await a.client.send(b.id, "one");
    await b.rec.until(() => b.rec.stored().length === 1, "first message");

    const lost = await engine.store.append(
      { kind: "direct", a: a.id, b: b.id },
      {
        id: "lost-message",
        kind: "message",
        from: a.id,
        to: b.id,
        content: "lost",
        ts: Date.now(),
      },
    );
    expect(lost).to.deep.include({ duplicate: false });
    expect((lost as { item: { seq: number } }).item.seq).to.equal(2);
    await a.client.send(b.id, "three");
    await b.rec.until(() => b.rec.stored().length === 3, "gap filled");
    expect(b.rec.contents()).to.deep.equal(["one", "lost", "three"]);
    expect(b.rec.stored().map((m) => m.seq)).to.deep.equal([1, 2, 3]);
    // The sender's stream has the same gap (its 202 said seq 3) and fills it the same way.
    await a.rec.until(() => a.rec.stored().length === 3, "sender's gap filled");
    expect(a.rec.contents()).to.deep.equal(["one", "lost", "three"]);
  });

  it("channel messages arrive once, in order, to members and the sender; a joined backlog is not replayed", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await Promise.all([a.client.connect(), b.client.connect()]);
    const room = `room-${seq}`;
    await a.client.joinChannel(room);
    await a.client.sendChannel(room, "backlog 1");
    await a.client.sendChannel(room, "backlog 2");
    await b.client.joinChannel(room);
    expect((await b.client.channel(room)).members).to.have.members([a.id, b.id]);
    await a.client.sendChannel(room, "hello room");
    await b.client.sendChannel(room, "hello back");
    const inRoom = (m: MessagePush) => m.channel === room;
    await b.rec.until(() => b.rec.stored().length === 2, "both channel messages at bob");
    await a.rec.until(() => a.rec.stored().length === 4, "all channel messages at alice");
    // Bob joined after the backlog: it is his to load with history(), not replayed as news.
    expect(b.rec.contents(inRoom)).to.deep.equal(["hello room", "hello back"]);
    expect(a.rec.contents(inRoom)).to.deep.equal([
      "backlog 1",
      "backlog 2",
      "hello room",
      "hello back",
    ]);
    expect(b.client.cursors()[`c:${room}`]).to.equal(4);
    const backlog = await b.client.history({ kind: "channel", channel: room }, { limit: 2 });
    expect(backlog.map((m) => m.kind === "message" && m.content)).to.deep.equal([
      "backlog 1",
      "backlog 2",
    ]);
  });

  it("a restarted app with saved cursors gets exactly what it missed; one without starts at now", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await befriend(a.client, b.client);
    for (let i = 1; i <= 3; i++) await a.client.send(b.id, `m${i}`);

    // A fresh app without saved cursors: old history is left to history(), new messages come.
    const fresh = newClient();
    await fresh.login(b.name, PASSWORD);
    const freshRec = new Recorder(fresh);
    await fresh.connect();
    expect(fresh.cursors()).to.deep.equal({ [`d:${a.id}`]: 3 });
    expect(await fresh.history({ kind: "direct", peer: a.id }, { after: 1 })).to.have.length(2);

    // Meanwhile a new peer writes for the first time: news to an app that was away.
    const c = await user("carol");
    await befriend(c.client, b.client);
    await c.client.send(b.id, "c1");
    await freshRec.until(() => freshRec.stored().length === 1, "c1 live on the fresh app");

    // An app that saved cursor 1: messages 2 and 3 are caught up on connect, and the new
    // peer's conversation, begun while it was away, from its first message.
    const saved = newClient({ cursors: { [`d:${a.id}`]: 1 } });
    await saved.login(b.name, PASSWORD);
    const savedRec = new Recorder(saved);
    await saved.connect();
    await savedRec.until(() => savedRec.stored().length === 3, "m2, m3 and c1 on the saved app");
    expect(savedRec.contents((m) => m.from === a.id)).to.deep.equal(["m2", "m3"]);
    expect(savedRec.contents((m) => m.from === c.id)).to.deep.equal(["c1"]);

    await a.client.send(b.id, "m4");
    await freshRec.until(() => freshRec.stored().length === 2, "m4 on the fresh app");
    await savedRec.until(() => savedRec.stored().length === 4, "m4 on the saved app");
    expect(freshRec.contents()).to.deep.equal(["c1", "m4"]);
    expect(savedRec.contents((m) => m.from === a.id)).to.deep.equal(["m2", "m3", "m4"]);
  });

  it("a refused socket (token_invalid) is retried with a fresh token", async () => {
    let spoiled = 0;
    const spoilFirstToken: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith("/api/connect") || spoiled > 0) return response;
      spoiled++;
      const grant = (await response.json()) as { token: string };
      return Response.json({ ...grant, token: "forged-token" });
    };
    const a = await user("alice", { fetch: spoilFirstToken });
    await a.client.connect();
    expect(spoiled).to.equal(1);
    expect(a.client.status).to.equal("connected");
    expect(a.rec.statuses).to.deep.equal(["connecting", "connected"]);
  });

  it("kicked logout ends the connection for good: status disconnected, no reconnect", async () => {
    let connectCalls = 0;
    const counting: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/api/connect")) connectCalls++;
      return fetch(input, init);
    };
    const b = await user("bob", { fetch: counting });
    await b.client.connect();
    // Another device of the same session logs out: the server kicks this one.
    const other = newClient({ token: b.client.token! });
    await other.logout();
    await b.rec.until(() => b.client.status === "disconnected", "disconnected");
    expect(b.rec.kicks).to.deep.equal([{ reason: "logout" }]);
    await wait(300); // longer than the longest reconnect delay (200 ms)
    expect(connectCalls).to.equal(1);
    expect(b.client.status).to.equal("disconnected");
    expect(b.rec.statuses).to.deep.equal(["connecting", "connected", "disconnected"]);
  });

  it("kicked rebalance (or slow_consumer) is followed by a reconnect through /api/connect", async () => {
    let connectCalls = 0;
    const counting: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/api/connect")) connectCalls++;
      return fetch(input, init);
    };
    const b = await user("bob", { fetch: counting });
    await b.client.connect();
    const kick: KickCommand = { v: 1, kind: "kick", userId: b.id, reason: "rebalance" };
    await engine.bus.publish(topics.node("im-test"), encode(kick));
    await b.rec.until(() => b.rec.kicks.length === 1, "kicked");
    await b.rec.until(() => b.rec.statuses.length === 4, "reconnecting, then connected again");
    expect(b.rec.kicks).to.deep.equal([{ reason: "rebalance" }]);
    expect(b.rec.statuses).to.deep.equal(["connecting", "connected", "reconnecting", "connected"]);
    expect(connectCalls).to.equal(2);
  });

  it("force offline by an operator ends the connection without reconnecting", async () => {
    const boss = newClient(); // created at start from IM_ADMIN_PASSWORD
    await boss.login("boss", PASSWORD);
    const b = await user("bob");
    await b.client.connect();
    await boss.disconnectUser(b.id);
    await b.rec.until(() => b.client.status === "disconnected", "disconnected");
    expect(b.rec.kicks).to.deep.equal([{ reason: "force_offline" }]);
    await wait(300);
    expect(b.client.status).to.equal("disconnected");
  });

  it("a server restart (kicked shutdown) is followed by a reconnect and a catch-up", async () => {
    const a = await user("alice");
    const b = await user("bob");
    await befriend(a.client, b.client);
    await b.client.connect();
    const { port: businessPort } = herald.business;
    const { port: imPort } = herald.im;
    await herald.stop();
    await b.rec.until(() => b.client.status === "reconnecting", "reconnecting");
    expect(b.rec.kicks).to.deep.equal([{ reason: "shutdown" }]);
    // Stored while the servers were down, so never pushed: only the sync on reconnect finds it.
    await engine.store.append(
      { kind: "direct", a: a.id, b: b.id },
      {
        id: "while-down",
        kind: "message",
        from: a.id,
        to: b.id,
        content: "while down",
        ts: Date.now(),
      },
    );
    herald = await startHerald(
      testConfig({ admins: ["boss"], adminPassword: PASSWORD, businessPort, imPort }),
      { engine },
    );
    await b.rec.until(() => b.rec.stored().length === 1, "the message stored while down");
    await b.rec.until(() => b.client.status === "connected", "connected");
    await a.client.send(b.id, "after restart");
    await b.rec.until(() => b.rec.stored().length === 2, "live message after restart");
    expect(b.rec.contents()).to.deep.equal(["while down", "after restart"]);
  });

  it("a session that is gone stops connecting: connect() rejects with 401 and status is disconnected", async () => {
    const ghost = newClient({ token: "no-such-session" });
    const rec = new Recorder(ghost);
    const err = await ghost.connect().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HeraldError);
    expect(err).to.include({ status: 401 });
    expect(ghost.status).to.equal("disconnected");
    expect(rec.errors).to.have.length(1);
  });

  it("operator broadcasts are emitted as they come; HTTP errors are typed", async () => {
    const boss = newClient(); // created at start from IM_ADMIN_PASSWORD
    await boss.login("boss", PASSWORD);
    const b = await user("bob");
    await b.client.connect();
    await boss.broadcast({ notice: "maintenance" });
    await b.rec.until(() => b.rec.messages.length === 1, "broadcast");
    expect(b.rec.messages[0]).to.include({ broadcast: true });
    expect((b.rec.messages[0] as BroadcastPush).content).to.deep.equal({ notice: "maintenance" });

    const err = await b.client.send(boss.userId!, "hi").catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HeraldError);
    expect(err).to.include({ status: 403, code: "not_friends" });
    expect(await b.client.findUser("nobody-here")).to.equal(null);
    expect(await b.client.findUser("BOSS")).to.deep.equal({
      userId: boss.userId,
      username: "boss",
    });
  });
});
