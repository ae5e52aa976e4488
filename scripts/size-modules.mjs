// Which source modules the widget's gzipped bytes go to, per built file: each module's minified
// bytes (from the file's source map) and its gzip share, measured as how much smaller the file
// gzips with that module's bytes cut out. The shares overlap a little (gzip reuses text across
// modules), so they add up to about the file's size, not exactly. A tool for size work, not a
// check. Run after `npm run build`: `node scripts/size-modules.mjs [min-bytes]`.
import { readdir, readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url);
const minBytes = Number(process.argv[2] ?? 200);
const gzip = (text) => gzipSync(text, { level: 9 }).length;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Per generated line, its segments as [column, source index] (source maps v3, Base64 VLQ). */
function decodeMappings(mappings) {
  const lines = [];
  let source = 0;
  for (const line of mappings.split(';')) {
    const segments = [];
    let column = 0;
    for (const segment of line.split(',').filter(Boolean)) {
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      column += fields[0];
      if (fields.length > 1) source += fields[1];
      segments.push([column, fields.length > 1 ? source : -1]);
    }
    lines.push(segments);
  }
  return lines;
}

/** The module a source-map path names, shortened: `nm:<package path>` or a repository path. */
const moduleName = (path) =>
  path.includes('node_modules/')
    ? `nm:${path.slice(path.lastIndexOf('node_modules/') + 13)}`
    : path.replace(/^(\.\.\/)+/, '');

async function report(file) {
  const code = await readFile(new URL(file, dist), 'utf8');
  const map = JSON.parse(await readFile(new URL(`${file}.map`, dist), 'utf8'));
  const lines = code.split('\n');
  const ranges = new Map();
  let offset = 0;
  decodeMappings(map.mappings).forEach((segments, i) => {
    const line = lines[i] ?? '';
    segments.forEach(([column, source], j) => {
      const end = j + 1 < segments.length ? segments[j + 1][0] : line.length;
      const name = source < 0 ? '(unmapped)' : moduleName(map.sources[source]);
      if (!ranges.has(name)) ranges.set(name, []);
      ranges.get(name).push([offset + column, offset + end]);
    });
    offset += line.length + 1;
  });
  const whole = gzip(code);
  const rows = [];
  for (const [name, spans] of ranges) {
    const cut = new Uint8Array(code.length);
    let raw = 0;
    for (const [from, to] of spans) {
      cut.fill(1, from, to);
      raw += to - from;
    }
    if (raw < minBytes) continue;
    let rest = '';
    for (let i = 0; i < code.length; i++) if (!cut[i]) rest += code[i];
    rows.push({ name, raw, gzip: whole - gzip(rest) });
  }
  console.log(`\n${file}: ${code.length} bytes, ${whole} gzipped`);
  console.log(`${'minified'.padStart(9)} ${'gzip'.padStart(6)}  module`);
  for (const r of rows.sort((a, b) => b.gzip - a.gzip)) {
    console.log(`${String(r.raw).padStart(9)} ${String(r.gzip).padStart(6)}  ${r.name}`);
  }
}

const chunks = (await readdir(new URL('chunks/', dist))).filter((f) => f.endsWith('.js')).sort();
for (const file of ['p2p-share.js', ...chunks.map((f) => `chunks/${f}`)]) await report(file);
