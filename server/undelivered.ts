// Business's `notify` outcomes (wire v1 `notify`): a recipient this node found with no
// connection, or whose connections none acked in time, becomes an `undelivered` event on the
// events topic, which business turns into a webhook call (business/webhook/). `delivered` is
// not reported: it needs nothing done.
import type { ReceiptStatus } from "../engine/protocol.js";
import type { Bus } from "../engine/types.js";
import { encode, topics, type UndeliveredEvent } from "../engine/wire.js";
import type { Logger } from "../config/logger.js";
import type { ReceiptRequest } from "./receipt-tracker.js";

export function reportUndelivered(
  deps: { readonly bus: Bus; readonly nodeId: string; readonly logger: Logger },
  request: ReceiptRequest,
  outcome: ReceiptStatus,
): void {
  if (request.notify === null || outcome === "delivered") return;
  const event: UndeliveredEvent = {
    v: 1,
    kind: "undelivered",
    userId: request.to,
    reason: outcome,
    message: request.notify,
    nodeId: deps.nodeId,
    ts: Date.now(),
  };
  deps.bus.publish(topics.events, encode(event)).catch((err: unknown) => {
    deps.logger.warn({ err, messageId: request.messageId }, "undelivered event not published");
  });
}
