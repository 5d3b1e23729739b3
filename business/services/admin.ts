// Operators (usernames in IM_ADMINS, ignoring case): broadcast and force disconnect.
import { randomUUID } from "node:crypto";
import type { UserId } from "../../engine/protocol.js";
import { DomainError } from "../errors.js";
import { requireUser, type ServiceDeps } from "./deps.js";

export class AdminService {
  private readonly admins: Set<string>;

  constructor(private readonly deps: ServiceDeps) {
    this.admins = new Set(deps.config.admins.map((name) => name.toLowerCase()));
  }

  async requireAdmin(userId: UserId): Promise<void> {
    const [user] = await this.deps.engine.store.usersById([userId]);
    if (!user || !this.admins.has(user.username.toLowerCase()))
      throw new DomainError("forbidden", "operators only");
  }

  async broadcast(from: UserId, content: unknown): Promise<{ id: string; ts: number }> {
    await this.requireAdmin(from);
    const push = { id: randomUUID(), from, broadcast: true as const, content, ts: Date.now() };
    await this.deps.push.broadcast(push);
    return { id: push.id, ts: push.ts };
  }

  /** `user_not_found` before `forbidden`, as the contract orders them. */
  async disconnect(operator: UserId, userId: UserId): Promise<void> {
    await requireUser(this.deps.engine, userId);
    await this.requireAdmin(operator);
    await this.deps.push.forceOffline(userId, "force_offline");
  }
}
