// Turning SDK failures into what a person reads, and spotting the one that ends the session.
import { HeraldError } from "../sdk.js";
import { formatUntil } from "./format.js";

const FRIENDLY: Record<string, string> = {
  network_error: "Can't reach the server. Check your connection.",
  not_friends: "You can only message friends.",
  not_member: "Join the channel to post here.",
  username_taken: "That username is taken.",
  too_large: "That message is too long.",
  rate_limited: "Slow down a little and try again.",
  unavailable: "The server is busy. Try again in a moment.",
  blocked: "You can't reach this person: one of you has blocked the other.",
  invite_required: "That channel is private: ask one of its admins for an invite.",
  banned: "You are banned from that channel.",
  channel_exists: "A channel with that name already exists.",
  channel_full: "That channel is full.",
};

export function describeError(err: unknown): string {
  if (err instanceof HeraldError) {
    return FRIENDLY[err.code] ?? (err.message || `Request failed (${err.status})`);
  }
  return err instanceof Error ? err.message : String(err);
}

/** A 401 means the session is gone (expired, logged out elsewhere): back to the login form. */
export function isUnauthorized(err: unknown): boolean {
  return err instanceof HeraldError && err.status === 401;
}

/**
 * A post refused with `muted`: why, and when it ends (the error's `mutedUntil`, else what the
 * page last heard). Undefined for any other failure.
 */
export function describeMute(err: unknown, known: number | undefined): string | undefined {
  if (!(err instanceof HeraldError && err.code === "muted")) return undefined;
  const until = typeof err.details.mutedUntil === "number" ? err.details.mutedUntil : known;
  if (until === undefined || until <= Date.now()) return "You are muted in this channel.";
  return `You are muted in this channel until ${formatUntil(until)}.`;
}
