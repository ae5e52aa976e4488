/**
 * Benchmark 5, bundle size: the gzipped widget a host page loads (the entry script, then its lazy
 * chunks) against its budgets, with PeerJS's gzipped browser bundle beside it for scale (the size
 * is judged by the budgets, not by the ratio). Sizes are deterministic, so one measurement is
 * exact; `npm run size` (scripts/size-budget.mjs) enforces the same budgets in `npm test`.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { TraceMap, eachMapping } from '@jridgewell/trace-mapping';
import { KiB } from '../testing/files.js';
import type { Benchmark, BenchOutput } from './lib/bench.js';
import { barChart, type Bar } from './lib/chart.js';
import { packageDir } from './lib/packages.js';
import type { Row } from './lib/report.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ENTRY_TARGET = 30 * KiB;
const TOTAL_TARGET = 60 * KiB;

interface Measured {
  file: string;
  raw: number;
  gzip: number;
}

async function measure(file: string): Promise<Measured> {
  const bytes = await readFile(`${ROOT}${file}`);
  return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

/**
 * Where the minified bytes come from: each generated segment of a file, up to the next one,
 * charged to the package (or `src/…` folder) its source map names. Raw bytes, not gzip: a guide
 * to what to trim, not a budget.
 */
async function composition(
  files: readonly string[],
): Promise<Array<{ origin: string; bytes: number }>> {
  const totals = new Map<string, number>();
  for (const file of files) {
    let map: TraceMap;
    let code: string;
    try {
      map = new TraceMap(await readFile(`${ROOT}${file}.map`, 'utf8'));
      code = await readFile(`${ROOT}${file}`, 'utf8');
    } catch {
      continue;
    }
    const lines = code.split('\n');
    let prev: { line: number; column: number; origin: string } | null = null;
    const charge = (to: { line: number; column: number }) => {
      if (!prev) return;
      const bytes =
        to.line === prev.line
          ? to.column - prev.column
          : (lines[prev.line - 1]?.length ?? 0) - prev.column + 1;
      totals.set(prev.origin, (totals.get(prev.origin) ?? 0) + Math.max(0, bytes));
    };
    eachMapping(map, (m) => {
      const next = { line: m.generatedLine, column: m.generatedColumn };
      charge(next);
      prev = { ...next, origin: originOf(m.source ?? '') };
    });
    if (prev) charge({ line: (prev as { line: number }).line + 1, column: 0 });
  }
  return [...totals.entries()]
    .map(([origin, bytes]) => ({ origin, bytes }))
    .sort((a, b) => b.bytes - a.bytes);
}

function originOf(source: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (pkg) return pkg[1]!;
  const own = /(src\/[^/]+)\//.exec(source);
  return own ? own[1]! : source.replace(/^(\.\.\/)+/, '') || '(unmapped)';
}

async function sizeRun(): Promise<BenchOutput> {
  const entry = await measure('dist/p2p-share.js').catch(() => {
    throw new Error('dist/p2p-share.js is missing: run `npm run build` first');
  });
  const chunkNames = (await readdir(`${ROOT}dist/chunks`).catch(() => [] as string[]))
    .filter((name) => name.endsWith('.js'))
    .sort();
  const chunks = await Promise.all(chunkNames.map((name) => measure(`dist/chunks/${name}`)));
  const peerjs = await measure(`${path.relative(ROOT, packageDir('peerjs'))}/dist/peerjs.min.js`);
  const total = entry.gzip + chunks.reduce((sum, c) => sum + c.gzip, 0);
  const origins = await composition([entry.file, ...chunks.map((c) => c.file)]);
  const ratio = total / peerjs.gzip;
  const kib = (n: number) => n / KiB;
  const rows: Row[] = [
    {
      metric: 'entry p2p-share.js (gzip)',
      value: kib(entry.gzip),
      unit: 'KiB',
      target: '≤ 30',
      met: entry.gzip <= ENTRY_TARGET,
    },
    ...chunks.map((c) => ({
      metric: `  ${c.file.replace('dist/', '')} (gzip)`,
      value: kib(c.gzip),
      unit: 'KiB',
    })),
    {
      metric: 'everything (gzip)',
      value: kib(total),
      unit: 'KiB',
      target: '≤ 60',
      met: total <= TOTAL_TARGET,
    },
    { metric: 'PeerJS peerjs.min.js (gzip)', value: kib(peerjs.gzip), unit: 'KiB' },
    { metric: 'everything / PeerJS, for scale', value: ratio, unit: '×' },
  ];
  const bars: Bar[] = [
    { group: 'gzipped size', label: 'ours: entry', value: kib(entry.gzip) },
    { group: 'gzipped size', label: 'ours: entry + chunks', value: kib(total) },
    { group: 'gzipped size', label: 'PeerJS bundle', value: kib(peerjs.gzip) },
  ];
  return {
    params: { gzipLevel: 9 },
    rows,
    runs: { entry, chunks, peerjs },
    extra: { composition: origins },
    notes: [
      `Largest contributors (minified bytes, from the source maps): ${origins
        .slice(0, 8)
        .map((o) => `${o.origin} ${(o.bytes / KiB).toFixed(1)} KiB`)
        .join(', ')}.`,
      'Sizes are deterministic: one measurement is exact, so there is no median.',
      'A recipient who only views the metadata loads less than everything; this counts it all.',
    ],
    browsers: {},
    exact: true,
    chart: barChart('Bundle size (gzip -9)', bars, { 'gzipped size': 'KiB' }),
  };
}

export const size: Benchmark = {
  name: 'size',
  title: 'Bundle size: widget vs PeerJS (gzip)',
  run: sizeRun,
};
