// The embedded engine: every concern's memory twin, for a single node with no Redis (the way
// socket.io's in-memory adapter is its default).
import { MemoryBus } from "./bus/memory.js";
import { MemoryMembership } from "./membership/memory.js";
import { MemoryPresence } from "./presence/memory.js";
import { MemoryStore } from "./store/memory.js";
import { MemoryTokens } from "./tokens/memory.js";
import type { Engine } from "./types.js";

export class MemoryEngine implements Engine {
  readonly kind = "memory";
  readonly bus = new MemoryBus();
  readonly tokens = new MemoryTokens();
  readonly store = new MemoryStore();
  readonly membership = new MemoryMembership(this.bus);
  readonly presence = new MemoryPresence(this.membership);

  async ping(): Promise<void> {}

  isOutage(): boolean {
    return false; // nothing outside this process can fail
  }

  async close(): Promise<void> {}
}
