// Small presentation helpers: times, day labels, avatar letters and colours.

const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "long" });
const date = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });

export function formatTime(ts: number): string {
  return time.format(ts);
}

/** "Today", "Yesterday", a weekday within the week, else the date. */
export function formatDay(ts: number, now = Date.now()): string {
  const day = startOfDay(ts);
  const today = startOfDay(now);
  const days = Math.round((today - day) / 86_400_000);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days > 1 && days < 7) return weekday.format(ts);
  return date.format(ts);
}

/** A time ahead: "14:05" today, "tomorrow 14:05", else with its date ("9 December 2026 14:05"). */
export function formatUntil(ts: number, now = Date.now()): string {
  const days = Math.round((startOfDay(ts) - startOfDay(now)) / 86_400_000);
  if (days <= 0) return formatTime(ts);
  return `${days === 1 ? "tomorrow" : date.format(ts)} ${formatTime(ts)}`;
}

export function sameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b);
}

function startOfDay(ts: number): number {
  const d = new Date(ts);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

export function initial(name: string): string {
  const first = Array.from(name.trim())[0];
  return first ? first.toUpperCase() : "?";
}

/** One of eight hues, stable per id, so a person keeps their colour everywhere. */
export function hueClass(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return `hue-${h % 8}`;
}

/** A short stand-in for someone whose name the page could not confirm. */
export function shortId(userId: string): string {
  return `user ${userId.slice(0, 6)}`;
}

/** A file size as people read it: 512 B, 1.4 KB, 25 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
