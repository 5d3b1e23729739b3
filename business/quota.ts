// The storage quota: message content a user may store per UTC day, counted in the engine's
// limiter store (one counter per user per day, shared by every business instance).
import type { Limiter, Limits } from "../engine/types.js";
import type { UserId } from "../engine/protocol.js";
import { DomainError } from "./errors.js";

const DAY_MS = 86_400_000;

export class StorageQuota {
  private readonly daily: Limiter;

  constructor(limits: Limits, bytesPerDay: number) {
    this.daily = limits.limiter("quota", { points: bytesPerDay, durationS: DAY_MS / 1000 });
  }

  /**
   * Counts `content` stored `copies` times (once per recipient) against today's allowance;
   * `quota_exceeded`, with nothing counted, when it does not fit.
   */
  async charge(userId: UserId, content: unknown, copies = 1): Promise<void> {
    const bytes = Buffer.byteLength(JSON.stringify(content), "utf8") * copies;
    const key = `${userId}:${Math.floor(Date.now() / DAY_MS)}`;
    if ((await this.daily.take(key, bytes)).ok) return;
    await this.daily.giveBack(key, bytes);
    throw new DomainError("quota_exceeded", "today's storage quota is used up");
  }
}
