// ReceiptTracker: a push leaves the tracker as soon as it is settled (every target acked, no
// outcome owed), so a node holds only what is in flight; one not settled stays until its
// deadline, when its receipts fail and its ack ids leave the sockets that never acked.
import { expect } from "chai";
import type { Socket } from "socket.io";
import type { ReceiptStatus } from "../engine/protocol.js";
import { ReceiptTracker, type ReceiptRequest } from "../server/receipt-tracker.js";
import type { EncodedPush } from "../server/socket-internals.js";

const TIMEOUT_MS = 1000;

/** A socket as the tracker sees it: socket.io's private `acks` map and the user it is. */
interface FakeSocket {
  acks: Map<number, unknown>;
  user: string;
}
const socketOf = (user: string): FakeSocket => ({ acks: new Map(), user });
const real = (socket: FakeSocket) => socket as unknown as Socket;

describe("ReceiptTracker", function () {
  let settled: [string, ReceiptStatus][];
  let tracker: ReceiptTracker;
  let nextId = 1;

  beforeEach(function () {
    settled = [];
    tracker = new ReceiptTracker({
      ackTimeoutMs: TIMEOUT_MS,
      receipts: { settle: (request, outcome) => settled.push([request.messageId, outcome]) },
      acked: () => undefined,
      userOf: (socket) => (socket as unknown as { user: string }).user,
    });
  });

  /** Tracks a push to `targets` and sets its ack on each, as the node's write does. */
  function push(targets: FakeSocket[], requests: ReceiptRequest[] = []) {
    const encoded = { id: nextId++, ack: null } as unknown as EncodedPush;
    tracker.track(
      encoded,
      targets.map((socket) => ({ socket: real(socket) })),
      requests,
    );
    for (const socket of targets) socket.acks.set(encoded.id, encoded.ack);
    const ack = (socket: FakeSocket) => {
      socket.acks.delete(encoded.id); // socket.io forgets an ack once it is called
      encoded.ack!.call(real(socket));
    };
    return { id: encoded.id, ack };
  }

  const receipt = (messageId: string, to: string): ReceiptRequest => ({
    messageId,
    from: "sender",
    to,
    receipt: true,
    notify: null,
  });

  it("lets a push go once every target acked and nothing is owed", function () {
    const [a, b] = [socketOf("u1"), socketOf("u2")];
    const p = push([a, b]);
    expect(tracker.size).to.equal(1);
    p.ack(a);
    expect(tracker.size).to.equal(1);
    p.ack(b);
    expect(tracker.size).to.equal(0);
    tracker.sweep(Date.now() + TIMEOUT_MS + 1);
    expect(settled).to.deep.equal([]);
  });

  it("holds only the pushes in flight, however many were settled", function () {
    const socket = socketOf("u1");
    const pushes = Array.from({ length: 1000 }, () => push([socket]));
    for (const p of pushes.slice(0, 990)) p.ack(socket);
    expect(tracker.size).to.equal(10);
    expect(socket.acks.size).to.equal(10);
    tracker.sweep(Date.now() + TIMEOUT_MS + 1);
    expect(tracker.size).to.equal(0);
    expect(socket.acks.size).to.equal(0);
  });

  it("settles a receipt at the recipient's first ack and keeps the push for its other device", function () {
    const [phone, laptop] = [socketOf("u1"), socketOf("u1")];
    const p = push([phone, laptop], [receipt("m1", "u1")]);
    p.ack(laptop);
    expect(settled).to.deep.equal([["m1", "delivered"]]);
    expect(tracker.size).to.equal(1);
    tracker.sweep(Date.now() + TIMEOUT_MS + 1);
    expect(settled).to.deep.equal([["m1", "delivered"]]);
    expect(phone.acks.has(p.id)).to.equal(false);
    expect(tracker.size).to.equal(0);
  });

  it("fails a receipt nobody acked at its deadline, not before", function () {
    const socket = socketOf("u1");
    const p = push([socket], [receipt("m2", "u1")]);
    tracker.sweep(Date.now());
    expect(settled).to.deep.equal([]);
    expect(tracker.size).to.equal(1);
    tracker.sweep(Date.now() + TIMEOUT_MS + 1);
    expect(settled).to.deep.equal([["m2", "failed"]]);
    expect(socket.acks.has(p.id)).to.equal(false);
    expect(tracker.size).to.equal(0);
  });
});
