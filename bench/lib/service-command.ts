/**
 * How the service is run as it ships: the Node flags `npm run serve` gives `node` before
 * dist/server.js, read from package.json, so a benchmark of the shipped service runs it the same
 * way. P2P_BENCH_SERVER names another bundle; P2P_BENCH_SERVER_FLAGS adds flags to try one
 * before adopting it.
 */
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

function shippedFlags(): string[] {
  const m = /^node((?:\s+--\S+)*)\s+dist\/server\.js$/.exec(pkg.scripts.serve ?? '');
  if (!m) throw new Error(`package.json's serve script is not "node [flags] dist/server.js"`);
  return m[1]!.split(/\s+/).filter(Boolean);
}

export const SERVER_BUNDLE = process.env.P2P_BENCH_SERVER ?? 'dist/server.js';
export const SERVER_FLAGS = [
  ...shippedFlags(),
  ...(process.env.P2P_BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean),
];
