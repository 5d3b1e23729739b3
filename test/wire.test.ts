// The versioned wire format: every valid command and event decodes, anything else is null.
import { expect } from "chai";
import { decodeCommand, decodeEvent, encode, WIRE_VERSION } from "../engine/wire.js";
import type { NodeCommand, NodeEvent } from "../engine/wire.js";

const message = {
  id: "m1",
  seq: 3,
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
    data: { id: "m2", seq: 1, from: "u1", channel: "general", content: [], ts: 0 },
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
  ["unknown push event", JSON.stringify({ ...base, event: "typing" })],
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
