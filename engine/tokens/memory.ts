// Connect tokens in this process's memory.
import { hashToken, newToken } from "../ids.js";
import { TOKEN_MEMORY_MS, type ConnectGrant, type TakeResult, type Tokens } from "./types.js";

interface TokenEntry {
  grant: ConnectGrant;
  expiresAt: number;
}

export class MemoryTokens implements Tokens {
  private readonly tokens = new Map<string, TokenEntry>();

  async issue(grant: ConnectGrant, ttlMs: number): Promise<string> {
    this.sweep();
    const token = newToken();
    this.tokens.set(hashToken(token), { grant: { ...grant }, expiresAt: Date.now() + ttlMs });
    return token;
  }

  async take(token: string): Promise<TakeResult> {
    const key = hashToken(token);
    const entry = this.tokens.get(key);
    if (!entry) return { status: "invalid" };
    this.tokens.delete(key);
    if (entry.expiresAt <= Date.now()) return { status: "expired" };
    return { status: "ok", grant: entry.grant };
  }

  async revokeSession(sessionId: string): Promise<void> {
    for (const [key, entry] of this.tokens)
      if (entry.grant.sessionId === sessionId) this.tokens.delete(key);
  }

  private sweep(): void {
    const cutoff = Date.now() - TOKEN_MEMORY_MS;
    for (const [key, entry] of this.tokens) if (entry.expiresAt < cutoff) this.tokens.delete(key);
  }
}
