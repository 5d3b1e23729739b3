// What a message shows as text. The web chat sends plain strings; older channel posts are
// {text, username}; content from other clients may be any JSON value. Always shown as text.

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

/** A piece of a message's text; `mention` pieces are an "@name" of someone it mentions. */
export interface TextPart {
  text: string;
  mention: boolean;
}

/** Splits `text` at every "@name" of `names` (whole names only, case-insensitive). */
export function mentionParts(text: string, names: readonly string[]): TextPart[] {
  if (names.length === 0) return [{ text, mention: false }];
  const alternatives = names.map((n) => n.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")).join("|");
  const pattern = new RegExp(`@(?:${alternatives})(?![A-Za-z0-9_.-])`, "gi");
  const parts: TextPart[] = [];
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index;
    if (start > at) parts.push({ text: text.slice(at, start), mention: false });
    parts.push({ text: match[0], mention: true });
    at = start + match[0].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at), mention: false });
  return parts;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
