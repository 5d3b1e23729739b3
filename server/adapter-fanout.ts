// Adapter mode (IM_ROUTER=adapter): the nodes share @socket.io/redis-adapter. Business hands each
// command to one live node; that node executes it on its own connections and passes the raw
// command to every other node with one serverSideEmit (one PUBLISH), where it runs through the
// same CommandDispatcher, actors and mailboxes as in partition mode. A receipt is settled by the
// node that fanned the message out: `delivered` on the first ack reported by any node,
// `offline` when no node holds the recipient, `failed` when no ack came in time.
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import type { Namespace, Server, ServerOptions } from "socket.io";
import type { Logger } from "../config/logger.js";
import type { ReceiptPush, ReceiptStatus, UserId } from "../engine/protocol.js";
import { duplicate, isCluster, quit } from "../engine/redis/connection.js";
import { RedisEngine } from "../engine/redis/redis-engine.js";
import type { Engine, Presence } from "../engine/types.js";
import { encode, type NodeCommand } from "../engine/wire.js";
import { wantsReceipt, type CommandDispatcher } from "./command-dispatcher.js";

// TODO(merge): a shim so adapter mode keeps working on the engine branch, whose Engine no longer
// builds socket.io adapters; the server branch's server/socket-adapter.ts replaces it.
export interface SocketAdapterHandle {
  readonly adapter: ServerOptions["adapter"];
  ready(): Promise<void>;
  close(): Promise<void>;
}

export function socketAdapterShim(engine: Engine): SocketAdapterHandle | undefined {
  if (!(engine instanceof RedisEngine)) return undefined;
  const channelPrefix = `${engine.keys.prefix}socket.io`;
  const pub = duplicate(engine.redis);
  const sub = duplicate(engine.redis, true);
  pub.on("error", () => {});
  sub.on("error", () => {});
  const adapter = isCluster(engine.redis)
    ? createShardedAdapter(pub, sub, { channelPrefix, subscriptionMode: "static" })
    : createAdapter(pub, sub, { key: channelPrefix });
  return {
    adapter,
    async ready() {
      if (isCluster(sub)) await sub.ssubscribe(`${channelPrefix}#/#`);
      else await sub.ping();
    },
    close: () => Promise.all([quit(pub), quit(sub)]).then(() => {}),
  };
}

/** Server-side events between nodes (never seen by clients). */
const COMMAND_EVENT = "herald:command";
const DELIVERED_EVENT = "herald:delivered";
/** How long past the ack timeout a fanned-out receipt waits for a late node's report. */
const REPORT_MARGIN_MS = 500;

export interface AdapterFanoutOptions {
  io: Server;
  /** The engine's Redis adapter (Engine.socketAdapter: sharded on a Redis Cluster). */
  adapter: SocketAdapterHandle;
  nodeId: string;
  ackTimeoutMs: number;
  dispatcher: CommandDispatcher;
  presence: Pick<Presence, "online">;
  logger: Logger;
}

/** A receipt this node owes a sender, until some node reports an ack or the deadline passes. */
interface PendingReceipt {
  readonly key: string;
  readonly from: UserId;
  readonly messageId: string;
  readonly to: UserId;
  readonly deadline: number;
  settled: boolean;
}

export class AdapterFanout {
  private readonly nsp: Namespace;
  private readonly pending = new Map<string, PendingReceipt>();
  /** Pending receipts in deadline order (every deadline is now + the same timeout). */
  private fifo: PendingReceipt[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: AdapterFanoutOptions) {
    options.io.adapter(options.adapter.adapter);
    this.nsp = options.io.of("/");
    this.nsp.on(COMMAND_EVENT, (raw: unknown, origin: unknown) => this.onRemote(raw, origin));
    this.nsp.on(DELIVERED_EVENT, (origin: unknown, key: unknown) => {
      if (origin === options.nodeId && typeof key === "string") this.settle(key, "delivered");
    });
  }

  /** Resolves once the adapter's subscriptions are live. */
  async start(): Promise<void> {
    await this.options.adapter.ready();
    const every = Math.min(1_000, Math.max(10, Math.floor(this.options.ackTimeoutMs / 10)));
    this.timer = setInterval(() => this.sweep(Date.now()), every);
    this.timer.unref();
  }

  /** A command from business: run here and on every other node, once each. */
  handle(raw: string): void {
    const { dispatcher } = this.options;
    const command = dispatcher.decode(raw);
    if (!command) return;
    if (!wantsReceipt(command)) {
      this.nsp.serverSideEmit(COMMAND_EVENT, raw);
      dispatcher.run(command);
      return;
    }
    this.fanOutWithReceipt(command, raw);
  }

  /** Pushes a command built here (a receipt) to every node, this one included. */
  everywhere(command: NodeCommand): void {
    this.nsp.serverSideEmit(COMMAND_EVENT, encode(command));
    this.options.dispatcher.run(command);
  }

  /** Settles what is pending as at its deadline (before io.close()). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sweep(Infinity);
  }

  /** Closes the adapter's own Redis connections (after io.close()). */
  close(): Promise<void> {
    return this.options.adapter.close();
  }

  private fanOutWithReceipt(command: NodeCommand, raw: string): void {
    if (command.kind !== "push" || command.event !== "message") return;
    const { data } = command;
    const to = data.to!;
    const key = `${data.id} ${to}`;
    if (this.pending.has(key)) return; // the same command twice: one receipt
    const entry: PendingReceipt = {
      key,
      from: data.from,
      messageId: data.id,
      to,
      deadline: Date.now() + this.options.ackTimeoutMs + REPORT_MARGIN_MS,
      settled: false,
    };
    this.pending.set(key, entry);
    this.fifo.push(entry);
    // Remote nodes report only an ack ("delivered"), addressed to this node.
    this.nsp.serverSideEmit(COMMAND_EVENT, raw, this.options.nodeId);
    this.options.dispatcher.run(command, (status) => {
      if (status === "delivered") this.settle(key, "delivered");
      else if (status === "offline") this.checkOffline(entry);
      // "failed" here: another node may still report an ack before the deadline.
    });
  }

  /** Not held here: `offline` if the recipient holds no connection on any node. */
  private checkOffline(entry: PendingReceipt): void {
    this.options.presence.online([entry.to]).then(
      ([online]) => {
        if (!online) this.settle(entry.key, "offline");
      },
      (err: unknown) => this.options.logger.warn({ err }, "presence lookup for a receipt failed"),
    );
  }

  /** A command fanned out by another node; `origin`: the node that awaits our ack report. */
  private onRemote(raw: unknown, origin: unknown): void {
    if (typeof raw !== "string") return;
    const { dispatcher } = this.options;
    const command = dispatcher.decode(raw);
    if (!command) return;
    // A receipt is only ever settled by the node that fanned the message out: this node only
    // reports an ack to it, and otherwise stays silent.
    let report: (status: ReceiptStatus) => void = () => undefined;
    if (typeof origin === "string" && command.kind === "push" && command.event === "message") {
      const key = `${command.data.id} ${command.data.to}`;
      report = (status) => {
        if (status === "delivered") this.nsp.serverSideEmit(DELIVERED_EVENT, origin, key);
      };
    }
    dispatcher.run(command, report);
  }

  private settle(key: string, status: ReceiptStatus): void {
    const entry = this.pending.get(key);
    if (!entry || entry.settled) return;
    entry.settled = true;
    this.pending.delete(key);
    const receipt: ReceiptPush = {
      messageId: entry.messageId,
      to: entry.to,
      status,
      ts: Date.now(),
    };
    this.options.dispatcher.emitReceipt(entry.from, receipt);
  }

  private sweep(now: number): void {
    let head = 0;
    while (head < this.fifo.length && this.fifo[head]!.deadline <= now) {
      const entry = this.fifo[head++]!;
      if (!entry.settled) this.settle(entry.key, "failed");
    }
    if (head > 0) this.fifo = this.fifo.slice(head);
  }
}
