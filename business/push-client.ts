// The push client (the seed's ImHelper): how a business service reaches connected users. It
// publishes versioned commands (engine/wire.ts) through a PushRouter: per owner node in partition
// mode, to any one node in adapter mode (./push-router.ts). It needs only the engine, so another
// Node backend can use it on its own: `createPushClient({ redisUrl })`.
import type { Logger } from "../config/logger.js";
import { HEARTBEAT_MS, MEMBERSHIP_TTL_MS } from "../engine/membership/types.js";
import { NodeView } from "../engine/node-view.js";
import type {
  BroadcastPush,
  KickReason,
  PresencePush,
  ReceiptPush,
  StreamItem,
  UserId,
} from "../engine/protocol.js";
import type { Engine, Unsubscribe } from "../engine/types.js";
import {
  decodeEvent,
  messageRef,
  topics,
  type MessageRef,
  type NodeEvent,
  type PresenceEvent,
  type PushCommand,
} from "../engine/wire.js";
import {
  AdapterPushRouter,
  PartitionPushRouter,
  type PushResult,
  type PushRouter,
} from "./push-router.js";
import { PublishBatcher } from "../engine/publish-batcher.js";

export type { PushResult } from "./push-router.js";

/** Less left than this: the node missed two heartbeats in a row. */
const LATE_TTL_MS = MEMBERSHIP_TTL_MS - 2 * HEARTBEAT_MS;

/** What a client needs to open its socket: `io(url, {path, transports: ["websocket"], auth: {token}})`. */
export interface ConnectInfo {
  url: string;
  path: string;
  token: string;
  nodeId: string;
  /** Seconds until the token expires. */
  expiresIn: number;
}

/** A recipient a message did not reach: no connection (`offline`) or none acked in time (`failed`). */
export interface Undelivered {
  recipient: UserId;
  reason: "offline" | "failed";
  message: MessageRef;
}

/** Hooks for the caller's metrics; the push client itself keeps none. */
export interface PushMetrics {
  published(kind: string): void;
  deadNode(): void;
}

export interface PushClientOptions {
  engine: Pick<Engine, "bus" | "membership" | "tokens" | "presence">;
  /** How the imServer nodes are reached (IM_ROUTER); the nodes must run the same. */
  router?: "partition" | "adapter";
  /** Connect token lifetime; at most 30 s by contract. */
  tokenTtlMs?: number;
  /** The imServer's socket.io path. */
  socketPath?: string;
  /** How often the node view re-reads the live node set besides membership notices. */
  refreshMs?: number;
  logger?: Logger;
  metrics?: PushMetrics;
  /**
   * Given, the client asks the nodes about each direct message's recipient (and the users a
   * channel message names in `notify`) and calls this for each one the message did not reach:
   * from a publish nobody heard, or a node's `undelivered` event. Not given, nobody is asked.
   * Every business instance hears every node event, so the handler must be idempotent.
   */
  undelivered?: (report: Undelivered) => void;
  /** Called by close(): createPushClient closes the engine it built. */
  onClose?: () => Promise<void>;
}

export class PushClient {
  private readonly engine: PushClientOptions["engine"];
  private readonly nodeView: NodeView;
  private readonly pushRouter: PushRouter;
  private readonly tokenTtlMs: number;
  private readonly socketPath: string;
  private readonly subscriptions = new Set<Unsubscribe>();
  /** One PUBLISH per node per event-loop turn (engine/publish-batcher.ts). */
  private readonly batcher: PublishBatcher;
  private started = false;

  constructor(private readonly options: PushClientOptions) {
    this.engine = options.engine;
    this.nodeView = new NodeView(options.engine, options.refreshMs);
    this.tokenTtlMs = Math.min(options.tokenTtlMs ?? 30_000, 30_000);
    this.socketPath = options.socketPath ?? "/socket.io";
    const bus = options.engine.bus;
    this.batcher = new PublishBatcher((nodeId, payload) =>
      bus.publish(topics.node(nodeId), payload),
    );
    const deps = {
      nodeView: this.nodeView,
      presence: options.engine.presence,
      publish: (nodeId: string, kind: string, payload: string) =>
        this.publishEncoded(nodeId, kind, payload),
    };
    this.pushRouter =
      options.router === "adapter" ? new AdapterPushRouter(deps) : new PartitionPushRouter(deps);
  }

  /** Loads the live node set and follows its changes. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.nodeView.start();
    const report = this.options.undelivered;
    if (report)
      await this.onEvent("undelivered", (event) =>
        report({ recipient: event.userId, reason: event.reason, message: event.message }),
      );
  }

  /** Re-reads the live node set now (it also follows membership notices and a timer). */
  refreshNodes(): Promise<void> {
    return this.nodeView.refresh();
  }

  /**
   * The seed's PrevConnectServer: picks the user's node (its owner in partition mode, the least
   * loaded in adapter mode) and issues a single-use token bound to it. null when no node is live.
   * `failed`: a node the client could not reach, checked first (checkNode).
   */
  async prevConnect(
    userId: UserId,
    sessionId: string,
    failed?: string,
  ): Promise<ConnectInfo | null> {
    if (failed !== undefined) await this.checkNode(failed);
    const node = await this.pushRouter.connectNode(userId);
    if (!node) return null;
    const token = await this.engine.tokens.issue(
      { userId, sessionId, nodeId: node.nodeId },
      this.tokenTtlMs,
    );
    return {
      url: node.url,
      path: this.socketPath,
      token,
      nodeId: node.nodeId,
      expiresIn: Math.floor(this.tokenTtlMs / 1000),
    };
  }

  /**
   * Pushes a stored item of a direct conversation to its recipient and to the sender's own
   * connections. With `receipt` (messages only), the recipient's node answers the sender with a
   * receipt; if that node is gone, this sends the `offline` receipt itself.
   */
  async send(message: StreamItem, options: { receipt?: boolean } = {}): Promise<PushResult> {
    const recipients = new Set([message.from]);
    if (message.to !== undefined) recipients.add(message.to);
    // Only a message asks for a receipt or an outcome; edits, recalls and reactions never do.
    const isMessage = message.kind === "message" && message.to !== undefined;
    const result = await this.routeMessage(
      recipients,
      message,
      isMessage ? [message.to!] : [],
      (to) => options.receipt === true && isMessage && to.includes(message.to!),
    );
    if (
      options.receipt &&
      isMessage &&
      message.to !== undefined &&
      result.offline.includes(message.to)
    ) {
      const receipt: ReceiptPush = {
        messageId: message.id,
        to: message.to,
        status: "offline",
        ts: Date.now(),
      };
      await this.pushRouter.route([message.from], (to) => ({
        v: 1,
        kind: "push",
        event: "receipt",
        to,
        data: receipt,
      }));
    }
    return result;
  }

  /**
   * Pushes a stored channel item: one command per node, naming that node's members.
   * `notify`: the members whose outcome business wants (those a message mentions).
   */
  sendChannel(
    message: StreamItem,
    members: readonly UserId[],
    options: { notify?: readonly UserId[] } = {},
  ): Promise<PushResult> {
    const notify = message.kind === "message" ? (options.notify ?? []) : [];
    return this.routeMessage(new Set(members), message, notify, () => false);
  }

  /** Tells `to` (a user's friends) that the user came or went. */
  sendPresence(push: PresencePush, to: readonly UserId[]): Promise<PushResult> {
    return this.pushTo("presence", push, to);
  }

  /** Pushes `event` with `data` to every connection of the users in `to`. */
  pushTo<E extends PushCommand["event"]>(
    event: E,
    data: Extract<PushCommand, { event: E }>["data"],
    to: readonly UserId[],
  ): Promise<PushResult> {
    return this.pushRouter.route(
      new Set(to),
      (ids) => ({ v: 1, kind: "push", event, to: ids, data }) as PushCommand,
    );
  }

  /** An operator broadcast to every connection of every live node; not stored. */
  async broadcast(push: BroadcastPush): Promise<PushResult> {
    return this.pushRouter.routeAll({ v: 1, kind: "broadcast", data: push });
  }

  /** Online flag per user. */
  async isOnline(userIds: readonly UserId[]): Promise<Map<UserId, boolean>> {
    const flags = await this.engine.presence.online(userIds);
    return new Map(userIds.map((id, i) => [id, flags[i] === true]));
  }

  /**
   * Closes the user's connections (only those opened with `sessionId`, if given) after a
   * `kicked {reason}`. Sent to every live node, not only the owner: during a rebalance a user's
   * old connection may still sit on another node, and a kick is rare enough to afford it.
   */
  async forceOffline(
    userId: UserId,
    reason: KickReason = "force_offline",
    sessionId?: string,
  ): Promise<void> {
    await this.pushRouter.routeAll({
      v: 1,
      kind: "kick",
      userId,
      reason,
      ...(sessionId !== undefined && { sessionId }),
    });
  }

  /** Calls `handler` for each presence event the nodes report; malformed events are dropped. */
  onPresence(handler: (event: PresenceEvent) => void | Promise<void>): Promise<Unsubscribe> {
    return this.onEvent("presence", handler);
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((unsubscribe) => unsubscribe()));
    await this.nodeView.stop();
    this.started = false;
    await this.options.onClose?.();
  }

  /**
   * One message push; the users of `notify` that it reaches get `notify` on their node's command
   * when an `undelivered` handler is set, and those whose node was gone are reported at once.
   */
  private async routeMessage(
    recipients: Set<UserId>,
    message: StreamItem,
    notify: readonly UserId[],
    receiptOn: (to: UserId[]) => boolean,
  ): Promise<PushResult> {
    const report = this.options.undelivered;
    const watched = report ? notify.filter((id) => recipients.has(id)) : [];
    const result = await this.pushRouter.route(recipients, (to) => {
      const receipt = receiptOn(to);
      const here = watched.filter((id) => to.includes(id));
      return {
        v: 1,
        kind: "push",
        event: "message",
        to,
        data: message,
        ...(receipt && { receipt }),
        ...(here.length > 0 && { notify: here }),
      };
    });
    if (report && watched.length > 0) {
      const ref = messageRef(message);
      for (const recipient of watched)
        if (result.offline.includes(recipient))
          report({ recipient, reason: "offline", message: ref });
    }
    return result;
  }

  /** Calls `handler` for each node event of `kind`; malformed events are dropped. */
  private async onEvent<K extends NodeEvent["kind"]>(
    kind: K,
    handler: (event: Extract<NodeEvent, { kind: K }>) => void | Promise<void>,
  ): Promise<Unsubscribe> {
    const unsubscribe = await this.engine.bus.subscribe(topics.events, (raw) => {
      const event = decodeEvent(raw);
      if (!event) {
        this.options.logger?.warn({ raw: raw.slice(0, 200) }, "dropped a malformed node event");
        return;
      }
      if (event.kind !== kind) return;
      Promise.resolve()
        .then(() => handler(event as Extract<NodeEvent, { kind: K }>))
        .catch((err: unknown) =>
          this.options.logger?.error({ err, kind }, "node event handler failed"),
        );
    });
    const own: Unsubscribe = async () => {
      this.subscriptions.delete(own);
      await unsubscribe();
    };
    this.subscriptions.add(own);
    return own;
  }

  /**
   * A node a client reports failed is taken out of the live set when nobody subscribes to its
   * topic (a killed process's connections close at once) or its heartbeat is late: every view
   * then stops granting and routing to it, and survivors clear its presence, without waiting for
   * its entry's TTL. A node wrongly taken out registers again on its next heartbeat.
   */
  private async checkNode(nodeId: string): Promise<void> {
    const { bus, membership } = this.engine;
    const [subscribers, ttlLeft] = await Promise.all([
      bus.subscribers(topics.node(nodeId)),
      membership.ttlLeft(nodeId),
    ]);
    if (ttlLeft !== null && subscribers > 0 && ttlLeft > LATE_TTL_MS) return;
    if (ttlLeft !== null) {
      this.options.logger?.warn({ nodeId, subscribers, ttlLeft }, "taking a failed node out");
      await membership.deregister(nodeId);
    }
    await this.nodeView.refresh();
  }

  /** true when a node heard it; 0 subscribers means the node is gone. */
  private async publishEncoded(nodeId: string, kind: string, payload: string): Promise<boolean> {
    const receivers = await this.batcher.publish(nodeId, payload);
    this.options.metrics?.published(kind);
    if (receivers > 0) return true;
    this.options.metrics?.deadNode();
    this.options.logger?.warn({ nodeId, kind }, "no subscriber on node channel: node gone");
    return false;
  }
}

/**
 * A standalone push client over Redis, for a business service that is not Herald's: it builds
 * and owns its own RedisEngine (closed by `close()`).
 */
export async function createPushClient(opts: {
  redisUrl: string;
  prefix?: string;
  /** IM_ROUTER of the Herald deployment: "partition" (default) or "adapter". */
  router?: "partition" | "adapter";
  tokenTtlMs?: number;
  logger?: Logger;
}): Promise<PushClient> {
  // Loaded on demand so a caller that passes its own engine never loads ioredis.
  const { RedisEngine } = await import("../engine/redis/redis-engine.js");
  // The same default prefix as Herald's own config (REDIS_PREFIX), so both see the same keys.
  const engine = await RedisEngine.connect({
    url: opts.redisUrl,
    prefix: opts.prefix ?? "herald:",
  });
  const client = new PushClient({
    engine,
    onClose: () => engine.close(),
    ...(opts.router !== undefined && { router: opts.router }),
    ...(opts.tokenTtlMs !== undefined && { tokenTtlMs: opts.tokenTtlMs }),
    ...(opts.logger !== undefined && { logger: opts.logger }),
  });
  try {
    await client.start();
  } catch (err) {
    await engine.close();
    throw err;
  }
  return client;
}
