// A live view of the imServer node set for a PartitionRouter: refreshed on every membership
// notice on the bus and, as a safety net for a lost notice or an expired entry, periodically.
import { PartitionRouter } from "./router.js";
import type { Engine, NodeInfo, Unsubscribe } from "./types.js";
import { topics } from "./wire.js";

export class NodeView {
  readonly router = new PartitionRouter();
  private unsubscribe: Unsubscribe | null = null;
  private timer: NodeJS.Timeout | null = null;
  private listeners = new Set<(nodes: readonly NodeInfo[]) => void>();
  private signature = "";

  constructor(
    private readonly engine: Pick<Engine, "bus" | "membership">,
    private readonly refreshMs = 2_000,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.engine.bus.subscribe(
      topics.membership,
      () => void this.refresh(),
    );
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  /** Calls `listener` with the new node set each time it changes. */
  onChange(listener: (nodes: readonly NodeInfo[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async refresh(): Promise<void> {
    let nodes: NodeInfo[];
    try {
      nodes = await this.engine.membership.list();
    } catch {
      return; // keep the last view while the engine is unreachable
    }
    const signature = nodes.map((n) => `${n.nodeId}=${n.url}`).join(",");
    if (signature === this.signature) return;
    this.signature = signature;
    this.router.setNodes(nodes);
    for (const listener of this.listeners) listener(this.router.liveNodes);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.unsubscribe?.();
    this.unsubscribe = null;
  }
}
