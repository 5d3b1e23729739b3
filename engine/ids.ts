// Identifiers shared by both engines: tokens, their hashes and conversation keys.
import { hash, randomBytes } from "node:crypto";
import type { ConversationRef, FileShare } from "./store/types.js";

/** 256 random bits, base64url: session and connect tokens. */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Tokens are stored under their hash, so a read of the store does not yield usable tokens. */
export function hashToken(token: string): string {
  return hash("sha256", token, "base64url"); // one call: no Hash object per request
}

/** A stable key for a conversation; a direct one is the same whichever side is `a`. */
export function conversationKey(ref: ConversationRef): string {
  if (ref.kind === "channel") return `c:${ref.name}`;
  return ref.a < ref.b ? `d:${ref.a}:${ref.b}` : `d:${ref.b}:${ref.a}`;
}

/** The conversation a key of conversationKey names; null for anything else. */
export function refOfKey(key: string): ConversationRef | null {
  if (key.startsWith("c:")) return { kind: "channel", name: key.slice(2) };
  const [kind, a, b, ...rest] = key.split(":");
  if (kind !== "d" || !a || !b || rest.length > 0) return null;
  return { kind: "direct", a, b };
}

/** One canonical string per (conversation, seq), a direct pair in one order, JSON so that it
 * parses back into a FileShare. */
export function shareEntry(ref: ConversationRef, seq: number): string {
  const canonical: ConversationRef =
    ref.kind === "channel"
      ? { kind: "channel", name: ref.name }
      : ref.a < ref.b
        ? { kind: "direct", a: ref.a, b: ref.b }
        : { kind: "direct", a: ref.b, b: ref.a };
  const share: FileShare = { ref: canonical, seq };
  return JSON.stringify(share);
}
