/**
 * The shape every benchmark module has, so `bench/run.ts` can run, print and store them alike.
 */
import type { VegaLiteSpec } from './chart.js';
import type { Row } from './report.js';

export interface BenchContext {
  /** A short run (tiny sizes, one run) that only proves the benchmark still works. */
  smoke: boolean;
  /** Take DevTools CPU profiles even when every target is met. */
  profile: boolean;
  /** How many measured runs each figure is the median of. */
  runs: number;
  /** Where results, charts and profiles go (bench/results, or bench/results/smoke). */
  outDir: string;
  log(...args: unknown[]): void;
}

export interface BenchOutput {
  params: Record<string, unknown>;
  rows: Row[];
  runs: unknown;
  notes: string[];
  /** Browser name → version string, for the machine facts. */
  browsers: Record<string, string>;
  chart: VegaLiteSpec | null;
  /**
   * The figures do not depend on scale or noise (sizes), so a smoke run may judge the targets.
   * Otherwise a smoke run's rows keep their targets but are not judged.
   */
  exact?: boolean;
  /** Anything else worth keeping in the JSON (profiles, tuning sweeps). */
  extra?: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchOutput>;
}

/** A benchmark that has a name and a place but is not built yet; it never reports a figure. */
export interface Placeholder {
  name: string;
  title: string;
  /** Why there is nothing to run, and which issue will build it. */
  pending: string;
}

/** A trial that failed and was run again; kept in the result, because a flake is a finding too. */
export interface Failure {
  trial: string;
  error: string;
}

/**
 * Runs one trial, and again (up to `tries` times in all) if it throws: a long run should not
 * be lost to one failed connection. Every failure is recorded in `failures`; the last is thrown.
 */
export async function retried<T>(
  trial: string,
  failures: Failure[],
  fn: () => Promise<T>,
  log: BenchContext['log'],
  tries = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      failures.push({ trial, error: error.slice(0, 500) });
      if (attempt >= tries) throw err;
      log(`${trial} failed (${error.slice(0, 160)}); running it again`);
    }
  }
}

/** One note per failed-and-rerun trial, for the result's notes. */
export function failureNotes(failures: readonly Failure[]): string[] {
  return failures.map((f) => `Trial "${f.trial}" failed and was run again: ${f.error}`);
}
