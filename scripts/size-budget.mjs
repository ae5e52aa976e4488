// Bundle-size budget: what a host page downloads is the entry script plus the lazily loaded
// chunks. Gzip is deterministic for a given input and level, so the check never flakes.
// Run after `npm run build`; exits 1 when a budget is exceeded or the bundle is missing.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Gzipped bytes allowed for dist/p2p-share.js, the script every host page loads. */
const ENTRY_BUDGET = 30 * 1024;
/** Gzipped bytes allowed for the entry plus every chunk in dist/chunks/. */
const TOTAL_BUDGET = 60 * 1024;

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const ENTRY = 'p2p-share.js';

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

async function measure(relPath) {
  const bytes = await readFile(dist + relPath);
  return { file: relPath, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

async function main() {
  let entry;
  try {
    entry = await measure(ENTRY);
  } catch {
    throw new Error(`dist/${ENTRY} not found: run \`npm run build\` first`);
  }
  const chunkNames = await readdir(`${dist}chunks`).catch((err) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const chunks = await Promise.all(
    chunkNames
      .filter((name) => name.endsWith('.js'))
      .sort()
      .map((name) => measure(`chunks/${name}`)),
  );
  const rows = [entry, ...chunks];
  const total = rows.reduce((sum, r) => sum + r.gzip, 0);

  const width = Math.max(...rows.map((r) => r.file.length), 'total'.length);
  const line = (file, raw, gzip) =>
    `${file.padEnd(width)}  ${raw.padStart(11)}  ${gzip.padStart(11)}`;
  console.log(line('file', 'raw', 'gzip'));
  for (const r of rows) console.log(line(r.file, kib(r.raw), kib(r.gzip)));
  console.log(line('total', kib(rows.reduce((s, r) => s + r.raw, 0)), kib(total)));

  const failures = [];
  if (entry.gzip > ENTRY_BUDGET) {
    failures.push(
      `dist/${ENTRY} is ${kib(entry.gzip)} gzipped, over its ${kib(ENTRY_BUDGET)} budget`,
    );
  }
  if (total > TOTAL_BUDGET) {
    failures.push(
      `the bundle is ${kib(total)} gzipped in all, over its ${kib(TOTAL_BUDGET)} budget`,
    );
  }
  for (const f of failures) console.error(`size budget: ${f}`);
  if (failures.length) {
    process.exitCode = 1;
    return;
  }
  console.log(
    `size budget: entry ${kib(entry.gzip)} of ${kib(ENTRY_BUDGET)}, total ${kib(total)} of ${kib(TOTAL_BUDGET)}`,
  );
}

main().catch((err) => {
  console.error(`size budget: ${err.message}`);
  process.exitCode = 1;
});
