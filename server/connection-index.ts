// The node's local index of its connections: by user (for pushes and kicks) and by socket id
// (for socket.io's events), as socket.io's adapter keeps rooms.
import type { UserId } from "../engine/protocol.js";
import type { ConnectionActor } from "./connection-actor.js";

export class ConnectionIndex {
  private readonly byUser = new Map<UserId, Set<ConnectionActor>>();
  private readonly byConn = new Map<string, ConnectionActor>();

  get size(): number {
    return this.byConn.size;
  }

  add(actor: ConnectionActor): void {
    let actors = this.byUser.get(actor.userId);
    if (!actors) this.byUser.set(actor.userId, (actors = new Set()));
    actors.add(actor);
    this.byConn.set(actor.connId, actor);
  }

  remove(actor: ConnectionActor): void {
    const actors = this.byUser.get(actor.userId);
    if (actors?.delete(actor) && actors.size === 0) this.byUser.delete(actor.userId);
    if (this.byConn.get(actor.connId) === actor) this.byConn.delete(actor.connId);
  }

  ofUser(userId: UserId): ReadonlySet<ConnectionActor> | undefined {
    return this.byUser.get(userId);
  }

  byConnId(connId: string): ConnectionActor | undefined {
    return this.byConn.get(connId);
  }

  /** True when the user holds a connection that still takes mail. */
  reaches(userId: UserId): boolean {
    const actors = this.byUser.get(userId);
    if (!actors) return false;
    for (const actor of actors) if (actor.accepting) return true;
    return false;
  }

  all(): IterableIterator<ConnectionActor> {
    return this.byConn.values();
  }
}
