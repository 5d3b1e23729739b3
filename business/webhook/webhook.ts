// The webhook for undelivered messages (docs/CONTRACT.md): each recipient a direct message (or
// a channel message that mentions them) did not reach becomes one event, queued durably before
// it is tried and posted by ./sender.ts. Its id is derived from the message and the recipient,
// so the same outcome heard by several business instances (every instance hears every node
// event) is queued once, and stays the same over every retry.
import { createHash } from "node:crypto";
import type { Registry } from "prom-client";
import type { WebhookConfig } from "../../config/index.js";
import type { Logger } from "../../config/logger.js";
import type { UserId } from "../../engine/protocol.js";
import { RedisEngine } from "../../engine/redis/redis-engine.js";
import type { Engine } from "../../engine/types.js";
import type { MessageRef } from "../../engine/wire.js";
import type { Undelivered } from "../push-client.js";
import { MemoryWebhookQueue } from "./memory-queue.js";
import { PostgresWebhookQueue } from "./postgres-queue.js";
import { PostgresStoreEngine } from "../../engine/postgres/postgres-engine.js";
import { WebhookMetrics } from "./metrics.js";
import type { WebhookQueue } from "./queue.js";
import { RedisWebhookQueue } from "./redis-queue.js";
import { WebhookSender } from "./sender.js";
import type { UnreadCounter } from "./unread.js";

/** What the URL receives (the raw JSON is what X-Herald-Signature signs). */
export interface WebhookBody {
  event: "message.undelivered";
  id: string;
  recipient: UserId;
  reason: "offline" | "failed";
  message: MessageRef;
  unreadTotal: number;
}

/** The event id of `recipient` not getting `messageId`: 32 hex digits, the same every time. */
export function eventId(messageId: string, recipient: UserId): string {
  return createHash("sha256")
    .update(`message.undelivered\n${messageId}\n${recipient}`)
    .digest("hex")
    .slice(0, 32);
}

/** The queue twin that fits the engine: PostgreSQL next to a PostgreSQL store, Redis next to a
 * Redis engine, else process memory. */
export function createWebhookQueue(engine: Engine): WebhookQueue {
  if (engine instanceof PostgresStoreEngine) return new PostgresWebhookQueue(engine.pool);
  if (engine instanceof RedisEngine) return new RedisWebhookQueue(engine.redis, engine.keys);
  return new MemoryWebhookQueue();
}

export interface WebhookDeps {
  config: WebhookConfig;
  queue: WebhookQueue;
  unreadTotal: UnreadCounter;
  registry: Registry;
  logger: Logger;
}

export class Webhook {
  private readonly metrics: WebhookMetrics;
  private readonly sender: WebhookSender;
  /** Reports being queued, awaited by stop(). */
  private readonly queueing = new Set<Promise<void>>();

  constructor(private readonly deps: WebhookDeps) {
    this.metrics = new WebhookMetrics(deps.registry);
    this.sender = new WebhookSender({ ...deps, metrics: this.metrics });
  }

  /** PushClient's `undelivered` handler: queues the event (once, whoever else heard it). */
  readonly report = (report: Undelivered): void => {
    const queued = this.queue(report).catch((err: unknown) =>
      this.deps.logger.error(
        { err, messageId: report.message.id, recipient: report.recipient },
        "webhook event not queued",
      ),
    );
    this.queueing.add(queued);
    void queued.finally(() => this.queueing.delete(queued));
  };

  start(): void {
    this.sender.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.queueing);
    await this.sender.stop();
  }

  private async queue({ recipient, reason, message }: Undelivered): Promise<void> {
    const id = eventId(message.id, recipient);
    const body: WebhookBody = {
      event: "message.undelivered",
      id,
      recipient,
      reason,
      message,
      unreadTotal: await this.deps.unreadTotal(recipient),
    };
    if (!(await this.deps.queue.add(id, JSON.stringify(body)))) return;
    this.metrics.queued.inc();
    this.sender.wake();
  }
}
