/**
 * The host pages e2e tests open: e2e/fixtures/host.html at `/` and the strict-CSP
 * host-csp.html at `/csp`, filled in from each request's query (the service URL, save mode and
 * element attributes), the event recorder at `/recorder.js`, and test builds of the widget at
 * `/builds/<name>/`.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../testing/cleanup.js';
import { escapeHtml, startHostServer, type HostServer } from '../../testing/host-server.js';

let recorder: Promise<string> | null = null;

/** The event and CSP-violation recorder every host page runs first (fixtures/recorder.js). */
export function recorderSource(): Promise<string> {
  recorder ??= readFile(new URL('../fixtures/recorder.js', import.meta.url), 'utf8');
  return recorder;
}

/**
 * What the strict host page (`/csp`) is served with: scripts from the service's origin and
 * connections to it (HTTP and its WebSocket) and nothing else at all. No 'unsafe-inline', no
 * 'unsafe-eval', no blob: or data: anywhere.
 */
export function strictCsp(serviceUrl: string): string {
  const service = new URL(serviceUrl);
  return [
    "default-src 'none'",
    `script-src ${service.origin}`,
    `connect-src ${service.origin} ws://${service.host}`,
    "style-src 'none'",
    "img-src 'none'",
  ].join('; ');
}

/** Test builds of the widget by name: the directory each was bundled into. */
const testBuilds = new Map<string, string>();

/**
 * Bundles the widget from `src/` with some modules replaced (`replace`: a path under src/ to
 * the module text that stands in for it), into a temp dir the host server serves as
 * `/builds/<name>/`. A fault-injecting peer is then real code in a real browser.
 */
export async function testBuild(name: string, replace: Record<string, string>): Promise<void> {
  const { build } = await import('esbuild');
  const outdir = tempDir(`p2p-build-${name}-`);
  const src = fileURLToPath(new URL('../../src/', import.meta.url));
  const stand = new Map(
    Object.entries(replace).map(([file, text]) => [path.join(src, file), text]),
  );
  await build({
    entryPoints: { 'p2p-share': path.join(src, 'index.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir,
    logLevel: 'warning',
    plugins: [
      {
        name: 'stand-ins',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, (args) => {
            const text = stand.get(args.path);
            return text === undefined ? undefined : { contents: text, loader: 'ts' };
          });
        },
      },
    ],
  });
  testBuilds.set(name, outdir);
}

export async function startHostPages(): Promise<HostServer> {
  const templates = {
    '/': await readFile(new URL('../fixtures/host.html', import.meta.url), 'utf8'),
    '/csp': await readFile(new URL('../fixtures/host-csp.html', import.meta.url), 'utf8'),
  };
  const recorderJs = await recorderSource();
  return startHostServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/recorder.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
      res.end(recorderJs);
      return;
    }
    const build = /^\/builds\/([a-z0-9-]+)\/([A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)?)$/.exec(
      url.pathname,
    );
    if (build) {
      const dir = testBuilds.get(build[1]!);
      if (!dir || build[2]!.includes('..')) {
        res.writeHead(404).end();
        return;
      }
      readFile(path.join(dir, build[2]!)).then(
        (body) => {
          res.writeHead(200, {
            'content-type': 'text/javascript',
            'cache-control': 'no-store',
            'access-control-allow-origin': '*',
          });
          res.end(body);
        },
        () => res.writeHead(404).end(),
      );
      return;
    }
    if (url.pathname !== '/' && url.pathname !== '/csp') {
      res.writeHead(404).end();
      return;
    }
    const template = templates[url.pathname];
    const service = url.searchParams.get('service') ?? '';
    const saveTo = url.searchParams.get('save-to') ?? 'opfs';
    const server = url.searchParams.get('server');
    const loopback = /^http:\/\/(127\.0\.0\.1|localhost):\d+\/$/;
    const builds = /^http:\/\/localhost:\d+\/builds\/[a-z0-9-]+\/$/;
    if (
      !(loopback.test(service) || builds.test(service)) ||
      (server !== null && !loopback.test(server))
    ) {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('service and server must be loopback URLs');
      return;
    }
    let attrs = server === null ? '' : ` server="${escapeHtml(server)}"`;
    for (const name of ['upload-limit', 'seeding', 'relay-only']) {
      const value = url.searchParams.get(name);
      if (value !== null) attrs += ` ${name}="${escapeHtml(value)}"`;
    }
    const html = template
      .replaceAll('{{SERVICE}}', escapeHtml(service))
      .replaceAll('{{SAVE_TO}}', escapeHtml(saveTo))
      .replaceAll('{{SERVER_ATTR}}', attrs);
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      ...(url.pathname === '/csp' ? { 'content-security-policy': strictCsp(service) } : {}),
    });
    res.end(html);
  });
}
