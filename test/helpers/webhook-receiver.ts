// A webhook receiver on loopback (node:http) that answers each call as planned: `ok` 204,
// `fail` 500, `reject` 410, `hang` never (until the caller gives up). It records every call with
// its raw body, and which event ids it accepted.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Answer = "ok" | "fail" | "reject" | "hang";

export interface Call {
  eventId: string | undefined;
  signature: string | undefined;
  contentType: string | undefined;
  raw: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests index freely into bodies
  answer: Answer;
}

export class WebhookReceiver {
  readonly calls: Call[] = [];
  /** Event id → how many times it was answered 2xx. */
  readonly accepted = new Map<string, number>();
  /** Answers for the next calls, in order; then `otherwise`. */
  plan: Answer[] = [];
  otherwise: Answer | ((call: Call) => Answer) = "ok";
  private readonly server: Server;
  private readonly waiters = new Set<() => void>();
  url = "";

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const header = (name: string) => req.headers[name] as string | undefined;
        const call: Call = {
          eventId: header("x-herald-event-id"),
          signature: header("x-herald-signature"),
          contentType: header("content-type"),
          raw,
          body: JSON.parse(raw),
          answer: "ok",
        };
        const otherwise = this.otherwise;
        call.answer =
          this.plan.shift() ?? (typeof otherwise === "function" ? otherwise(call) : otherwise);
        this.calls.push(call);
        if (call.answer === "ok" && call.eventId !== undefined)
          this.accepted.set(call.eventId, (this.accepted.get(call.eventId) ?? 0) + 1);
        for (const wake of this.waiters) wake();
        if (call.answer === "hang") return;
        res.statusCode = { ok: 204, fail: 500, reject: 410 }[call.answer];
        res.end();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** Forgets the calls and plans of a previous test. */
  reset(): void {
    this.calls.length = 0;
    this.accepted.clear();
    this.plan = [];
    this.otherwise = "ok";
  }

  /** Resolves once `done()` holds (checked on every call), or rejects after `ms`. */
  until(done: () => boolean, what: string, ms = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`webhook receiver: no ${what} within ${ms} ms (${this.calls.length} calls)`),
        );
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** True when `signature` is `sha256=<hex HMAC-SHA256 of raw with secret>`, compared as a receiver should. */
export function validSignature(
  raw: string,
  signature: string | undefined,
  secret: string,
): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`);
  const given = Buffer.from(signature ?? "");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
