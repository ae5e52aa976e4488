/**
 * Small statistics over repeated runs: medians, percentiles and ratios. A benchmark figure is the
 * median of its runs; a comparison is the median of per-run ratios, so the two things compared
 * always come from the same run.
 */

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Linear-interpolated percentile `p` (0–100); NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const at = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * `f` of the trials `keep` picks, in run order: one variant's series, which `medianRatio` pairs
 * run by run with another's.
 */
export function perRun<T extends { run: number }>(
  trials: readonly T[],
  keep: (t: T) => boolean,
  f: (t: T) => number,
): number[] {
  return trials
    .filter(keep)
    .sort((a, b) => a.run - b.run)
    .map(f);
}

/** Median of `a[i] / b[i]` over the runs both have. */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) ratios.push(a[i]! / b[i]!);
  return median(ratios);
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

/** MB/s (10^6 bytes per second), the unit people compare transfer tools in. */
export function mbPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}
