// A user's id and name never change once made (there is no rename and no deletion), so a name
// read once is that user's name for good, and every process may keep the ones it has read:
// most requests then name users (a DM's recipient) that cost no round trip. Only users found
// are kept: one made a moment ago by another process is read, never missed. (A store that lost
// data, e.g. a Redis without persistence flushed, needs the processes restarted.)
import type { UserId } from "../protocol.js";
import type { User } from "./types.js";

/** Names kept at most (~150 bytes each); past it the longest kept goes first. */
const KEPT = 50_000;

export class KnownUsers {
  private readonly names = new Map<UserId, string>();

  /** `usersById` answered from the names kept, reading the others with `read`. */
  async usersById(
    userIds: readonly UserId[],
    read: (unknown: readonly UserId[]) => Promise<(User | null)[]>,
  ): Promise<(User | null)[]> {
    const answer = userIds.map((userId): User | null | undefined => {
      const username = this.names.get(userId);
      return username === undefined ? undefined : { userId, username };
    });
    const unknown = userIds.filter((_, i) => answer[i] === undefined);
    if (unknown.length === 0) return answer as User[];
    const found = new Map<UserId, User>();
    for (const user of await read(unknown)) if (user !== null) found.set(user.userId, user);
    for (const user of found.values()) this.keep(user);
    return answer.map((user, i) => user ?? found.get(userIds[i]!) ?? null);
  }

  private keep(user: User): void {
    if (this.names.has(user.userId)) return; // read twice at once
    if (this.names.size >= KEPT) this.names.delete(this.names.keys().next().value!);
    this.names.set(user.userId, user.username);
  }
}
