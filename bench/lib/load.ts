// The load side of a run: the client processes (bench/load-clients.ts) and the flow control.
// Every side is driven the same way: at most `window` deliveries outstanding (published, not yet
// seen by a client), so no side queues unboundedly and none gets bigger batches than another.
import type { ClientKind, ClientReply, Target } from "../load-clients.js";
import { ask, launch, stop, type Launched } from "./proc.js";
import type { SparseHistogram } from "./stats.js";

const PROCESSES = 2;

export class LoadClients {
  /** Deliveries the clients have reported (credits returned) since start. */
  delivered = 0;
  private wake: (() => void) | null = null;

  private constructor(private readonly procs: Launched[]) {
    for (const proc of procs)
      proc.child.on("message", (message: ClientReply) => {
        if (message.type !== "credit") return;
        this.delivered += message.n;
        this.wake?.();
      });
  }

  static start(): LoadClients {
    return new LoadClients(
      Array.from({ length: PROCESSES }, (_, i) => launch(`clients-${i + 1}`, "load-clients.js")),
    );
  }

  /** Opens the targets' sockets, split over the processes; resolves with the failures. */
  async open(kind: ClientKind, targets: Target[], concurrency = 50): Promise<string[]> {
    const share = Math.ceil(targets.length / this.procs.length);
    const replies = await Promise.all(
      this.procs.map((proc, i) =>
        ask<Extract<ClientReply, { type: "opened" }>>(
          proc,
          { type: "open", kind, targets: targets.slice(i * share, (i + 1) * share), concurrency },
          "opened",
          180_000,
        ),
      ),
    );
    return replies.flatMap((r) => r.failed);
  }

  /** Each process's count so far, and the latencies recorded since the last take. */
  async take(): Promise<{ received: number; hists: SparseHistogram[]; disconnects: number }> {
    const replies = await Promise.all(
      this.procs.map((proc) =>
        ask<Extract<ClientReply, { type: "taken" }>>(proc, { type: "take" }, "taken"),
      ),
    );
    return {
      received: replies.reduce((sum, r) => sum + r.received, 0),
      hists: replies.map((r) => r.hist),
      disconnects: replies.reduce((sum, r) => sum + r.disconnects, 0),
    };
  }

  /** Resolves at the next credit, or after `ms`. */
  nextCredit(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Waits (bounded) until `target` deliveries have been reported; false if they never were. */
  async drain(target: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.delivered < target && Date.now() < deadline) await this.nextCredit(50);
    return this.delivered >= target;
  }

  async closeSockets(): Promise<void> {
    await Promise.all(this.procs.map((proc) => ask(proc, { type: "close" }, "closed")));
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((proc) => stop(proc)));
  }
}
