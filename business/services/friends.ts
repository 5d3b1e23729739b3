// Friendships: request / accept by requesting back, remove (also cancel or decline), lists.
import type { UserId } from "../../engine/protocol.js";
import { DomainError } from "../errors.js";
import { requireUser, type ServiceDeps } from "./deps.js";

export interface FriendView {
  userId: UserId;
  username: string;
}

export class FriendService {
  constructor(private readonly deps: ServiceDeps) {}

  async request(from: UserId, to: UserId): Promise<"pending" | "friends"> {
    if (from === to) throw new DomainError("cannot_target_self", "you cannot befriend yourself");
    await requireUser(this.deps.engine, to);
    return this.deps.engine.store.requestFriend(from, to);
  }

  async remove(a: UserId, b: UserId): Promise<void> {
    if (a === b) throw new DomainError("cannot_target_self", "you cannot unfriend yourself");
    await this.deps.engine.store.removeFriend(a, b);
  }

  async lists(userId: UserId): Promise<{
    friends: (FriendView & { online: boolean })[];
    incoming: FriendView[];
    outgoing: FriendView[];
  }> {
    const { store } = this.deps.engine;
    const lists = await store.friendLists(userId);
    const [friends, incoming, outgoing, online] = await Promise.all([
      this.views(lists.friends),
      this.views(lists.incoming),
      this.views(lists.outgoing),
      this.deps.push.isOnline(lists.friends),
    ]);
    return {
      friends: friends.map((f) => ({ ...f, online: online.get(f.userId) === true })),
      incoming,
      outgoing,
    };
  }

  private async views(userIds: UserId[]): Promise<FriendView[]> {
    const users = await this.deps.engine.store.usersById(userIds);
    return users
      .filter((u) => u !== null)
      .map((u) => ({ userId: u.userId, username: u.username }))
      .sort((x, y) => x.username.localeCompare(y.username));
  }
}
