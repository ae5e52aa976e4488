/**
 * Source files for transfers: random bytes (incompressible, so no layer can cheat) written to a
 * temp dir in 1 MiB chunks, hashed as they are written.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { MiB } from './stats.js';

export interface SourceFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

export async function makeRandomFile(dir: string, name: string, size: number): Promise<SourceFile> {
  const file = path.join(dir, name);
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  for (let left = size; left > 0;) {
    const chunk = randomBytes(Math.min(left, MiB));
    hash.update(chunk);
    left -= chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
  return { path: file, name, size, sha256: hash.digest('hex') };
}
