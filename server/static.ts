/**
 * Static files: the demo page at `/` (and its assets under `/demo/`), the built widget at
 * `/p2p-share.js` with its source map and lazily loaded `/chunks/*`. Widget files are loaded by
 * pages on other origins as module scripts (CORS mode), so they carry CORS and CORP headers; the
 * demo's files are for the demo alone and its page runs under a strict Content-Security-Policy.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';

export interface StaticDirs {
  /** The build output holding `p2p-share.js` and `chunks/`. */
  distDir: string;
  /** The demo host page and its assets. */
  demoDir: string;
}

/**
 * This module and its bundle (`dist/server.js`) both sit one level below the project root, so
 * the same relative URL finds the root from either.
 */
const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export const defaultStaticDirs: Readonly<StaticDirs> = Object.freeze({
  distDir: join(projectRoot, 'dist'),
  demoDir: join(projectRoot, 'demo'),
});

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

/**
 * The demo page's policy: only its own scripts and styles (the widget needs no inline code and no
 * eval), connections to this service alone (`ws:`/`wss:` for browsers that do not count a
 * WebSocket to the page's own host as `'self'`), and nobody may frame it.
 */
export const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self' ws: wss:",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** A path segment we serve: no dot-files, no `..`, no separators or encodings. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

interface ServeOptions {
  /** For files that pages on other origins load. */
  crossOrigin?: boolean;
  /** For the demo's own page and assets: under the demo's CSP, for same-origin use only. */
  demo?: boolean;
  cacheControl?: string;
}

export function staticRoutes({
  distDir = defaultStaticDirs.distDir,
  demoDir = defaultStaticDirs.demoDir,
}: Partial<StaticDirs> = {}): Hono {
  const files = new Hono();
  const widget: ServeOptions = { crossOrigin: true, cacheControl: 'no-cache' };

  const demo: ServeOptions = { demo: true, cacheControl: 'no-cache' };

  files.get('/', (c) => serveFile(c, demoDir, ['index.html'], demo));
  files.get('/p2p-share.js', (c) => serveFile(c, distDir, ['p2p-share.js'], widget));
  files.get('/p2p-share.js.map', (c) => serveFile(c, distDir, ['p2p-share.js.map'], widget));
  // Chunk names carry a content hash, so a chunk never changes under its name.
  files.get('/chunks/:file', (c) =>
    serveFile(c, distDir, ['chunks', c.req.param('file')], {
      crossOrigin: true,
      cacheControl: 'public, max-age=31536000, immutable',
    }),
  );
  files.get('/demo/*', (c) =>
    serveFile(c, demoDir, c.req.path.slice('/demo/'.length).split('/'), demo),
  );
  return files;
}

async function serveFile(c: Context, root: string, segments: string[], options: ServeOptions) {
  if (options.crossOrigin) {
    // Set before the lookup so that a 404 is readable cross-origin too.
    c.header('Access-Control-Allow-Origin', '*');
    c.header('Cross-Origin-Resource-Policy', 'cross-origin');
  }
  if (options.demo) {
    c.header('Content-Security-Policy', DEMO_CSP);
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
  }
  const base = resolve(root);
  const path = resolve(join(base, ...segments));
  const safe = segments.length > 0 && segments.every((s) => SEGMENT.test(s));
  if (!safe || !path.startsWith(base + sep)) return c.text('Not found', 404);
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) return c.text('Not found', 404);
    size = info.size;
  } catch {
    return c.text('Not found', 404);
  }
  c.header(
    'Content-Type',
    CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
  );
  c.header('Content-Length', String(size));
  if (options.cacheControl) c.header('Cache-Control', options.cacheControl);
  if (c.req.method === 'HEAD') return c.body(null, 200);
  return c.body(Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, 200);
}
