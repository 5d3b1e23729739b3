// The login kept across reloads: the session token (and who it belongs to) in localStorage.
// Storage can be unavailable (private modes, quotas); the page then simply forgets on reload.

export interface SavedSession {
  token: string;
  userId: string;
  username: string;
}

const KEY = "herald.session";

export function loadSession(): SavedSession | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as Partial<SavedSession>;
    if (
      typeof value.token === "string" &&
      typeof value.userId === "string" &&
      typeof value.username === "string"
    ) {
      return { token: value.token, userId: value.userId, username: value.username };
    }
  } catch {
    // unreadable: treated as no session
  }
  return null;
}

export function saveSession(session: SavedSession): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(session));
  } catch {
    // storage unavailable: the session lasts until reload
  }
}

export function clearSession(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing to clear
  }
}

const cursorKey = (userId: string) => `herald.cursors.${userId}`;

/** The SDK's per-conversation cursors for this user, from the last time the page was open. */
export function loadCursors(userId: string): Record<string, number> | undefined {
  try {
    const raw = localStorage.getItem(cursorKey(userId));
    if (!raw) return undefined;
    const value = JSON.parse(raw) as unknown;
    if (typeof value !== "object" || value === null) return undefined;
    const cursors: Record<string, number> = {};
    for (const [key, seq] of Object.entries(value)) {
      if (Number.isInteger(seq) && (seq as number) >= 0) cursors[key] = seq as number;
    }
    return cursors;
  } catch {
    return undefined;
  }
}

export function saveCursors(userId: string, cursors: Record<string, number>): void {
  try {
    localStorage.setItem(cursorKey(userId), JSON.stringify(cursors));
  } catch {
    // storage unavailable: the next load starts from the server's latest
  }
}

export function clearCursors(userId: string): void {
  try {
    localStorage.removeItem(cursorKey(userId));
  } catch {
    // nothing to clear
  }
}
