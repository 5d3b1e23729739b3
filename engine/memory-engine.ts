// The embedded engine: every concern's memory twin, for a single node with no Redis (the way
// socket.io's in-memory adapter is its default).
import { MemoryBus } from "./bus/memory.js";
import { MemoryLimits } from "./limits/memory.js";
import { MemoryMembership } from "./membership/memory.js";
import { MemoryPresence } from "./presence/memory.js";
import { MemoryStore } from "./store/memory.js";
import { MemoryTokens } from "./tokens/memory.js";
import type { Engine } from "./types.js";

export interface MemoryEngineOptions {
  /** How often lapsed tokens and sessions are dropped (Redis drops them by TTL). */
  sweepIntervalMs?: number;
  /** The time that tokens and sessions expire by; tests move it by hand. */
  clock?: () => number;
}

const SWEEP_INTERVAL_MS = 60_000;

export class MemoryEngine implements Engine {
  readonly kind = "memory";
  readonly bus = new MemoryBus();
  readonly tokens: MemoryTokens;
  readonly store: MemoryStore;
  readonly membership = new MemoryMembership(this.bus);
  readonly presence = new MemoryPresence(this.membership);
  readonly limits = new MemoryLimits();
  private readonly sweeper: NodeJS.Timeout;

  constructor({ sweepIntervalMs = SWEEP_INTERVAL_MS, clock = Date.now }: MemoryEngineOptions = {}) {
    this.tokens = new MemoryTokens(clock);
    this.store = new MemoryStore(clock);
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
    this.sweeper.unref();
  }

  /** Drops lapsed tokens and sessions, so memory follows the live population, not its history. */
  sweep(): void {
    this.tokens.sweep();
    this.store.sweepSessions();
  }

  async ping(): Promise<void> {}

  isOutage(): boolean {
    return false; // nothing outside this process can fail
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
