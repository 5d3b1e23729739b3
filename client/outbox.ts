// Sends that survive a lost answer: each carries a clientMsgId, so the server stores it once
// however often it is posted (CONTRACT.md "Conversation streams"); a send whose answer never came
// (network, 429, 5xx) is posted again with the same id, backing off, and at once on a reconnect.
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import { HeraldError, type HttpClient } from "./http.js";

/** Posts of one send before its promise rejects with the last failure. */
const ATTEMPTS = 6;
const ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** 22 random letters and digits (~131 bits): fits the contract's 1–64 of [A-Za-z0-9_-]. */
export function newClientMsgId(): string {
  const bytes = new Uint8Array(22);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => ID_CHARS[b % ID_CHARS.length]).join("");
}

export class Outbox {
  /** Sends waiting to be posted again, each woken early by flush(). */
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly http: HttpClient,
    private readonly backoff: BackoffOptions,
  ) {}

  /** How many sends are waiting for another attempt. */
  get size(): number {
    return this.waiting.size;
  }

  /** Posts `body` (which holds its clientMsgId) until the server answers it. */
  async post<T>(path: string, body: { clientMsgId: string }): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.http.request<T>("POST", path, body, undefined, { idempotent: true });
      } catch (err) {
        if (!isLost(err) || attempt >= ATTEMPTS) throw err;
        const wait = Math.max(
          (err.retryAfter ?? 0) * 1000,
          backoffDelay(attempt - 1, this.backoff),
        );
        await this.sleep(wait);
      }
    }
  }

  /** The connection is back: every waiting send tries again now. */
  flush(): void {
    for (const wake of [...this.waiting]) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiting.add(wake);
    });
  }
}

/** No answer, or one that says "not now": the send may or may not be stored, so post it again. */
function isLost(err: unknown): err is HeraldError {
  return (
    err instanceof HeraldError && (err.status === 0 || err.status === 429 || err.status >= 500)
  );
}
