// The messages of one conversation as the page shows them: stored messages in seq order, each
// once (by id), then this device's messages still on their way. Pure functions over arrays so
// Preact sees a new array whenever something changed.
import type {
  Attachment,
  MessageItem,
  ReactionCount,
  ReceiptStatus,
  UserId,
} from "../../engine/protocol.js";

export type Delivery = "sending" | "sent" | ReceiptStatus | "error";

export interface ChatMessage {
  /** Render key: the server id, or the local id of this page's send (kept once it is stored). */
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
  /** The send's idempotency key, kept so "Retry" cannot store it twice. */
  clientMsgId?: string;
  replyTo?: string;
  mentions?: readonly UserId[];
  attachments?: readonly Attachment[];
  editedAt?: number;
  recalled?: boolean;
  reactions: readonly ReactionCount[];
}

/** A stored message as the page shows it; `delivery`: a receipt heard before it arrived. */
export function fromItem(item: MessageItem, me: string, delivery?: Delivery): ChatMessage {
  const m: ChatMessage = {
    key: item.id,
    id: item.id,
    seq: item.seq,
    from: item.from,
    content: item.content,
    ts: item.ts,
    mine: item.from === me,
    delivery,
    reactions: item.reactions ?? [],
  };
  if (item.clientMsgId !== undefined) m.clientMsgId = item.clientMsgId;
  if (item.replyTo !== undefined) m.replyTo = item.replyTo;
  if (item.mentions !== undefined) m.mentions = item.mentions;
  if (item.attachments !== undefined) m.attachments = item.attachments;
  if (item.editedAt !== undefined) m.editedAt = item.editedAt;
  if (item.recalled) m.recalled = true;
  return m;
}

/** The stored message `id` changed (an edit, a recall, its reactions); the same log if absent. */
export function updateMessage(
  log: readonly ChatMessage[],
  id: string,
  change: (m: ChatMessage) => ChatMessage,
): readonly ChatMessage[] {
  let changed = false;
  const next = log.map((m) => {
    if (m.id !== id) return m;
    changed = true;
    return change(m);
  });
  return changed ? next : log;
}

/** The last stored message's seq, or 0. */
export function newestSeq(log: readonly ChatMessage[]): number {
  for (let i = log.length - 1; i >= 0; i--) {
    const seq = log[i]!.seq;
    if (seq !== undefined) return seq;
  }
  return 0;
}

/**
 * Adds stored messages, dropping ids already present; keeps seq order, pending last. A stored
 * message of this page's own pending send (the same clientMsgId: its push or a history read
 * overtook the 202) takes the pending bubble's place, so the message is never shown twice.
 */
export function mergeStored(log: readonly ChatMessage[], incoming: readonly ChatMessage[]) {
  const ids = new Set<string>();
  for (const m of log) if (m.id) ids.add(m.id);
  const fresh = incoming.filter((m) => {
    if (!m.id || ids.has(m.id)) return false;
    ids.add(m.id);
    return true;
  });
  if (fresh.length === 0) return log;
  // clientMsgId → the render key of this page's pending bubble it replaces (kept: no remount).
  const landed = new Map<string, string>();
  for (const m of fresh) if (m.mine && m.clientMsgId !== undefined) landed.set(m.clientMsgId, "");
  for (const m of log) {
    if (m.seq === undefined && m.clientMsgId !== undefined && landed.has(m.clientMsgId)) {
      landed.set(m.clientMsgId, m.key);
    }
  }
  const replaced = (m: ChatMessage) => (m.clientMsgId ? landed.get(m.clientMsgId) : undefined);
  const own = (m: ChatMessage): ChatMessage => {
    const key = replaced(m);
    return key ? { ...m, key, delivery: later(m.delivery, "sent") } : m;
  };
  const stored = log.filter((m) => m.seq !== undefined).concat(fresh.map(own));
  stored.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  return stored.concat(log.filter((m) => m.seq === undefined && !replaced(m)));
}

export function appendPending(log: readonly ChatMessage[], message: ChatMessage): ChatMessage[] {
  return [...log, message];
}

/**
 * The server accepted a pending message (202): it takes its id and seq. If the stored copy got
 * here first (its push, or a history read), that copy already took its place and only takes the
 * delivery mark.
 */
export function confirmPending(
  log: readonly ChatMessage[],
  key: string,
  accepted: { id: string; seq: number; ts: number },
  delivery: Delivery,
): readonly ChatMessage[] {
  const pending = log.find((m) => m.key === key && m.seq === undefined);
  const rest = pending ? log.filter((m) => m !== pending) : log;
  if (rest.some((m) => m.id === accepted.id)) return setDelivery(rest, accepted.id, delivery);
  if (!pending) return log;
  return mergeStored(rest, [{ ...pending, ...accepted, delivery }]);
}

/** The send failed; a stored copy that already took the bubble's place stays as it is. */
export function failPending(log: readonly ChatMessage[], key: string, error: string) {
  return log.map((m) =>
    m.key === key && m.seq === undefined ? { ...m, delivery: "error" as const, error } : m,
  );
}

/** Discards a pending message; a stored copy that already took the bubble's place stays. */
export function removeMessage(log: readonly ChatMessage[], key: string) {
  return log.filter((m) => m.key !== key || m.seq !== undefined);
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
