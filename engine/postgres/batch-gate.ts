// Group commit for DataLoader batches: at most `max` of a loader's batches run at once, and one
// that would be more waits until a running one settles — gathering the loads that come
// meanwhile, so under load the batches grow instead of multiplying. Each batch is one statement
// and one commit for PostgreSQL and one socket write and read for the client, whatever its size,
// so fewer, larger batches cost both sides less per send; a lone send on an idle server still
// goes at once (the turn's end, as before).

export class BatchGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Set while the waiting batches are failed by the outage that failed a running one. */
  private failing: { error: unknown } | null = null;

  constructor(
    private readonly max: number,
    /** An error that would fail the waiting batches too (a hung or lost server): they fail with
     * it at once rather than each wait out its own timeout in turn. */
    private readonly isOutage: (error: unknown) => boolean = () => false,
  ) {}

  /**
   * DataLoader's `batchScheduleFn`. Every dispatched batch calls its batch function (a loader
   * with `cache: false` never has an empty batch), which must go through run() to free its slot.
   */
  readonly schedule = (dispatch: () => void): void => {
    if (this.running < this.max) {
      this.running++;
      setImmediate(dispatch);
    } else this.waiting.push(dispatch);
  };

  /** Runs a dispatched batch; when it settles, its slot passes to the oldest waiting batch. */
  async run<T>(batch: () => Promise<T>): Promise<T> {
    if (this.failing) throw this.failing.error;
    try {
      return await batch();
    } catch (error) {
      if (this.isOutage(error)) this.failWaiting(error);
      throw error;
    } finally {
      const next = this.waiting.shift();
      if (next) setImmediate(next);
      else this.running--;
    }
  }

  /** Dispatches every waiting batch now; DataLoader calls each one's run() at once, which fails. */
  private failWaiting(error: unknown): void {
    this.failing = { error };
    try {
      for (const dispatch of this.waiting.splice(0)) dispatch();
    } finally {
      this.failing = null;
    }
  }
}
