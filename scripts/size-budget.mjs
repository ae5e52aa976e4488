// Bundle-size budget: what a host page downloads is the entry script plus the lazily loaded
// chunks in dist/chunks/. Gzip is deterministic for a given input and level, so the check never
// flakes. A chunk no longer imported by the entry or its chunks, and older than the entry (one
// left by a build of another tree into the same dist/, say), is listed as stale and not counted.
// It also checks that test-only modules are not shipped (no chunk's source map names them) and
// the split between the two roles: the recipient's engine (the chunk that holds
// src/session/receive-session.ts and what it imports) loads no sharer code, and the reverse, as
// told by each chunk's source map.
// Run after `npm run build`; exits 1 when a budget is exceeded, a role loads the other's code,
// or the bundle is missing.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Gzipped bytes allowed for dist/p2p-share.js, the script every host page loads. */
const ENTRY_BUDGET = 30 * 1024;
/** Gzipped bytes allowed for the entry plus every chunk it loads from dist/chunks/. */
const TOTAL_BUDGET = 60 * 1024;

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = join(root, 'dist/');
const ENTRY = 'p2p-share.js';
/** Files of one Rollup build are written within this long of each other. */
const SAME_BUILD_MS = 2000;

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

async function measure(relPath) {
  const bytes = await readFile(dist + relPath);
  const { mtimeMs } = await stat(dist + relPath);
  return {
    file: relPath,
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    bytes,
    mtimeMs,
  };
}

/** dist-relative paths of the .js files a built file imports (minified output keeps the
 * specifiers as plain string literals: `from"./chunks/x.js"`, `import("./x.js")`). */
function importsOf(file, bytes) {
  const specifiers = bytes.toString('utf8').matchAll(/["'`](\.{1,2}\/[\w./-]+\.js)["'`]/g);
  return [...specifiers].map((m) => normalize(join(dirname(file), m[1])));
}

/** dist-relative paths of the .js files a built file imports statically (not `import()`). */
function staticImportsOf(file, bytes) {
  const specifiers = bytes
    .toString('utf8')
    .matchAll(/(?:\bfrom|\bimport)\s*["'`](\.{1,2}\/[\w./-]+\.js)["'`]/g);
  return [...specifiers].map((m) => normalize(join(dirname(file), m[1])));
}

/** The repository paths of the sources a built file was made from, by its source map. */
async function sourcesOf(file) {
  const map = JSON.parse(await readFile(`${dist}${file}.map`, 'utf8'));
  return map.sources.map((source) => relative(root, join(dist, dirname(file), source)));
}

/** Each role's engine module: the other role's must not be among what its chunk loads. */
const ROLES = {
  recipient: 'src/session/receive-session.ts',
  sharer: 'src/session/share-session.ts',
};

/** Seams that only test builds fill in; the product's bundle must not carry them at all. */
const TEST_ONLY = ['src/transfer/faults.ts'];

/**
 * Failures for each chunk built from a test-only module, and for each role whose chunk, with
 * everything it imports statically, was built from the other role's engine module.
 */
async function sourceFailures(loaded) {
  const sources = new Map();
  for (const file of loaded.keys()) sources.set(file, await sourcesOf(file));
  const closure = (start) => {
    const seen = new Set([start]);
    const queue = [start];
    while (queue.length) {
      const file = queue.shift();
      for (const dep of staticImportsOf(file, loaded.get(file).bytes)) {
        if (!loaded.has(dep) || seen.has(dep)) continue;
        seen.add(dep);
        queue.push(dep);
      }
    }
    return seen;
  };
  const failures = [];
  for (const [file, list] of sources) {
    for (const module of TEST_ONLY.filter((m) => list.includes(m))) {
      failures.push(`${file} ships the test-only ${module}`);
    }
  }
  for (const [role, module] of Object.entries(ROLES)) {
    const home = [...sources].find(([, list]) => list.includes(module))?.[0];
    if (!home) {
      failures.push(`no chunk holds ${module}`);
      continue;
    }
    for (const [other, otherModule] of Object.entries(ROLES)) {
      if (other === role) continue;
      const culprit = [...closure(home)].find((file) => sources.get(file).includes(otherModule));
      if (culprit) failures.push(`the ${role}'s ${home} loads ${otherModule} (in ${culprit})`);
    }
  }
  return failures;
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
  const onDisk = new Set(chunkNames.filter((n) => n.endsWith('.js')).map((n) => `chunks/${n}`));

  const loaded = new Map([[ENTRY, entry]]);
  const queue = [entry];
  while (queue.length) {
    const current = queue.shift();
    for (const dep of importsOf(current.file, current.bytes)) {
      if (loaded.has(dep) || !onDisk.has(dep)) continue;
      const measured = await measure(dep);
      loaded.set(dep, measured);
      queue.push(measured);
    }
  }
  // A chunk nothing imports is stale only if an earlier build wrote it; one written with this
  // entry is counted anyway, so a reference this scan misses can never hide bytes.
  const stale = [];
  for (const file of [...onDisk].filter((f) => !loaded.has(f)).sort()) {
    const written = (await stat(dist + file)).mtimeMs;
    if (written < entry.mtimeMs - SAME_BUILD_MS) stale.push(file);
    else loaded.set(file, await measure(file));
  }
  const chunks = [...loaded.values()]
    .filter((r) => r !== entry)
    .sort((a, b) => a.file.localeCompare(b.file));
  const rows = [entry, ...chunks];
  const total = rows.reduce((sum, r) => sum + r.gzip, 0);

  const width = Math.max(...rows.map((r) => r.file.length), 'total'.length);
  const line = (file, raw, gzip) =>
    `${file.padEnd(width)}  ${raw.padStart(11)}  ${gzip.padStart(11)}`;
  console.log(line('file', 'raw', 'gzip'));
  for (const r of rows) console.log(line(r.file, kib(r.raw), kib(r.gzip)));
  console.log(line('total', kib(rows.reduce((s, r) => s + r.raw, 0)), kib(total)));
  if (stale.length) {
    console.log(
      `\nnot counted, stale from an earlier build (rm -rf dist to clear): ${stale.join(', ')}`,
    );
  }

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
  failures.push(...(await sourceFailures(loaded)));
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
