// The first step of `npm run bench`: installs bench/package.json's packages into
// bench/node_modules when they are missing or older than bench/package-lock.json, so a plain
// `npm ci` at the top never downloads what only the benchmarks use.
import { spawnSync } from 'node:child_process';
import { lstatSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bench = fileURLToPath(new URL('./', import.meta.url));
const mtime = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;

// npm writes node_modules/.package-lock.json at the end of every install; a lock file newer
// than it changed since (a pull, a checkout) and the install is stale.
// A bench/node_modules that links to another checkout's is that checkout's to keep: `npm ci`
// here would empty the directory it links to.
const linked = lstatSync(`${bench}node_modules`, { throwIfNoEntry: false })?.isSymbolicLink();
if (linked) {
  console.log('bench: bench/node_modules is a link; install in the checkout it links to');
} else if (mtime(`${bench}node_modules/.package-lock.json`) < mtime(`${bench}package-lock.json`)) {
  console.log('bench: installing bench/package.json (npm ci --prefix bench)');
  const result = spawnSync('npm', ['ci', '--prefix', bench, '--no-audit', '--no-fund'], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    console.error('bench: `npm ci --prefix bench` failed');
    process.exit(result.status ?? 1);
  }
}
