/**
 * Source files for transfers, with the SHA-256 a received copy must match: random bytes
 * (incompressible, so no layer can cheat) written in 1 MiB chunks and hashed as they are
 * written, or given bytes; and the hash of a file on disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { finished } from 'node:stream/promises';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export interface SourceFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

/** Writes `size` random bytes to `dir/name`. */
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

/** Writes `content` (text as UTF-8) to `dir/name`. */
export async function makeFile(
  dir: string,
  name: string,
  content: string | Uint8Array,
): Promise<SourceFile> {
  const file = path.join(dir, name);
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  await writeFile(file, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { path: file, name, size: bytes.length, sha256 };
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
