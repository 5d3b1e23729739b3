// Reconnect delays: exponential with jitter, so a restarted server is not met by every client
// at the same instant.

export interface BackoffOptions {
  minDelayMs?: number;
  maxDelayMs?: number;
}

export const DEFAULT_MIN_DELAY_MS = 250;
export const DEFAULT_MAX_DELAY_MS = 10_000;

/**
 * The wait before attempt number `failures + 1`: uniform in [min, min(max, min * 2^(failures+1))].
 * `random` is injectable for tests.
 */
export function backoffDelay(
  failures: number,
  opts: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const min = Math.max(0, opts.minDelayMs ?? DEFAULT_MIN_DELAY_MS);
  const max = Math.max(min, opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
  const ceiling = Math.min(max, min * 2 ** Math.min(failures + 1, 30));
  return Math.round(min + random() * (ceiling - min));
}
