// Connect tokens in this process's memory; lapsed ones are dropped by the engine's sweep.
import { hashToken, newToken } from "../ids.js";
import { TOKEN_MEMORY_MS, type ConnectGrant, type TakeResult, type Tokens } from "./types.js";

interface TokenEntry {
  grant: ConnectGrant;
  expiresAt: number;
}

export class MemoryTokens implements Tokens {
  private readonly tokens = new Map<string, TokenEntry>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Tokens held: unused ones, and lapsed ones still remembered to answer `expired`. */
  get size(): number {
    return this.tokens.size;
  }

  async issue(grant: ConnectGrant, ttlMs: number): Promise<string> {
    const token = newToken();
    this.tokens.set(hashToken(token), { grant: { ...grant }, expiresAt: this.clock() + ttlMs });
    return token;
  }

  async take(token: string): Promise<TakeResult> {
    const key = hashToken(token);
    const entry = this.tokens.get(key);
    if (!entry) return { status: "invalid" };
    this.tokens.delete(key);
    if (entry.expiresAt <= this.clock()) return { status: "expired" };
    return { status: "ok", grant: entry.grant };
  }

  async revokeSession(sessionId: string): Promise<void> {
    for (const [key, entry] of this.tokens)
      if (entry.grant.sessionId === sessionId) this.tokens.delete(key);
  }

  /** Forgets tokens lapsed for longer than TOKEN_MEMORY_MS (as their Redis keys expire). */
  sweep(): void {
    const cutoff = this.clock() - TOKEN_MEMORY_MS;
    for (const [key, entry] of this.tokens) if (entry.expiresAt < cutoff) this.tokens.delete(key);
  }
}
