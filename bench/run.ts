/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name> [<name>…]` runs some;
 * `--smoke` makes each one short (tiny sizes, one run) so CI can prove they still work;
 * `--profile` takes DevTools CPU profiles even when targets are met; `--runs N` (≥ 3) repeats
 * more. Each benchmark prints a table and writes bench/results/<name>.json and <name>.svg
 * (smoke runs: bench/results/smoke/; `--out DIR`: DIR, so a trial run does not replace the
 * recorded results). Exits 1 if a benchmark fails to run; a missed target is a
 * finding, printed in the table, not a failure.
 */
import { parseArgs } from 'node:util';
import type { Benchmark, Placeholder } from './lib/bench.js';
import path from 'node:path';
import { machineFacts, printTable, RESULTS_DIR, writeResult, type Result } from './lib/report.js';
import { abuse } from './abuse.js';
import { background } from './background.js';
import { lossy } from './lossy.js';
import { memory } from './memory.js';
import { signalling } from './signalling.js';
import { size } from './size.js';
import { swarm } from './swarm.js';
import { throughput } from './throughput.js';
import { ttfb } from './ttfb.js';

const ALL: Array<Benchmark | Placeholder> = [
  throughput,
  memory,
  ttfb,
  signalling,
  size,
  swarm,
  abuse,
  background,
  lossy,
];

function usage(): string {
  return `usage: npm run bench -- [--smoke] [--profile] [--runs N] [--out DIR] [${ALL.map((b) => b.name).join('|')} …]`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      smoke: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      runs: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const unknown = positionals.filter((name) => !ALL.some((b) => b.name === name));
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  const runs = values.smoke ? 1 : Number(values.runs ?? 3);
  if (!values.smoke && !(Number.isInteger(runs) && runs >= 3)) {
    console.error(
      '--runs must be a whole number of at least 3: every figure is a median of ≥ 3 runs',
    );
    return 2;
  }
  const outDir = values.out
    ? path.resolve(values.out)
    : values.smoke
      ? path.join(RESULTS_DIR, 'smoke')
      : RESULTS_DIR;
  const chosen = positionals.length ? ALL.filter((b) => positionals.includes(b.name)) : ALL;
  let failed = 0;
  for (const bench of chosen) {
    if ('pending' in bench) {
      console.log(`\n== ${bench.title} ==\n${bench.name}: ${bench.pending}. No result written.`);
      continue;
    }
    const log = (...args: unknown[]) => console.log(`[${bench.name}]`, ...args);
    const startedAt = new Date().toISOString();
    try {
      const out = await bench.run({
        smoke: values.smoke,
        profile: values.profile,
        runs,
        outDir,
        log,
      });
      if (values.smoke && !out.exact) {
        // Tiny sizes and one run say nothing about the targets; a smoke run only proves it works.
        out.rows = out.rows.map(({ met: _met, ...row }) => row);
        out.notes.unshift('Smoke run: sizes and run counts too small to judge any target.');
      }
      const result: Result = {
        benchmark: bench.name,
        smoke: values.smoke,
        command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
        startedAt,
        finishedAt: new Date().toISOString(),
        machine: machineFacts(out.browsers),
        params: out.params,
        rows: out.rows,
        runs: out.runs,
        notes: out.notes,
        ...(out.extra ?? {}),
      };
      printTable(`${bench.title}${values.smoke ? ' [smoke]' : ''}`, out.rows);
      for (const note of out.notes) console.log(`  note: ${note}`);
      const written = await writeResult(result, out.chart, outDir);
      console.log(`  wrote ${written.json}${written.svg ? ` and ${written.svg}` : ''}`);
    } catch (err) {
      failed++;
      console.error(`\n${bench.name} FAILED:`, err);
    }
  }
  return failed ? 1 : 0;
}

// Exit explicitly: the `peer` server keeps timers that nothing can stop.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
