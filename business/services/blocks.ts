// Blocking (CONTRACT.md "Blocking"): a block ends the friendship and any pending request in the
// store's one step; while it stands, DMs, friend requests and typing between the two are refused
// (conversation-access.ts requireDmAllowed, the store's requestFriend) and, as they can no
// longer be friends, neither sees the other's presence.
import type { UserId } from "../../engine/protocol.js";
import { DomainError } from "../errors.js";
import { requireUser, type ServiceDeps } from "./deps.js";
import type { FriendService, FriendView } from "./friends.js";

export class BlockService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly friends: FriendService,
  ) {}

  async block(blocker: UserId, blocked: UserId): Promise<void> {
    await this.target(blocker, blocked);
    const { store } = this.deps.engine;
    const before = await store.friendState(blocker, blocked);
    await store.block(blocker, blocked);
    // The friendship (or request) ended: both lists drop it, as after an unfriend.
    if (before !== "none") await this.friends.pushChange(blocker, blocked);
  }

  /** Lifts the block only: a friendship it ended stays ended. */
  async unblock(blocker: UserId, blocked: UserId): Promise<void> {
    await this.target(blocker, blocked);
    await this.deps.engine.store.unblock(blocker, blocked);
  }

  async list(blocker: UserId): Promise<FriendView[]> {
    const { store } = this.deps.engine;
    const users = await store.usersById(await store.blocksOf(blocker));
    return users
      .filter((u) => u !== null)
      .map(({ userId, username }) => ({ userId, username }))
      .sort((x, y) => x.username.localeCompare(y.username));
  }

  /** Yourself → 400, an unknown user → 404. */
  private async target(blocker: UserId, blocked: UserId): Promise<void> {
    if (blocker === blocked)
      throw new DomainError("cannot_target_self", "you cannot block yourself");
    await requireUser(this.deps.engine, blocked);
  }
}
