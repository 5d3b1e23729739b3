// The one error type of business decisions. Services throw it with one of the contract's stable
// codes and know nothing of HTTP; business/http-error.ts maps each code to its status.

/** Every code a service may refuse with: adding one makes the compiler ask for its status. */
export type DomainCode =
  | "banned"
  | "blocked"
  | "cannot_target_self"
  | "channel_exists"
  | "channel_full"
  | "channel_not_found"
  | "file_not_found"
  | "forbidden"
  | "invalid_attachments"
  | "invalid_credentials"
  | "invalid_mentions"
  | "invite_required"
  | "member_not_found"
  | "message_not_found"
  | "muted"
  | "not_editable"
  | "invalid_file"
  | "invalid_upload"
  | "link_expired"
  | "link_invalid"
  | "not_friends"
  | "not_member"
  | "quota_exceeded"
  | "not_sender"
  | "rate_limited"
  | "recalled"
  | "too_many_reactions"
  | "too_large"
  | "unauthorized"
  | "unavailable"
  | "unsupported"
  | "user_not_found"
  | "username_reserved"
  | "username_taken"
  | "window_passed";

export class DomainError extends Error {
  override name = "DomainError";

  constructor(
    readonly code: DomainCode,
    message: string,
    /** For `rate_limited` and `quota_exceeded`: whole seconds until a retry may pass. */
    readonly retryAfterS?: number,
    /** Extra fields of the answer's `error` object (`muted`: `mutedUntil`, ms). */
    readonly fields?: Readonly<Record<string, number>>,
  ) {
    super(message);
  }
}
