// Coalesces the commands bound for one imServer node into one PUBLISH (business to nodes, a node
// to another for receipts): what this process produced within one turn of its event loop (every
// request whose Redis replies came in one read, every recipient group of one push) leaves as one
// version-2 envelope (engine/wire.ts). The flush runs in the check phase right after that turn
// (setImmediate), so an idle publisher adds no wait; under load one PUBLISH and one decode on the
// node serve many commands.
import { encodeBatch, MAX_BATCH } from "./wire.js";

/** PUBLISHes one payload on a node's topic; resolves with the subscribers that heard it. */
export type PublishRaw = (nodeId: string, payload: string) => Promise<number>;

interface Batch {
  payloads: string[];
  done: Promise<number>;
  resolve: (receivers: number) => void;
  reject: (err: unknown) => void;
}

export class PublishBatcher {
  private batches = new Map<string, Batch>();
  private scheduled = false;

  constructor(
    private readonly publishRaw: PublishRaw,
    private readonly max = MAX_BATCH,
  ) {}

  /** Queues one encoded command for `nodeId`; resolves with what its PUBLISH returned. */
  publish(nodeId: string, payload: string): Promise<number> {
    let batch = this.batches.get(nodeId);
    if (!batch) {
      let resolve!: Batch["resolve"];
      let reject!: Batch["reject"];
      const done = new Promise<number>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      batch = { payloads: [], done, resolve, reject };
      this.batches.set(nodeId, batch);
    }
    batch.payloads.push(payload);
    if (batch.payloads.length >= this.max) {
      // Full: it goes now, and the next command for this node starts another.
      this.batches.delete(nodeId);
      this.send(nodeId, batch);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return batch.done;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batches = this.batches;
    this.batches = new Map();
    for (const [nodeId, batch] of batches) this.send(nodeId, batch);
  };

  private send(nodeId: string, batch: Batch): void {
    this.publishRaw(nodeId, encodeBatch(batch.payloads)).then(batch.resolve, batch.reject);
  }
}
