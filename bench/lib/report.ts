/**
 * How a benchmark reports: a table on stdout, a JSON file under bench/results/ with the machine
 * it ran on, and an SVG chart next to it. Smoke runs write under bench/results/smoke/ so they
 * never overwrite the figures of a full run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSvg, type VegaLiteSpec } from './chart.js';
import { packageVersion } from './packages.js';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** One line of a benchmark's table. */
export interface Row {
  metric: string;
  value: number | string;
  unit?: string;
  /** The target in words, e.g. "≥ 0.9". */
  target?: string;
  /** Whether the target is met; undefined when the row has no target. */
  met?: boolean;
  note?: string;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  platform: string;
  kernel: string;
  node: string;
  browsers: Record<string, string>;
  /** Versions of the libraries compared or used to compare. */
  packages: Record<string, string>;
}

const COMPARED = ['socket.io', 'socket.io-client', 'peer', 'peerjs', 'puppeteer-core', 'ws'];

function packageVersions(): Record<string, string> {
  return Object.fromEntries(COMPARED.map((name) => [name, packageVersion(name)]));
}

export function machineFacts(browsers: Record<string, string> = {}): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    node: process.version,
    browsers,
    packages: packageVersions(),
  };
}

export interface Result {
  benchmark: string;
  smoke: boolean;
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  /** The sizes, counts and settings this run used. */
  params: Record<string, unknown>;
  rows: Row[];
  /** Every run's raw figures, so a reader can recompute any median. */
  runs: unknown;
  notes: string[];
}

function cell(value: Row['value']): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return '—';
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toFixed(digits);
}

export function printTable(title: string, rows: readonly Row[]): void {
  const head = ['metric', 'value', 'unit', 'target', 'met'];
  const body = rows.map((r) => [
    r.metric,
    cell(r.value),
    r.unit ?? '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((line) => line[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  console.log(`\n== ${title} ==`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const cells of body) console.log(line(cells));
  for (const r of rows) if (r.note) console.log(`  * ${r.metric}: ${r.note}`);
}

/** Writes `<name>.json` and `<name>.svg` into `dir` and returns their paths. */
export async function writeResult(
  result: Result,
  chart: VegaLiteSpec | null,
  dir: string,
): Promise<{ json: string; svg: string | null }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, `${result.benchmark}.json`);
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  let svg: string | null = null;
  if (chart) {
    svg = path.join(dir, `${result.benchmark}.svg`);
    await writeFile(svg, await renderSvg(chart));
  }
  return { json, svg };
}
