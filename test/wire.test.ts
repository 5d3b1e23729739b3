// The versioned wire format: every valid command and event decodes, anything else is null.
import { expect } from "chai";
import fc from "fast-check";
import {
  decodeCommand,
  decodeEvent,
  decodePayload,
  encode,
  encodeBatch,
  isPlainCommand,
  MAX_BATCH,
  nodeCommandSchema,
  WIRE_VERSION,
} from "../engine/wire.js";
import { KICK_REASONS } from "../engine/protocol.js";
import type { MessagePush } from "../engine/protocol.js";
import type { NodeCommand, NodeEvent } from "../engine/wire.js";

const message: MessagePush = {
  id: "m1",
  seq: 3,
  kind: "message",
  from: "u1",
  to: "u2",
  content: { text: "hi", list: [] },
  ts: 1,
};

const VALID_COMMANDS: NodeCommand[] = [
  { v: 1, kind: "push", event: "message", to: ["u2"], data: message },
  { v: 1, kind: "push", event: "message", to: ["u2", "u1"], data: message, receipt: true },
  { v: 1, kind: "push", event: "message", to: ["u2", "u1"], data: message, notify: ["u2"] },
  {
    v: 1,
    kind: "push",
    event: "message",
    to: [],
    data: { id: "m2", seq: 1, kind: "message", from: "u1", channel: "general", content: [], ts: 0 },
  },
  {
    v: 1,
    kind: "push",
    event: "receipt",
    to: ["u1"],
    data: { messageId: "m1", to: "u2", status: "delivered", ts: 5 },
  },
  {
    v: 1,
    kind: "push",
    event: "receipt",
    to: ["u1"],
    data: { messageId: "m1", to: "u2", status: "offline", ts: 5 },
  },
  {
    v: 1,
    kind: "push",
    event: "receipt",
    to: ["u1"],
    data: { messageId: "m1", to: "u2", status: "failed", ts: 5 },
  },
  {
    v: 1,
    kind: "push",
    event: "presence",
    to: ["u3"],
    data: { userId: "u1", online: false, ts: 9 },
  },
  {
    v: 1,
    kind: "push",
    event: "message",
    to: ["u2", "u1"],
    data: {
      id: "e1",
      seq: 4,
      kind: "edit",
      from: "u1",
      to: "u2",
      target: "m1",
      content: "hey",
      ts: 2,
    },
  },
  {
    v: 1,
    kind: "push",
    event: "message",
    to: ["u2"],
    data: { id: "r1", seq: 5, kind: "recall", from: "u1", channel: "general", target: "m1", ts: 3 },
  },
  {
    v: 1,
    kind: "push",
    event: "message",
    to: ["u2"],
    data: {
      id: "x1",
      seq: 6,
      kind: "reaction",
      from: "u1",
      to: "u2",
      target: "m1",
      emoji: "👍",
      op: "add",
      ts: 4,
    },
  },
  {
    v: 1,
    kind: "push",
    event: "message",
    to: ["u2"],
    data: {
      id: "m3",
      seq: 7,
      kind: "message",
      from: "u1",
      channel: "general",
      content: "@bob",
      replyTo: "m0",
      mentions: ["u2"],
      clientMsgId: "c-1",
      ts: 9,
    },
  },
  {
    v: 1,
    kind: "push",
    event: "read",
    to: ["u1", "u2"],
    data: { userId: "u1", peer: "u2", seq: 7, ts: 5 },
  },
  {
    v: 1,
    kind: "push",
    event: "typing",
    to: ["u2"],
    data: { from: "u1", channel: "general", ts: 6 },
  },
  {
    v: 1,
    kind: "push",
    event: "friend",
    to: ["u2"],
    data: { userId: "u1", username: "alice", status: "pending", ts: 7 },
  },
  {
    v: 1,
    kind: "push",
    event: "conversation",
    to: ["u2"],
    data: { channel: "general", members: 3, online: 1, ts: 8 },
  },
  {
    v: 1,
    kind: "broadcast",
    data: { id: "b1", from: "admin", broadcast: true, content: "maintenance at 5", ts: 2 },
  },
  { v: 1, kind: "kick", userId: "u1", reason: "force_offline" },
  { v: 1, kind: "kick", userId: "u1", reason: "logout", sessionId: "s1" },
  { v: 1, kind: "kick", userId: "u1", reason: "rebalance" },
  { v: 1, kind: "kick", userId: "u1", reason: "shutdown" },
  { v: 1, kind: "kick", userId: "u1", reason: "slow_consumer" },
];

const VALID_EVENTS: NodeEvent[] = [
  { v: 1, kind: "presence", userId: "u1", online: true, nodeId: "im-1", ts: 10 },
  { v: 1, kind: "presence", userId: "u1", online: false, nodeId: "im-1", ts: 11 },
  {
    v: 1,
    kind: "undelivered",
    userId: "u2",
    reason: "offline",
    message: { id: "m1", seq: 3, from: "u1", to: "u2", ts: 1 },
    nodeId: "im-1",
    ts: 12,
  },
  {
    v: 1,
    kind: "undelivered",
    userId: "u3",
    reason: "failed",
    message: { id: "m2", seq: 1, from: "u1", channel: "general", ts: 0 },
    nodeId: "im-1",
    ts: 13,
  },
];
const undelivered = VALID_EVENTS[2]!;

const base = VALID_COMMANDS[0]!;

/** Raw strings that are not a valid command, each with why. */
const BAD_COMMANDS: [string, string][] = [
  ["not JSON", "{v:1"],
  ["empty", ""],
  ["JSON null", "null"],
  ["a number", "42"],
  ["a string", '"push"'],
  ["an array", "[]"],
  ["an empty object", "{}"],
  ["unknown version 2", JSON.stringify({ ...base, v: 2 })],
  ["version 0", JSON.stringify({ ...base, v: 0 })],
  ["version as a string", JSON.stringify({ ...base, v: "1" })],
  ["no version", JSON.stringify({ ...base, v: undefined })],
  ["unknown kind", JSON.stringify({ ...base, kind: "explode" })],
  ["no kind", JSON.stringify({ ...base, kind: undefined })],
  ["unknown push event", JSON.stringify({ ...base, event: "shout" })],
  ["unknown item kind", JSON.stringify({ ...base, data: { ...message, kind: "poll" } })],
  [
    "an edit without a target",
    JSON.stringify({ ...base, data: { ...message, kind: "edit", content: "x" } }),
  ],
  [
    "a reaction with an unknown op",
    JSON.stringify({
      ...base,
      data: { ...message, kind: "reaction", target: "m1", emoji: "x", op: "toggle" },
    }),
  ],
  [
    "a receipt asked for an edit",
    JSON.stringify({ ...base, receipt: true, data: { ...message, kind: "edit", target: "m1" } }),
  ],
  [
    "a read push with a negative seq",
    JSON.stringify({
      v: 1,
      kind: "push",
      event: "read",
      to: ["u1"],
      data: { userId: "u1", peer: "u2", seq: -1, ts: 1 },
    }),
  ],
  [
    "a friend push with an unknown status",
    JSON.stringify({
      v: 1,
      kind: "push",
      event: "friend",
      to: ["u1"],
      data: { userId: "u2", username: "bob", status: "blocked", ts: 1 },
    }),
  ],
  ["to not an array", JSON.stringify({ ...base, to: "u2" })],
  ["a recipient not a string", JSON.stringify({ ...base, to: ["u2", 7] })],
  ["an empty recipient", JSON.stringify({ ...base, to: [""] })],
  ["no data", JSON.stringify({ ...base, data: undefined })],
  ["message without id", JSON.stringify({ ...base, data: { ...message, id: undefined } })],
  ["message with seq 0", JSON.stringify({ ...base, data: { ...message, seq: 0 } })],
  ["message with a fractional seq", JSON.stringify({ ...base, data: { ...message, seq: 1.5 } })],
  ["message with a string seq", JSON.stringify({ ...base, data: { ...message, seq: "1" } })],
  ["message with null content", JSON.stringify({ ...base, data: { ...message, content: null } })],
  [
    "message without content",
    JSON.stringify({ ...base, data: { ...message, content: undefined } }),
  ],
  ["message with a negative ts", JSON.stringify({ ...base, data: { ...message, ts: -1 } })],
  ["receipt flag not boolean", JSON.stringify({ ...base, receipt: "yes" })],
  ["notify not a list", JSON.stringify({ ...base, notify: "u2" })],
  ["an empty notify id", JSON.stringify({ ...base, notify: [""] })],
  [
    "unknown receipt status",
    JSON.stringify({
      v: 1,
      kind: "push",
      event: "receipt",
      to: ["u1"],
      data: { messageId: "m1", to: "u2", status: "read", ts: 5 },
    }),
  ],
  [
    "presence online not boolean",
    JSON.stringify({
      v: 1,
      kind: "push",
      event: "presence",
      to: ["u3"],
      data: { userId: "u1", online: "true", ts: 9 },
    }),
  ],
  [
    "broadcast flag false",
    JSON.stringify({
      v: 1,
      kind: "broadcast",
      data: { id: "b1", from: "a", broadcast: false, content: "x", ts: 2 },
    }),
  ],
  [
    "kick with an unknown reason",
    JSON.stringify({ v: 1, kind: "kick", userId: "u1", reason: "bored" }),
  ],
  ["kick without a user", JSON.stringify({ v: 1, kind: "kick", reason: "logout" })],
  [
    "kick with a numeric session",
    JSON.stringify({ v: 1, kind: "kick", userId: "u1", reason: "logout", sessionId: 5 }),
  ],
  ["an event is not a command", JSON.stringify(VALID_EVENTS[0])],
];

const BAD_EVENTS: [string, string][] = [
  ["not JSON", "presence"],
  ["JSON null", "null"],
  ["unknown version", JSON.stringify({ ...VALID_EVENTS[0], v: 2 })],
  ["unknown kind", JSON.stringify({ ...VALID_EVENTS[0], kind: "typing" })],
  ["online as a string", JSON.stringify({ ...VALID_EVENTS[0], online: "false" })],
  ["no node", JSON.stringify({ ...VALID_EVENTS[0], nodeId: undefined })],
  ["ts as a string", JSON.stringify({ ...VALID_EVENTS[0], ts: "10" })],
  ["a command is not an event", JSON.stringify(VALID_COMMANDS[0])],
  ["an unknown undelivered reason", JSON.stringify({ ...undelivered, reason: "late" })],
  ["undelivered without a message", JSON.stringify({ ...undelivered, message: undefined })],
  [
    "undelivered message without seq",
    JSON.stringify({ ...undelivered, message: { id: "m1", from: "u1", ts: 1 } }),
  ],
];

describe("wire format", function () {
  it("is version 1", function () {
    expect(WIRE_VERSION).to.equal(1);
  });

  describe("decodeCommand", function () {
    for (const command of VALID_COMMANDS) {
      const label = command.kind === "push" ? `push ${command.event}` : command.kind;
      it(`accepts ${label}: ${JSON.stringify(command).slice(0, 70)}`, function () {
        expect(decodeCommand(encode(command))).to.deep.equal(command);
      });
    }

    for (const [why, raw] of BAD_COMMANDS) {
      it(`rejects ${why}`, function () {
        expect(decodeCommand(raw)).to.equal(null);
      });
    }

    it("reads a v1 message push without kind as a message", function () {
      const decoded = decodeCommand(
        JSON.stringify({ ...base, data: { ...message, kind: undefined } }),
      );
      expect(decoded).to.deep.equal(base);
    });

    it("keeps content exactly, including [] and {}", function () {
      const decoded = decodeCommand(encode(VALID_COMMANDS[0]!));
      expect(decoded).to.not.equal(null);
      expect(JSON.stringify(decoded)).to.equal(JSON.stringify(VALID_COMMANDS[0]));
    });
  });

  describe("decodeEvent", function () {
    for (const event of VALID_EVENTS) {
      const label = event.kind === "presence" ? `online=${event.online}` : event.reason;
      it(`accepts ${event.kind} ${label}`, function () {
        expect(decodeEvent(encode(event))).to.deep.equal(event);
      });
    }

    for (const [why, raw] of BAD_EVENTS) {
      it(`rejects ${why}`, function () {
        expect(decodeEvent(raw)).to.equal(null);
      });
    }
  });
});

describe("wire format version 2: envelopes", function () {
  const encoded = VALID_COMMANDS.map(encode);

  it("a lone command is sent as itself (version 1), several as one envelope", function () {
    expect(encodeBatch([encoded[0]!])).to.equal(encoded[0]);
    expect(JSON.parse(encodeBatch(encoded))).to.deep.equal({
      v: 2,
      kind: "batch",
      commands: VALID_COMMANDS,
    });
  });

  it("decodes an envelope's commands in order, and a single version-1 command as one", function () {
    expect(decodePayload(encodeBatch(encoded))).to.deep.equal({
      commands: VALID_COMMANDS,
      dropped: 0,
    });
    expect(decodePayload(encoded[1]!)).to.deep.equal({ commands: [VALID_COMMANDS[1]], dropped: 0 });
  });

  it("drops only the bad commands of an envelope, counting each", function () {
    const raw = encodeBatch([encoded[0]!, '{"v":1,"kind":"teleport"}', encoded[2]!, "null"]);
    expect(decodePayload(raw)).to.deep.equal({
      commands: [VALID_COMMANDS[0], VALID_COMMANDS[2]],
      dropped: 2,
    });
  });

  const malformed: [string, string][] = [
    ["not JSON", '{"v":2,"kind":"batch","commands":['],
    ["commands not an array", '{"v":2,"kind":"batch","commands":{}}'],
    ["no commands", '{"v":2,"kind":"batch"}'],
    ["another key", `{"v":2,"kind":"batch","commands":[${encoded[0]}],"extra":1}`],
    ["too many commands", encodeBatch(Array.from({ length: MAX_BATCH + 1 }, () => encoded[0]!))],
    ["an unknown version", `{"v":3,"kind":"batch","commands":[${encoded[0]}]}`],
  ];
  for (const [why, raw] of malformed)
    it(`drops an envelope with ${why} whole, counted once`, function () {
      expect(decodePayload(raw)).to.deep.equal({ commands: [], dropped: 1 });
    });

  it("takes MAX_BATCH commands in one envelope", function () {
    const raw = encodeBatch(Array.from({ length: MAX_BATCH }, () => encoded[0]!));
    expect(decodePayload(raw).commands).to.have.length(MAX_BATCH);
  });
});

// The hand-written check on the hot path against the zod schema it stands in for: it accepts a
// value exactly when zod accepts it and returns it unchanged (anything else goes to zod).
describe("wire format: the hot path's check agrees with the zod schema", function () {
  const junk = fc.jsonValue({ maxDepth: 2 });
  /** Mostly `valid`, sometimes any JSON value. */
  const mostly = <T>(valid: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 60, arbitrary: valid }, { weight: 1, arbitrary: junk });
  const id = mostly(
    fc.oneof(
      { weight: 40, arbitrary: fc.string({ minLength: 1, maxLength: 4 }) },
      fc.constantFrom("", "x".repeat(256), "x".repeat(257)),
    ),
  );
  const text = (max: number) =>
    mostly(
      fc.oneof(
        { weight: 20, arbitrary: fc.string({ minLength: 1, maxLength: 4 }) },
        fc.constantFrom("", "y".repeat(max), "y".repeat(max + 1)),
      ),
    );
  const int = mostly(
    fc.oneof({ weight: 40, arbitrary: fc.nat(1e6) }, fc.constantFrom(-1, 0, 1.5, 2 ** 53, -0)),
  );
  const oneOf = (...values: unknown[]) =>
    mostly(fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...values) }, fc.constant("other")));
  const bool = mostly(fc.boolean());
  const content = fc.oneof({ weight: 30, arbitrary: junk }, fc.constant(null));
  const ids = (max: number) =>
    mostly(
      fc.oneof(
        { weight: 8, arbitrary: fc.array(id, { maxLength: 3 }) },
        fc.constant(Array(max + 1).fill("u")),
      ),
    );
  /** An object of `required` (each sometimes left out) and `optional` keys, sometimes one more. */
  const shape = (
    required: Record<string, fc.Arbitrary<unknown>>,
    optional: Record<string, fc.Arbitrary<unknown>> = {},
  ) =>
    fc
      .tuple(
        fc.oneof(
          {
            weight: 30,
            arbitrary: fc.record(
              { ...required, ...optional },
              { requiredKeys: Object.keys(required) },
            ),
          },
          { weight: 1, arbitrary: fc.record({ ...required, ...optional }, { requiredKeys: [] }) },
        ),
        fc.oneof(
          { weight: 30, arbitrary: fc.constant(null) },
          fc.constantFrom("extra", "toString", "kind"),
        ),
      )
      .map(([o, key]) => (key === null ? o : { ...o, [key]: 1 }));
  const item = (kind: unknown, required: Record<string, fc.Arbitrary<unknown>>, optional = {}) =>
    shape(
      { id, seq: int, kind: fc.constant(kind), from: id, ts: int, ...required },
      { to: id, channel: id, ...optional },
    );
  const attachment = shape({ fileId: id, name: text(255), size: int, contentType: text(255) });
  const streamItem = fc.oneof(
    item(
      "message",
      { content },
      {
        replyTo: id,
        mentions: ids(50),
        attachments: mostly(
          fc.oneof(
            fc.array(attachment, { maxLength: 2 }),
            fc.constant(Array(11).fill({ fileId: "f", name: "n", size: 1, contentType: "t" })),
          ),
        ),
        clientMsgId: id,
      },
    ),
    item("edit", { target: id, content }),
    item("recall", { target: id }),
    item("reaction", { target: id, emoji: text(64), op: oneOf("add", "remove") }),
    item(undefined, { content }),
    junk,
  );
  const data: Record<string, fc.Arbitrary<unknown>> = {
    receipt: shape({
      messageId: id,
      to: id,
      status: oneOf("delivered", "offline", "failed"),
      ts: int,
    }),
    presence: shape({ userId: id, online: bool, ts: int }),
    read: shape({ userId: id, seq: int, ts: int }, { peer: id, channel: id }),
    typing: shape({ from: id, ts: int }, { channel: id }),
    friend: shape({
      userId: id,
      username: text(256),
      status: oneOf("pending", "friends", "none"),
      ts: int,
    }),
    conversation: shape(
      { channel: id, members: int, online: int, ts: int },
      { role: oneOf("owner", "admin", "member"), mutedUntil: int },
    ),
    invited: shape({ channel: id, by: id, ts: int }),
    removed: shape({ channel: id, reason: oneOf("kicked", "banned"), ts: int }),
  };
  const version = fc.oneof({ weight: 20, arbitrary: fc.constant(1) }, fc.constant(2));
  // Message pushes, the hot path's bulk, as often as all the other shapes together.
  const command = fc.oneof(
    {
      weight: 20,
      arbitrary: shape(
        {
          v: version,
          kind: fc.constant("push"),
          event: fc.constant("message"),
          to: ids(100_000),
          data: streamItem,
        },
        { receipt: bool, notify: ids(1_000) },
      ),
    },
    ...Object.entries(data).flatMap(([event, arbitrary]) => [
      shape({
        v: version,
        kind: fc.constant("push"),
        event: fc.constant(event),
        to: ids(100_000),
        data: arbitrary,
      }),
      // Another event's data, and the message push's own keys on another event.
      shape(
        {
          v: version,
          kind: fc.constant("push"),
          event: fc.constant(event),
          to: ids(3),
          data: fc.oneof(...Object.values(data)),
        },
        { receipt: bool },
      ),
    ]),
    shape({
      v: version,
      kind: fc.constant("broadcast"),
      data: shape({ id, from: id, broadcast: mostly(fc.constant(true)), content, ts: int }),
    }),
    shape(
      { v: version, kind: fc.constant("kick"), userId: id, reason: oneOf(...KICK_REASONS) },
      { sessionId: id },
    ),
    shape({
      v: version,
      kind: oneOf("push", "batch", "teleport"),
      event: oneOf("message", "nope"),
    }),
    junk,
  );
  /** As a node gets it: through JSON. */
  const wire = command.map((value) => JSON.parse(JSON.stringify(value) ?? "null") as unknown);

  it("accepts a command exactly when zod accepts it unchanged", function () {
    let plain = 0;
    fc.assert(
      fc.property(wire, (value) => {
        const zod = nodeCommandSchema.safeParse(value);
        const unchanged = zod.success && JSON.stringify(zod.data) === JSON.stringify(value);
        // Key order aside: zod may return the same keys in its own order.
        const same = zod.success && (unchanged || isDeepStrictEqualLoose(zod.data, value));
        if (isPlainCommand(value)) plain++;
        expect(isPlainCommand(value), JSON.stringify(value)).to.equal(same);
      }),
      { numRuns: 3_000 },
    );
    // The generator reaches both sides often enough for the comparison to mean something.
    expect(plain).to.be.greaterThan(300);
  });

  it("decodes exactly as zod does", function () {
    fc.assert(
      fc.property(wire, (value) => {
        const zod = nodeCommandSchema.safeParse(value);
        expect(decodeCommand(JSON.stringify(value))).to.deep.equal(zod.success ? zod.data : null);
      }),
      { numRuns: 1_000 },
    );
  });
});

/** Deep equality that ignores key order (both sides come from JSON). */
function isDeepStrictEqualLoose(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) &&
      isDeepStrictEqualLoose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}
