/**
 * Where the packages the benchmarks use are installed, found the way Node resolves a bare import
 * from bench/: bench/node_modules holds bench/package.json's own (the libraries compared, the
 * chart renderer), the repository's node_modules the rest. Files a benchmark serves to browsers
 * or measures are located here, not by a fixed path.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('../', import.meta.url));

/** The folder of the installed package `name`; throws when neither node_modules has it. */
export function packageDir(name: string): string {
  for (let dir = BENCH; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) {
      throw new Error(`${name} is not installed: \`npm run bench\` installs bench/package.json`);
    }
  }
}

/** The installed version of `name`, or 'missing'. */
export function packageVersion(name: string): string {
  try {
    const file = path.join(packageDir(name), 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}
