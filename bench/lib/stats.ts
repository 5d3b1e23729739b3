// Latency histograms (fixed 50 µs buckets up to 5 s: a client records one sample in O(1) and
// hands back only the buckets it used) and medians.

const BUCKET_MS = 0.05;
const BUCKETS = 100_000;

/** [bucket index, count] pairs, as they cross IPC. */
export type SparseHistogram = [number, number][];

export class Histogram {
  private counts = new Uint32Array(BUCKETS);
  private used = false;

  record(ms: number): void {
    const bucket = Math.min(BUCKETS - 1, Math.max(0, Math.floor(ms / BUCKET_MS)));
    this.counts[bucket]!++;
    this.used = true;
  }

  /** The buckets used since the last take(), which empties them. */
  take(): SparseHistogram {
    const out: SparseHistogram = [];
    if (!this.used) return out;
    this.counts.forEach((count, bucket) => {
      if (count > 0) out.push([bucket, count]);
    });
    this.counts.fill(0);
    this.used = false;
    return out;
  }
}

/** Percentiles (0–100) of merged sparse histograms, in ms (the bucket's upper edge). */
export function percentiles<const P extends readonly number[]>(
  parts: SparseHistogram[],
  ps: P,
): { [K in keyof P]: number } {
  const merged = new Map<number, number>();
  for (const part of parts)
    for (const [bucket, count] of part) merged.set(bucket, (merged.get(bucket) ?? 0) + count);
  const sorted = [...merged].sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((sum, [, count]) => sum + count, 0);
  return ps.map((p: number) => {
    if (total === 0) return NaN;
    const rank = Math.ceil((p / 100) * total);
    let seen = 0;
    for (const [bucket, count] of sorted) {
      seen += count;
      if (seen >= rank) return round((bucket + 1) * BUCKET_MS, 2);
    }
    return NaN;
  }) as { [K in keyof P]: number };
}

export function median(values: number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
