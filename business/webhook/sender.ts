// Posts queued webhook events, on every business instance. Each round leases a batch of due
// events (./queue.ts), posts each with its signature, and settles it by the answer: 2xx sent,
// a timeout / network error / 5xx retried after an exponential backoff with full jitter, any
// other answer (4xx) dropped; an event still failing `retryForMs` after it was queued is dropped.
import type { WebhookConfig } from "../../config/index.js";
import type { Logger } from "../../config/logger.js";
import type { WebhookMetrics } from "./metrics.js";
import type { Claimed, WebhookQueue } from "./queue.js";
import { sign } from "./signer.js";

export interface WebhookSenderDeps {
  readonly queue: WebhookQueue;
  readonly config: WebhookConfig;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  /** Uniform in [0, 1): the jitter. */
  readonly random?: () => number;
}

/** Events leased and posted at once per round. */
const BATCH = 16;
/** A lease outlasts a call's timeout by this much, so it ends only if its holder died or hung. */
const LEASE_MARGIN_MS = 5_000;

/** Full jitter: the n-th try's retry waits a random time in [0, min(max, base·2^(n-1))). */
export function backoffMs(
  attempts: number,
  config: Pick<WebhookConfig, "retryBaseMs" | "retryMaxMs">,
  random: () => number,
): number {
  const ceiling = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** Math.min(attempts - 1, 40));
  return Math.floor(random() * ceiling);
}

export class WebhookSender {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** An event was queued while a round ran: look again at once. */
  private again = false;
  private stopped = true;
  /** The queue failed on the last round: logged once, until it answers again. */
  private unreachable = false;

  constructor(private readonly deps: WebhookSenderDeps) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Looks for due events now: one was just queued. */
  wake(): void {
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** Takes no new round and waits for the one in flight (bounded by the call timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.round(), ms);
    this.timer.unref();
  }

  private round(): void {
    this.timer = null;
    this.running = this.drain().finally(() => {
      this.running = null;
      this.schedule(this.again ? 0 : this.deps.config.pollMs);
      this.again = false;
    });
  }

  private async drain(): Promise<void> {
    const { queue, config, metrics, logger } = this.deps;
    try {
      let claimed: Claimed[];
      do {
        this.again = false;
        claimed = await queue.claim(BATCH, config.timeoutMs + LEASE_MARGIN_MS);
        await Promise.all(claimed.map((event) => this.attempt(event)));
      } while (!this.stopped && (claimed.length === BATCH || this.again));
      metrics.depth.set(await queue.depth());
      if (this.unreachable) logger.info("webhook queue reachable again");
      this.unreachable = false;
    } catch (err) {
      if (!this.unreachable) logger.warn({ err }, "webhook queue unreachable; trying again later");
      this.unreachable = true;
    }
  }

  private async attempt(event: Claimed): Promise<void> {
    const { queue, config, metrics, logger } = this.deps;
    const status = await this.post(event);
    if (status !== null && status >= 200 && status < 300) {
      await queue.finish(event.id);
      metrics.sent.inc();
      return;
    }
    if (status !== null && status < 500) {
      await queue.finish(event.id);
      metrics.dropped.inc({ reason: "rejected" });
      logger.warn({ eventId: event.id, status }, "webhook call rejected; event dropped");
      return;
    }
    const delay = backoffMs(event.attempts, config, this.deps.random ?? Math.random);
    if (event.claimedAt + delay - event.queuedAt > config.retryForMs) {
      await queue.finish(event.id);
      metrics.dropped.inc({ reason: "expired" });
      logger.warn({ eventId: event.id, attempts: event.attempts }, "webhook event expired");
      return;
    }
    if (await queue.retry(event, delay)) metrics.retried.inc();
  }

  /** The answer's status, or null when none came in time (timeout, refused, reset). */
  private async post(event: Claimed): Promise<number | null> {
    const { url, secret, timeoutMs } = this.deps.config;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "Herald-Webhook/1",
          "x-herald-event-id": event.id,
          "x-herald-signature": sign(event.body, secret),
        },
        body: event.body,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      return response.status;
    } catch {
      return null;
    }
  }
}
