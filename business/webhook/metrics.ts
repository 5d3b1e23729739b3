// The webhook's metrics, on business's own registry (GET /metrics).
import { Counter, Gauge, type Registry } from "prom-client";

export class WebhookMetrics {
  readonly queued: Counter;
  readonly sent: Counter;
  readonly retried: Counter;
  readonly dropped: Counter<"reason">;
  readonly depth: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.queued = new Counter({
      name: "herald_business_webhook_queued_total",
      help: "Undelivered-message events queued for the webhook",
      registers,
    });
    this.sent = new Counter({
      name: "herald_business_webhook_sent_total",
      help: "Webhook calls answered with a 2xx",
      registers,
    });
    this.retried = new Counter({
      name: "herald_business_webhook_retried_total",
      help: "Webhook calls that timed out, failed or got a 5xx, and were scheduled again",
      registers,
    });
    this.dropped = new Counter({
      name: "herald_business_webhook_dropped_total",
      help: "Webhook events given up: rejected (a 4xx or other non-retried answer) or expired",
      labelNames: ["reason"] as const,
      registers,
    });
    this.depth = new Gauge({
      name: "herald_business_webhook_queue_depth",
      help: "Webhook events waiting or in flight, as last seen by this instance",
      registers,
    });
  }
}
