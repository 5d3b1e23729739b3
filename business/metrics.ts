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

  /**
   * Times each request; the route label is the router's pattern, so ids do not explode it. Each
   * label set's child is looked up once and kept (the label sets are few: routes × statuses),
   * not hashed from its labels on every request.
   */
  middleware() {
    const children = new Map<string, { observe(seconds: number): void }>();
    return async (ctx: Context, next: Next): Promise<void> => {
      const start = performance.now();
      try {
        await next();
      } finally {
        const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
        const route = typeof matched === "string" ? matched : "unmatched";
        const status = String(ctx.status);
        const key = `${ctx.method} ${status} ${route}`;
        let child = children.get(key);
        if (!child)
          children.set(key, (child = this.httpDuration.labels(ctx.method, route, status)));
        child.observe((performance.now() - start) / 1000);
      }
    };
  }
}
