// What a message shows as text. The web chat sends a DM as a plain string and a channel post as
// {text, username} (the name is only a hint: the page checks it against the server before
// showing it). Content from other clients may be any JSON value; it is always shown as text.

export interface ChannelContent {
  text: string;
  username: string;
}

export function channelContent(text: string, username: string): ChannelContent {
  return { text, username };
}

/** The text to show for any content, never HTML. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (isRecord(content) && typeof content.text === "string") return content.text;
  try {
    return JSON.stringify(content) ?? String(content);
  } catch {
    return String(content);
  }
}

/** The sender name a channel post claims, if any (unverified). */
export function claimedUsername(content: unknown): string | undefined {
  if (isRecord(content) && typeof content.username === "string") return content.username;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
