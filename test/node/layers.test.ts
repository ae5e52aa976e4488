/**
 * The widget (src/) and the service (server/) share only the wire protocol (protocol/): neither
 * imports the other, and the protocol imports neither. Read from the import specifiers of every
 * TypeScript file in those folders, tests included.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** For each folder, the top-level folders of the repository its files may import from. */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: ['protocol'],
  src: ['src', 'protocol'],
  server: ['server', 'protocol'],
};

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

async function tsFiles(folder: string): Promise<string[]> {
  const entries = await readdir(join(root, folder), { recursive: true });
  return entries.filter((f) => f.endsWith('.ts')).map((f) => join(folder, f));
}

/** `file: specifier -> folder` for each relative import that leaves the allowed folders. */
async function crossings(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const file of await tsFiles(folder)) {
    const text = await readFile(join(root, file), 'utf8');
    for (const [, , spec] of text.matchAll(SPECIFIER)) {
      const target = relative(root, resolve(root, dirname(file), spec!));
      const top = target.split('/')[0]!;
      if (!ALLOWED[folder]!.includes(top)) found.push(`${file}: ${spec} -> ${top}/`);
    }
  }
  return found;
}

for (const folder of Object.keys(ALLOWED)) {
  test(`${folder}/ imports only from ${ALLOWED[folder]!.join(' and ')}`, async () => {
    assert.deepEqual(await crossings(folder), []);
  });
}

test('the check sees a crossing', async () => {
  // The specifier pattern must match the forms the code uses, or the tests above prove nothing.
  const text = `import { a } from '../server/x.js';\nconst m = await import('../server/y.js');`;
  assert.deepEqual(
    [...text.matchAll(SPECIFIER)].map((m) => m[2]),
    ['../server/x.js', '../server/y.js'],
  );
});
