// The web page's message log (client/web/conversation-log.ts) under every order in which a send's
// answers can reach the page: its 202, its own push (the sender's sockets get it too), a history
// read that brings it, a receipt, or a failed request whose message was stored all the same. The
// page must show each message once at every step (CI once saw a reply twice for a moment: the
// push overtook the 202 and both bubbles were on screen).
import { expect } from "chai";
import fc from "fast-check";
import {
  appendPending,
  confirmPending,
  failPending,
  mergeStored,
  setDelivery,
  type ChatMessage,
  type Delivery,
} from "../client/web/conversation-log.js";

const ME = "u-me";

type Step =
  | { kind: "push"; i: number }
  | { kind: "history" }
  | { kind: "answer"; i: number }
  | { kind: "receipt"; i: number };

interface Send {
  clientMsgId: string;
  id: string;
  seq: number;
  /** The request's answer: 202, or a failure though the server stored the message. */
  accepted: boolean;
}

function pending(send: Send, n: number): ChatMessage {
  return {
    key: `local-${n}`,
    id: undefined,
    seq: undefined,
    from: ME,
    content: `text ${n}`,
    ts: n,
    mine: true,
    delivery: "sending",
    clientMsgId: send.clientMsgId,
    reactions: [],
  };
}

function stored(send: Send, n: number): ChatMessage {
  return {
    key: send.id,
    id: send.id,
    seq: send.seq,
    from: ME,
    content: `text ${n}`,
    ts: n,
    mine: true,
    delivery: undefined,
    clientMsgId: send.clientMsgId,
    reactions: [],
  };
}

/** Each send's push, answer and receipt once, interleaved in any order; history reads between. */
const scenario = fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }).chain((answers) => {
  const sends: Send[] = answers.map((accepted, i) => ({
    clientMsgId: `c${i}`,
    id: `m${i}`,
    seq: i + 1,
    accepted,
  }));
  const steps: Step[] = sends.flatMap((_, i): Step[] => [
    { kind: "push", i },
    { kind: "answer", i },
    { kind: "receipt", i },
  ]);
  return fc.tuple(
    fc.constant(sends),
    fc.shuffledSubarray(steps, { minLength: steps.length, maxLength: steps.length }),
    fc.array(fc.nat(steps.length), { maxLength: 3 }),
  );
});

describe("web page message log: a send's answers in any order", function () {
  it("shows each message once at every step, and ends stored, in seq order, marked", () => {
    fc.assert(
      fc.property(scenario, ([sends, steps, historyAt]) => {
        let log: readonly ChatMessage[] = [];
        sends.forEach((send, n) => (log = appendPending(log, pending(send, n))));
        // What the server has stored so far (a history read returns all of it), and the
        // receipts that overtook their message's id (the page keeps them until the 202).
        const serverHas: ChatMessage[] = [];
        const stashed = new Map<string, Delivery>();
        const applied = new Set<string>();
        const schedule: Step[] = [];
        steps.forEach((step, at) => {
          if (historyAt.includes(at)) schedule.push({ kind: "history" });
          schedule.push(step);
        });
        for (const step of schedule) {
          if (step.kind === "history") {
            log = mergeStored(log, serverHas.slice());
          } else {
            const send = sends[step.i]!;
            if (!serverHas.some((m) => m.id === send.id)) serverHas.push(stored(send, step.i));
            serverHas.sort((a, b) => a.seq! - b.seq!);
            if (step.kind === "push") log = mergeStored(log, [stored(send, step.i)]);
            if (step.kind === "receipt") {
              if (log.some((m) => m.id === send.id)) {
                log = setDelivery(log, send.id, "delivered");
                applied.add(send.id);
              } else {
                stashed.set(send.id, "delivered");
              }
            }
            if (step.kind === "answer") {
              const key = `local-${step.i}`;
              if (send.accepted && stashed.has(send.id)) applied.add(send.id);
              log = send.accepted
                ? confirmPending(
                    log,
                    key,
                    { id: send.id, seq: send.seq, ts: step.i },
                    stashed.get(send.id) ?? "sent",
                  )
                : failPending(log, key, "network");
            }
          }
          const clientIds = log.map((m) => m.clientMsgId);
          expect(new Set(clientIds).size, "a message shown twice").to.equal(clientIds.length);
          const keys = log.map((m) => m.key);
          expect(new Set(keys).size, "a render key used twice").to.equal(keys.length);
        }
        // Every message was pushed, so each ends stored once, in seq order, never "sending".
        expect(log.map((m) => m.seq)).to.deep.equal(sends.map((s) => s.seq));
        for (const m of log) expect(m.delivery).to.be.oneOf(["sent", "delivered"]);
        // A receipt the page applied is never overwritten by a later "sent".
        for (const send of sends) {
          const m = log.find((x) => x.id === send.id)!;
          expect(m.delivery, send.id).to.equal(applied.has(send.id) ? "delivered" : "sent");
        }
      }),
      { numRuns: 2000 },
    );
  });
});
