// The node's local index of its connections: by user (for pushes and kicks) and by socket id
// (for socket.io's events), as socket.io's adapter keeps rooms.
import type { UserId } from "../engine/protocol.js";
import type { ConnectionActor } from "./connection-actor.js";

export class ConnectionIndex {
  /** A user's few connections (at most maxConnectionsPerUser): an array of one is a third of
   * an empty Set's memory, and a push walks it without an iterator. */
  private readonly byUser = new Map<UserId, ConnectionActor[]>();
  private readonly byConn = new Map<string, ConnectionActor>();

  get size(): number {
    return this.byConn.size;
  }

  add(actor: ConnectionActor): void {
    const actors = this.byUser.get(actor.userId);
    if (!actors) this.byUser.set(actor.userId, [actor]);
    else if (!actors.includes(actor)) actors.push(actor);
    this.byConn.set(actor.connId, actor);
  }

  remove(actor: ConnectionActor): void {
    const actors = this.byUser.get(actor.userId);
    if (actors) {
      const i = actors.indexOf(actor);
      if (i !== -1) actors.splice(i, 1);
      if (actors.length === 0) this.byUser.delete(actor.userId);
    }
    if (this.byConn.get(actor.connId) === actor) this.byConn.delete(actor.connId);
  }

  ofUser(userId: UserId): readonly ConnectionActor[] | undefined {
    return this.byUser.get(userId);
  }

  byConnId(connId: string): ConnectionActor | undefined {
    return this.byConn.get(connId);
  }

  /** True when the user holds a connection that still takes mail. */
  reaches(userId: UserId): boolean {
    const actors = this.byUser.get(userId);
    return actors !== undefined && actors.some((actor) => actor.accepting);
  }

  all(): IterableIterator<ConnectionActor> {
    return this.byConn.values();
  }
}
