// imServer metrics on their own prom-client Registry (never the global one), so a business and
// several nodes in one process, as in tests, do not collide.
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { KickReason } from "../engine/protocol.js";
import type { PushCommand } from "../engine/wire.js";

export type CloseReason = KickReason | "client_gone";
/** Why a connection was closed before or without a kick: what a client did wrong. */
export type RefusalReason =
  | "frame_too_large"
  | "binary_frame"
  | "malformed_frame"
  | "handshake_timeout"
  | "too_many_connections";
export type PushEvent = PushCommand["event"] | "broadcast" | "kicked";

export class ImMetrics {
  readonly registry = new Registry();

  // Hot-path counts are plain numbers, folded into prom-client at scrape time: a delivery costs an
  // integer increment, not a label lookup.
  deliveries = 0;
  acks = 0;
  droppedClientFrames = 0;

  readonly connections: Gauge;
  readonly pushes = new Counter({
    name: "herald_im_pushes_total",
    help: "Push commands handled, by event",
    labelNames: ["event"] as const,
    registers: [this.registry],
  });
  readonly receipts = new Counter({
    name: "herald_im_receipts_total",
    help: "Receipts emitted, by status",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  readonly mailboxOverflows = new Counter({
    name: "herald_im_mailbox_overflows_total",
    help: "Connections whose mailbox overflowed (closed as slow_consumer)",
    registers: [this.registry],
  });
  readonly droppedCommands = new Counter({
    name: "herald_im_dropped_commands_total",
    help: "Bus commands that were not valid of a known version (an invalid envelope counts once)",
    registers: [this.registry],
  });
  readonly kicks = new Counter({
    name: "herald_im_kicks_total",
    help: "Connections closed on purpose with kicked{reason}",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly fallbackWritePath = new Gauge({
    name: "herald_im_fallback_write_path",
    help: "1 when socket.io's internals failed their check and pushes go through its public emit",
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: "herald_im_refused_connections_total",
    help: "Connections refused or closed for what the client sent or did, by reason",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly closes = new Counter({
    name: "herald_im_closes_total",
    help: "Connections closed, by reason (client_gone: the client left)",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  constructor(connectionCount: () => number) {
    const hot = (name: string, help: string, read: () => number) => {
      let reported = 0;
      return new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          const now = read();
          this.inc(now - reported);
          reported = now;
        },
      });
    };
    hot("herald_im_deliveries_total", "Packets written to a connection", () => this.deliveries);
    hot("herald_im_acks_total", "Acks received from clients", () => this.acks);
    hot(
      "herald_im_dropped_client_frames_total",
      "Client frames dropped: events (clients send only acks) and acks for no pending push",
      () => this.droppedClientFrames,
    );
    this.connections = new Gauge({
      name: "herald_im_connections",
      help: "Connections held by this node (authenticating or online)",
      registers: [this.registry],
      collect() {
        this.set(connectionCount());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  kicked(reason: KickReason): void {
    this.kicks.inc({ reason });
  }

  closed(reason: CloseReason): void {
    this.closes.inc({ reason });
  }
}
