// Friendships: request / accept by requesting back, remove (also cancel or decline), lists;
// each change is pushed to both users (`friend`), so no page polls for it.
import type { FriendStatus, UserId } from "../../engine/protocol.js";
import type { FriendState } from "../../engine/types.js";
import { DomainError } from "../errors.js";
import { pushAfterStore, requireUser, type ServiceDeps } from "./deps.js";

export interface FriendView {
  userId: UserId;
  username: string;
}

export class FriendService {
  constructor(private readonly deps: ServiceDeps) {}

  async request(from: UserId, to: UserId): Promise<"pending" | "friends"> {
    if (from === to) throw new DomainError("cannot_target_self", "you cannot befriend yourself");
    await requireUser(this.deps.engine, to);
    const { store } = this.deps.engine;
    const before = await store.friendState(from, to);
    const status = await store.requestFriend(from, to);
    if (status === "blocked") throw new DomainError("blocked", "one of you blocks the other");
    if (before !== (status === "friends" ? "friends" : "outgoing")) await this.pushChange(from, to);
    return status;
  }

  async remove(a: UserId, b: UserId): Promise<void> {
    if (a === b) throw new DomainError("cannot_target_self", "you cannot unfriend yourself");
    const { store } = this.deps.engine;
    const before = await store.friendState(a, b);
    await store.removeFriend(a, b);
    if (before !== "none") await this.pushChange(a, b);
  }

  /** Tells each of the two users the friendship's new state as they see it. */
  async pushChange(a: UserId, b: UserId): Promise<void> {
    const { engine, push } = this.deps;
    await pushAfterStore(this.deps, "friend", async () => {
      const [users, states] = await Promise.all([
        engine.store.usersById([a, b]),
        Promise.all([engine.store.friendState(a, b), engine.store.friendState(b, a)]),
      ]);
      const ts = Date.now();
      await Promise.all(
        [[a, b, 1, 0] as const, [b, a, 0, 1] as const].map(([to, other, user, state]) =>
          push.pushTo(
            "friend",
            {
              userId: other,
              username: users[user]?.username ?? "",
              status: statusOf(states[state]!),
              ts,
            },
            [to],
          ),
        ),
      );
    });
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

/** A friendship as the `friend` push names it: both directions of a request are "pending". */
function statusOf(state: FriendState): FriendStatus {
  return state === "incoming" || state === "outgoing" ? "pending" : state;
}
