// Full-text search over what the caller may read (CONTRACT.md "Durable storage"). The store
// decides what matches; who may read a named conversation is ConversationAccess's to say.
import type { StreamItem, UserId } from "../../engine/protocol.js";
import type { ConversationRef } from "../../engine/types.js";
import { DomainError } from "../errors.js";
import type { ConversationAccess } from "./conversation-access.js";
import type { ServiceDeps } from "./deps.js";

export class SearchService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: ConversationAccess,
  ) {}

  /** Matches of `query` in the DM with `peer`, in `channel`, or (neither) everywhere. */
  async search(
    userId: UserId,
    query: string,
    target: { peer?: UserId; channel?: string },
    limit: number,
  ): Promise<StreamItem[]> {
    const store = this.deps.engine.store;
    if (!store.search)
      throw new DomainError("unsupported", "search needs the PostgreSQL store (DATABASE_URL)");
    let scope: { ref: ConversationRef; floor: number } | null = null;
    if (target.peer !== undefined)
      scope = { ref: await this.access.direct(userId, target.peer), floor: 0 };
    else if (target.channel !== undefined) {
      const { ref, floor } = await this.access.seat(userId, target.channel);
      scope = { ref, floor };
    }
    return store.search(userId, query, scope, limit);
  }
}
