// Business metrics on their own prom-client Registry (never the global one), so several apps in
// one process, as in tests, do not collide.
import { Counter, Histogram, Registry } from "prom-client";
import type { Context, Next } from "koa";

export class BusinessMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: "herald_business_http_request_duration_seconds",
    help: "HTTP request duration by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly messagesStored = new Counter({
    name: "herald_business_messages_stored_total",
    help: "Messages stored, by conversation kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly pushesPublished = new Counter({
    name: "herald_business_pushes_published_total",
    help: "Commands published to imServer nodes, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly pushFailures = new Counter({
    name: "herald_business_push_failures_total",
    help: "Pushes that failed after their message was stored (the message stays in history)",
    registers: [this.registry],
  });
  readonly deadNodePublishes = new Counter({
    name: "herald_business_dead_node_publishes_total",
    help: "Publishes that reached no subscriber: the node was gone",
    registers: [this.registry],
  });

  /** Times each request; the route label is the router's pattern, so ids do not explode it. */
  middleware() {
    return async (ctx: Context, next: Next): Promise<void> => {
      const end = this.httpDuration.startTimer();
      try {
        await next();
      } finally {
        const route = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
        end({
          method: ctx.method,
          route: typeof route === "string" ? route : "unmatched",
          status: String(ctx.status),
        });
      }
    };
  }
}
