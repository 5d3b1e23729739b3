// Who may do what in a channel: the one table (CONTRACT.md "Channels with owners"). Checked
// after the session, the body and the unknown targets (a channel that does not exist, or a
// private one the caller is not in: 404; an unknown user: 404), as the contract orders it.
// Joining is judged by the store in the same step as the insert (a ban, a private channel's
// invite, IM_CHANNEL_MAX_MEMBERS); here only what it refuses with is named.
import type { ChannelMember, MemberLookup, Standing } from "../../engine/types.js";
import type { DomainCode } from "../errors.js";

/** What a user may try in a channel without naming another user. */
export type OwnAction = "read" | "post" | "recall_others";
/** What an owner or admin does to another user. */
export type MemberAction =
  "invite" | "kick" | "ban" | "unban" | "mute" | "unmute" | "set_role" | "transfer_owner";

/** "allow", or the code the request is refused with. */
export type Verdict = "allow" | DomainCode;

const A = "allow";
const NOT_MEMBER = "not_member";
const FORBIDDEN = "forbidden";
/** A member-only change to someone who is no member. */
const NO_MEMBER = "member_not_found";
/** Never met: acting on yourself is refused (400) before the table. */
const SELF = "cannot_target_self";

/** actor → verdict. A muted member is a member here; `muted` is judged by mayPost. */
export const OWN_ACTIONS: Record<OwnAction, Record<Standing, Verdict>> = {
  read: { owner: A, admin: A, member: A, outsider: NOT_MEMBER, banned: NOT_MEMBER },
  post: { owner: A, admin: A, member: A, outsider: NOT_MEMBER, banned: NOT_MEMBER },
  // Recalling another's message (one's own: the recall window decides).
  recall_others: {
    owner: A,
    admin: A,
    member: "not_sender",
    outsider: NOT_MEMBER,
    banned: NOT_MEMBER,
  },
};

/** A row of MEMBER_ACTIONS: the verdict per target standing. */
type Row = Record<Standing, Verdict>;
const everyone = (verdict: Verdict): Row => ({
  owner: verdict,
  admin: verdict,
  member: verdict,
  outsider: verdict,
  banned: verdict,
});

/** Acting on someone's membership (kick, ban, unban): an admin only on members and outsiders. */
const MODERATION: Record<Standing, Row> = {
  owner: { owner: SELF, admin: A, member: A, outsider: A, banned: A },
  admin: { owner: FORBIDDEN, admin: FORBIDDEN, member: A, outsider: A, banned: A },
  member: everyone(FORBIDDEN),
  outsider: everyone(NOT_MEMBER),
  banned: everyone(NOT_MEMBER),
};

/** Changing a member's mute: as MODERATION, on members only. */
const MUTING: Record<Standing, Row> = {
  owner: { owner: SELF, admin: A, member: A, outsider: NO_MEMBER, banned: NO_MEMBER },
  admin: { owner: FORBIDDEN, admin: FORBIDDEN, member: A, outsider: NO_MEMBER, banned: NO_MEMBER },
  member: everyone(FORBIDDEN),
  outsider: everyone(NOT_MEMBER),
  banned: everyone(NOT_MEMBER),
};

/** Roles and ownership: the owner's alone, on members only. */
const OWNER_ONLY: Record<Standing, Row> = {
  owner: { owner: SELF, admin: A, member: A, outsider: NO_MEMBER, banned: NO_MEMBER },
  admin: everyone(FORBIDDEN),
  member: everyone(FORBIDDEN),
  outsider: everyone(NOT_MEMBER),
  banned: everyone(NOT_MEMBER),
};

/**
 * actor → target → verdict. An admin cannot act on the owner or another admin; only the owner
 * sets roles or hands ownership on. Kicking someone who is not in, unbanning someone who is not
 * banned, inviting a member: allowed, and nothing changes (204 / 200).
 */
export const MEMBER_ACTIONS: Record<MemberAction, Record<Standing, Row>> = {
  invite: {
    owner: { owner: SELF, admin: A, member: A, outsider: A, banned: "banned" },
    admin: { owner: A, admin: A, member: A, outsider: A, banned: "banned" },
    member: everyone(FORBIDDEN),
    outsider: everyone(NOT_MEMBER),
    banned: everyone(NOT_MEMBER),
  },
  kick: MODERATION,
  ban: MODERATION,
  unban: MODERATION,
  mute: MUTING,
  unmute: MUTING,
  set_role: OWNER_ONLY,
  transfer_owner: OWNER_ONLY,
};

/** Where a user stands, from the store's lookup (null: no such channel). */
export function standingOf(lookup: MemberLookup | null): Standing {
  if (lookup?.member) return lookup.member.role;
  return lookup?.banned ? "banned" : "outsider";
}

/** Whether the channel is hidden from this user: a private one they are not in (answered 404). */
export function hiddenFrom(lookup: MemberLookup): boolean {
  return lookup.visibility === "private" && lookup.member === null;
}

/** The seq up to which a member sees nothing: their join seq in a since_join channel, else 0. */
export function historyFloor(lookup: MemberLookup & { member: ChannelMember }): number {
  return lookup.history === "since_join" ? lookup.member.joinSeq : 0;
}

/** A member may post unless muted at `now` (then `muted`, until member.mutedUntil). */
export function mayPost(member: ChannelMember, now: number): Verdict {
  return member.mutedUntil > now ? "muted" : A;
}
