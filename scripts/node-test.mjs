// Runs Node's test runner (TypeScript through tsx) on every *.test.{ts,mjs,js} file under the
// folders given. Node 20's `--test` takes no glob patterns, so the files are found here; a
// folder that does not exist or holds no tests is fine, but finding no test at all is an error.
//
//   node scripts/node-test.mjs [node --test options...] <folder|file>...
//
// When P2P_TEST_TAP_FILE is set (scripts/test.mjs does), a TAP copy of the results is written
// there too so the counts can be added up across stages.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

const TEST_FILE = /\.test\.(ts|mjs|js)$/;

async function findTests(target) {
  const info = await stat(target).catch(() => null);
  if (!info) return [];
  if (info.isFile()) return [target];
  const entries = await readdir(target, { recursive: true });
  return entries
    .filter((rel) => TEST_FILE.test(rel))
    .filter(
      (rel) => !rel.split(/[\\/]/).some((seg) => seg === 'node_modules' || seg.startsWith('.')),
    )
    .map((rel) => join(target, rel));
}

async function main() {
  const args = process.argv.slice(2);
  const options = args.filter((a) => a.startsWith('-'));
  const targets = args.filter((a) => !a.startsWith('-'));
  if (targets.length === 0) throw new Error('name at least one folder or test file');

  const files = [...new Set((await Promise.all(targets.map(findTests))).flat())]
    .map((f) => relative(process.cwd(), f))
    .sort();
  if (files.length === 0) {
    throw new Error(`no *.test.{ts,mjs,js} file under ${targets.join(', ')}`);
  }

  const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout'];
  if (process.env.P2P_TEST_TAP_FILE) {
    reporters.push(
      '--test-reporter=tap',
      `--test-reporter-destination=${process.env.P2P_TEST_TAP_FILE}`,
    );
  }
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', ...reporters, ...options, ...files],
    { stdio: 'inherit' },
  );
  // Forward Ctrl-C/termination so test servers and browsers are torn down by their own hooks.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}

main().catch((err) => {
  console.error(`node-test: ${err.message}`);
  process.exitCode = 1;
});
