// Turning SDK failures into what a person reads, and spotting the one that ends the session.
import { HeraldError } from "../sdk.js";

const FRIENDLY: Record<string, string> = {
  network_error: "Can't reach the server. Check your connection.",
  not_friends: "You can only message friends.",
  not_member: "Join the channel to post here.",
  username_taken: "That username is taken.",
  too_large: "That message is too long.",
  rate_limited: "Slow down a little and try again.",
  unavailable: "The server is busy. Try again in a moment.",
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
