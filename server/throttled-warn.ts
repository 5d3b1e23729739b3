// Warnings for things a client or a peer can cause at any rate (bad frames, bad commands): at
// most one line per interval, carrying how many were suppressed since the last one.
import type { Logger } from "../config/logger.js";

export class ThrottledWarn {
  private last = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs = 10_000,
  ) {}

  warn(fields: Record<string, unknown> = {}): void {
    const now = Date.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.logger.warn({ ...fields, suppressed: this.suppressed }, this.message);
    this.last = now;
    this.suppressed = 0;
  }
}
