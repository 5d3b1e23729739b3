// The web page's message log (client/web/conversation-log.ts) under every order in which a send's
// answers can reach the page: its 202, its own push (the sender's sockets get it too), a history
// read that brings it, a receipt, or a failed request whose message was stored all the same. The
// page must show each message once at every step (CI once saw a reply twice for a moment: the
// push overtook the 202 and both bubbles were on screen), and every receipt it heard in the end.
import { expect } from "chai";
import fc from "fast-check";
import type { MessageItem, ReceiptStatus } from "../engine/protocol.js";
import {
  appendPending,
  confirmPending,
  failPending,
  fromItem,
  mergeStored,
  removeMessage,
  setDelivery,
  type ChatMessage,
} from "../client/web/conversation-log.js";

const ME = "u-me";

type Step =
  | { kind: "push"; i: number }
  | { kind: "history" }
  | { kind: "answer"; i: number }
  | { kind: "receipt"; i: number };

interface Send {
  item: MessageItem;
  /** The request's answer: 202, or a failure though the server stored the message. */
  accepted: boolean;
  receipt: ReceiptStatus;
}

const localKey = (i: number) => `local-${i}`;

function pending(send: Send, i: number): ChatMessage {
  return {
    key: localKey(i),
    id: undefined,
    seq: undefined,
    from: ME,
    content: send.item.content,
    ts: i,
    mine: true,
    delivery: "sending",
    clientMsgId: send.item.clientMsgId,
    reactions: [],
  };
}

/** Each send's push, answer and receipt once, in any order; history reads anywhere between. */
const scenario = fc
  .array(fc.tuple(fc.boolean(), fc.constantFrom<ReceiptStatus>("delivered", "offline", "failed")), {
    minLength: 1,
    maxLength: 5,
  })
  .chain((answers) => {
    const sends: Send[] = answers.map(([accepted, receipt], i) => ({
      item: {
        kind: "message",
        id: `m${i}`,
        seq: i + 1,
        from: ME,
        to: "u-them",
        content: `text ${i}`,
        ts: i,
        clientMsgId: `c${i}`,
      },
      accepted,
      receipt,
    }));
    const steps: Step[] = sends.flatMap((_, i): Step[] => [
      { kind: "push", i },
      { kind: "answer", i },
      { kind: "receipt", i },
    ]);
    return fc.tuple(
      fc.constant(sends),
      fc.shuffledSubarray(steps, { minLength: steps.length, maxLength: steps.length }),
      // A history read before step k (k = steps.length: after the last).
      fc.array(fc.nat(steps.length), { maxLength: 3 }),
    );
  });

describe("web page message log: a send's answers in any order", function () {
  it("shows each message once at every step, and ends stored, in seq order, with its receipt", () => {
    fc.assert(
      fc.property(scenario, ([sends, steps, historyAt]) => {
        let log: readonly ChatMessage[] = [];
        sends.forEach((send, i) => (log = appendPending(log, pending(send, i))));
        // What the server has stored so far (a history read returns all of it), and the
        // receipts the page keeps until their message's id is on the page (chat-model's
        // pendingReceipts: taken by the 202, or by the message's arrival in ingest).
        const serverHas: MessageItem[] = [];
        const stashed = new Map<string, ReceiptStatus>();
        const arrive = (items: MessageItem[]) =>
          mergeStored(
            log,
            items.map((item) => {
              const receipt = stashed.get(item.id);
              stashed.delete(item.id);
              return fromItem(item, ME, receipt);
            }),
          );
        const schedule: Step[] = [];
        steps.forEach((step, at) => {
          if (historyAt.includes(at)) schedule.push({ kind: "history" });
          schedule.push(step);
        });
        if (historyAt.includes(steps.length)) schedule.push({ kind: "history" });
        for (const step of schedule) {
          if (step.kind === "history") {
            log = arrive(serverHas.slice());
          } else {
            const { item, accepted, receipt } = sends[step.i]!;
            if (!serverHas.includes(item)) serverHas.push(item);
            serverHas.sort((a, b) => a.seq - b.seq);
            if (step.kind === "push") log = arrive([item]);
            if (step.kind === "receipt") {
              if (log.some((m) => m.id === item.id)) log = setDelivery(log, item.id, receipt);
              else stashed.set(item.id, receipt);
            }
            if (step.kind === "answer") {
              if (accepted) {
                const delivery = stashed.get(item.id) ?? "sent";
                stashed.delete(item.id);
                log = confirmPending(log, localKey(step.i), item, delivery);
              } else {
                log = failPending(log, localKey(step.i), "network");
              }
            }
          }
          const clientIds = log.map((m) => m.clientMsgId);
          expect(new Set(clientIds).size, "a message shown twice").to.equal(clientIds.length);
          const keys = log.map((m) => m.key);
          expect(new Set(keys).size, "a render key used twice").to.equal(keys.length);
        }
        // Every message was pushed, so each ends stored once, in seq order, with the receipt
        // it got (never overwritten by a later "sent"); Discard on its old bubble keeps it.
        expect(log.map((m) => m.seq)).to.deep.equal(sends.map((s) => s.item.seq));
        for (const { item, receipt } of sends) {
          const m = log.find((x) => x.id === item.id)!;
          expect(m.delivery, item.id).to.equal(receipt);
          expect(m.clientMsgId).to.equal(item.clientMsgId);
        }
        sends.forEach((_, i) => expect(removeMessage(log, localKey(i))).to.deep.equal(log));
      }),
      { numRuns: 2000 },
    );
  });
});
