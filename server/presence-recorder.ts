// This node's presence writes. Each connection's presence.add (and the online event for a
// user's first connection) is followed by its presence.remove (and the offline event for the
// last), never overtaken by it; every write in flight is tracked, so a shutdown can await them.
import type { Logger } from "../config/logger.js";
import type { UserId } from "../engine/protocol.js";
import type { Engine } from "../engine/types.js";
import { encode, topics, type PresenceEvent } from "../engine/wire.js";
import type { ConnectionActor } from "./connection-actor.js";

export class PresenceRecorder {
  /** Presence writes in flight (connects and disconnects), awaited by a shutdown. */
  private readonly work = new Set<Promise<unknown>>();
  /** Each actor's latest presence.add (and online event), which its presence.remove must follow. */
  private readonly registrations = new WeakMap<ConnectionActor, Promise<unknown>>();

  constructor(
    private readonly nodeId: string,
    private readonly engine: Pick<Engine, "presence" | "bus">,
    private readonly logger: Logger,
  ) {}

  /**
   * Records a new connection; resolves to the user's live connections, this one included (see
   * Presence.add); rejects when the engine is unreachable (logged here).
   */
  add(actor: ConnectionActor): Promise<number> {
    const registration = this.register(actor);
    this.registrations.set(actor, registration);
    this.track(registration);
    return registration;
  }

  /** The connection is gone: out of presence, after its add. */
  remove(actor: ConnectionActor): void {
    const registration = this.registrations.get(actor);
    this.track(
      (async () => {
        await registration?.catch(() => undefined);
        const last = await this.engine.presence.remove(actor.userId, this.nodeId, actor.connId);
        if (last) await this.publish(actor.userId, false);
      })(),
    );
  }

  /**
   * Writes every open connection again (after, and awaited like, its first write): this node's
   * membership had lapsed, so a survivor may have cleared its entries, or Redis lost them.
   */
  rewrite(actors: Iterable<ConnectionActor>): void {
    this.logger.warn({ nodeId: this.nodeId }, "membership had lapsed: writing presence again");
    for (const actor of actors) {
      if (!actor.accepting) continue;
      const previous = this.registrations.get(actor);
      const again = (async () => {
        await previous?.catch(() => undefined);
        if (actor.accepting) await this.register(actor);
      })();
      this.registrations.set(actor, again);
      this.track(again);
    }
  }

  /** Clears every entry of this node id (a previous run's, or ours at shutdown): those users went offline. */
  async clearOwn(): Promise<void> {
    for (const userId of await this.engine.presence.clearNode(this.nodeId))
      await this.publish(userId, false);
  }

  /** Resolves once every write in flight has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.work]);
  }

  async publish(userId: UserId, online: boolean): Promise<void> {
    const event: PresenceEvent = {
      v: 1,
      kind: "presence",
      userId,
      online,
      nodeId: this.nodeId,
      ts: Date.now(),
    };
    await this.engine.bus.publish(topics.events, encode(event));
  }

  /** presence.add, and the online event if this is the user's first connection. */
  private async register(actor: ConnectionActor): Promise<number> {
    const connections = await this.engine.presence.add(actor.userId, this.nodeId, actor.connId);
    if (connections === 1) await this.publish(actor.userId, true);
    return connections;
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((err: unknown) => {
      this.logger.warn({ err }, "presence update failed");
    });
    this.work.add(tracked);
    void tracked.finally(() => this.work.delete(tracked));
  }
}
