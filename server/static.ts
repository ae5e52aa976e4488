/**
 * Static files: the demo page at `/` (and its assets under `/demo/`), the built widget at
 * `/p2p-share.js` with its source map and lazily loaded `/chunks/*`. Widget files are loaded by
 * pages on other origins as module scripts (CORS mode), so they carry CORS and CORP headers; the
 * demo's files are for the demo alone and its page runs under a strict Content-Security-Policy.
 * Files are sent by `@hono/node-server`'s serveStatic; this module adds the headers and refuses
 * names it would serve but we do not.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';

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

/** A name in a path we serve: no dot-files, no `..`, no separators or encodings, not empty. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

interface FileHeaders {
  /** For files that pages on other origins load. */
  crossOrigin?: boolean;
  /** For the demo's own page and assets: under the demo's CSP, for same-origin use only. */
  demo?: boolean;
}

export function staticRoutes({
  distDir = defaultStaticDirs.distDir,
  demoDir = defaultStaticDirs.demoDir,
}: Partial<StaticDirs> = {}): Hono {
  const files = new Hono();
  const widget = fileHeaders({ crossOrigin: true });
  const demo = fileHeaders({ demo: true });
  const revalidated = cacheControl('no-cache');
  // Chunk names carry a content hash, so a chunk never changes under its name.
  const immutable = cacheControl('public, max-age=31536000, immutable');
  const file = (dir: string, name: string) => serveStatic({ path: join(dir, name) });

  files.get('/', demo, revalidated, file(demoDir, 'index.html'));
  files.get('/p2p-share.js', widget, revalidated, file(distDir, 'p2p-share.js'));
  files.get('/p2p-share.js.map', widget, revalidated, file(distDir, 'p2p-share.js.map'));
  files.get('/chunks/:file', widget, immutable, ...filesIn(join(distDir, 'chunks'), '/chunks/'));
  files.get('/demo/*', demo, revalidated, ...filesIn(demoDir, '/demo/'));
  return files;
}

/** Sets a file's headers before it is looked up, so that a 404 carries them too. */
function fileHeaders(options: FileHeaders): MiddlewareHandler {
  return async function fileHeaders(c, next) {
    if (options.crossOrigin) {
      c.header('Access-Control-Allow-Origin', '*');
      c.header('Cross-Origin-Resource-Policy', 'cross-origin');
    }
    if (options.demo) {
      c.header('Content-Security-Policy', DEMO_CSP);
      c.header('Cross-Origin-Resource-Policy', 'same-origin');
      c.header('Cross-Origin-Opener-Policy', 'same-origin');
    }
    await next();
  };
}

/**
 * How long a file sent may be cached. Only a 200 or 206 carries the file; a 404 or a 416 (a range
 * past its end) says nothing lasting of it, so no cache keeps those. serveStatic's `onFound` runs
 * for a 416 too and cannot see the status, so this looks at the response once it is made.
 */
function cacheControl(value: string): MiddlewareHandler {
  return async function cacheControl(c, next) {
    await next();
    if (c.res.status === 200 || c.res.status === 206) c.header('Cache-Control', value);
  };
}

/**
 * Serves the names after `prefix` in the request's path from `dir`, refusing what serveStatic
 * would serve and we do not: dot-files, and anything but a regular file (for a folder it would
 * send the folder's index.html). serveStatic's `root` would name `dir`, but it warns at start-up
 * when the folder is missing, and a missing build is only a 404 here.
 */
function filesIn(dir: string, prefix: string): MiddlewareHandler[] {
  return [
    async function plainFiles(c, next) {
      const names = c.req.path.slice(prefix.length).split('/');
      if (!names.every((name) => SEGMENT.test(name))) return c.notFound();
      if (!(await isFile(join(dir, ...names)))) return c.notFound();
      return next();
    },
    serveStatic({ rewriteRequestPath: (path) => join(dir, path.slice(prefix.length)) }),
  ];
}

/** Whether `path` names a regular file (a symbolic link counts as what it points to). */
async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
