// The messages of one conversation as the page shows them: stored messages in seq order, each
// once (by id), then this device's messages still on their way. Pure functions over arrays so
// Preact sees a new array whenever something changed.
import type { MessagePush, ReceiptStatus } from "../../engine/protocol.js";

export type Delivery = "sending" | "sent" | ReceiptStatus | "error";

export interface ChatMessage {
  /** Render key: the server id, or a local id while the send is in flight. */
  key: string;
  id: string | undefined;
  seq: number | undefined;
  from: string;
  content: unknown;
  ts: number;
  mine: boolean;
  /** Known only for messages this page sent (or heard a receipt for). */
  delivery: Delivery | undefined;
  error?: string;
}

export function fromPush(push: MessagePush, me: string): ChatMessage {
  return {
    key: push.id,
    id: push.id,
    seq: push.seq,
    from: push.from,
    content: push.content,
    ts: push.ts,
    mine: push.from === me,
    delivery: undefined,
  };
}

/** Adds stored messages, dropping ids already present; keeps seq order, pending last. */
export function mergeStored(log: readonly ChatMessage[], incoming: readonly ChatMessage[]) {
  const ids = new Set<string>();
  for (const m of log) if (m.id) ids.add(m.id);
  const fresh = incoming.filter((m) => {
    if (!m.id || ids.has(m.id)) return false;
    ids.add(m.id);
    return true;
  });
  if (fresh.length === 0) return log;
  const stored = log.filter((m) => m.seq !== undefined).concat(fresh);
  stored.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  return stored.concat(log.filter((m) => m.seq === undefined));
}

export function appendPending(log: readonly ChatMessage[], message: ChatMessage): ChatMessage[] {
  return [...log, message];
}

/**
 * The server accepted a pending message (202): it takes its id and seq. If the push of the same
 * message got here first, that copy stays and the pending one goes, so it is shown once.
 */
export function confirmPending(
  log: readonly ChatMessage[],
  key: string,
  accepted: { id: string; seq: number; ts: number },
  delivery: Delivery,
): readonly ChatMessage[] {
  const pending = log.find((m) => m.key === key);
  if (!pending) return log;
  const rest = log.filter((m) => m.key !== key);
  const existing = rest.find((m) => m.id === accepted.id);
  if (existing) {
    return rest.map((m) =>
      m === existing ? { ...m, mine: true, delivery: later(m.delivery, delivery) } : m,
    );
  }
  const confirmed: ChatMessage = { ...pending, ...accepted, delivery };
  return mergeStored(rest, [confirmed]);
}

export function failPending(log: readonly ChatMessage[], key: string, error: string) {
  return log.map((m) => (m.key === key ? { ...m, delivery: "error" as const, error } : m));
}

export function removeMessage(log: readonly ChatMessage[], key: string) {
  return log.filter((m) => m.key !== key);
}

export function setDelivery(log: readonly ChatMessage[], id: string, delivery: Delivery) {
  let changed = false;
  const next = log.map((m) => {
    if (m.id !== id) return m;
    const d = later(m.delivery, delivery);
    if (d === m.delivery) return m;
    changed = true;
    return { ...m, delivery: d };
  });
  return changed ? next : log;
}

export function oldestSeq(log: readonly ChatMessage[]): number | undefined {
  for (const m of log) if (m.seq !== undefined) return m.seq;
  return undefined;
}

/** A receipt outranks "sent"; "sent" never overwrites a receipt that came first. */
function later(current: Delivery | undefined, next: Delivery): Delivery {
  if (next === "sent" && current !== undefined && current !== "sending") return current;
  return next;
}
