// This node's entry in the live node set: registered at start, refreshed every 2 s with a 6 s
// TTL, deregistered by a drain. When a heartbeat finds the entry gone (Redis was unreachable for
// longer than the TTL, or lost its data), it registers again and says so: survivors may have
// cleared this node's presence meanwhile, so the node writes it again (`reregistered`).
import type { Logger } from "../config/logger.js";
import { HEARTBEAT_MS, MEMBERSHIP_TTL_MS } from "../engine/membership/types.js";
import type { Membership, NodeInfo } from "../engine/types.js";

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly membership: Membership,
    private readonly logger: Logger,
    private readonly reregistered: () => void,
  ) {}

  async start(node: NodeInfo): Promise<void> {
    await this.membership.register(node, MEMBERSHIP_TTL_MS);
    this.timer = setInterval(() => {
      this.membership.heartbeat(node, MEMBERSHIP_TTL_MS).then(
        (again) => {
          if (again && this.timer) this.reregistered();
        },
        (err: unknown) => this.logger.warn({ err }, "membership heartbeat failed"),
      );
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Stops beating and takes the entry out of the live set. */
  async stop(nodeId: string): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.membership.deregister(nodeId);
  }
}
