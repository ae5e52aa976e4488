/**
 * The servers a browser benchmark needs, all on loopback: our signalling service in-process (as
 * 127.0.0.1), a host page server on another origin (as localhost) with the widget page, the bare
 * WebRTC page and the PeerJS page, and optionally a `peer` server for PeerJS. Page scripts are
 * TypeScript under bench/pages/, bundled by esbuild when the world starts.
 */
import { cp, readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { defaultConfig, type Config } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { createService, type Service } from '../../server/service.js';
import { removeTempDir, tempDir } from '../../testing/cleanup.js';
import { escapeHtml, startHostServer, type HostServer } from '../../testing/host-server.js';
import { packageDir } from './packages.js';
import { startPeerServer, type PeerServerHandle } from './peer-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = ['recorder', 'bare', 'peerjs-page'] as const;
/**
 * The widget build to serve: dist/, or another build (P2P_BENCH_DIST) so tuning can iterate on a
 * private build without replacing dist/ under someone else's end-to-end run.
 */
const DIST = process.env.P2P_BENCH_DIST ?? `${ROOT}dist`;

export interface WorldOptions {
  /** Also start a `peer` server for the PeerJS pages. */
  peerServer?: boolean;
  /** Service settings over the benchmark's defaults (e.g. the swarm's capacity). */
  config?: Partial<Config>;
}

/**
 * Attributes the host page puts on its `<p2p-share>`, carried in the page URL's query (so a
 * share link, which keeps the sharer's URL, carries the sharer's unless `withAttributes`
 * replaces them).
 */
export interface WidgetAttributes {
  /** Bytes per second, every upload of the page together. */
  'upload-limit'?: number;
  seeding?: 'on' | 'off';
}

const ATTRIBUTE_PATTERNS: Record<keyof WidgetAttributes, RegExp> = {
  'upload-limit': /^\d{1,12}$/,
  seeding: /^(on|off)$/,
};

/** `url` (a host page URL or a share link, fragment kept) with `attributes` set in its query. */
export function withAttributes(url: string, attributes: WidgetAttributes): string {
  const out = new URL(url);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) out.searchParams.set(name, String(value));
  }
  return out.href;
}

export class World {
  private constructor(
    readonly service: Service,
    /** The service's base URL with a trailing slash, as the browsers reach it. */
    readonly serviceUrl: string,
    private readonly host: HostServer,
    readonly peer: PeerServerHandle | null,
    /** The private copy of dist/ the service serves (its source maps name profile frames). */
    readonly distDir: string,
  ) {}

  static async start(options: WorldOptions = {}): Promise<World> {
    await stat(`${DIST}/p2p-share.js`).catch(() => {
      throw new Error(
        `${DIST}/p2p-share.js is missing: run \`npm run build\` before the benchmarks`,
      );
    });
    // A private copy of the build: another `npm run build` during a long run must not swap the
    // chunks under a page that already loaded the entry.
    const distDir = tempDir('p2p-bench-dist-');
    await cp(DIST, distDir, { recursive: true });
    const service = createService({
      // Every browser of a benchmark comes from one address; a long run creates more rooms
      // and connections than the per-address defaults allow.
      config: {
        ...defaultConfig,
        roomsPerAddress: 100_000,
        liveRoomsPerAddress: 100_000,
        socketsPerAddress: 100_000,
        maxSocketsPerAddressPerRoom: 100_000,
        connectionsPerAddress: 100_000,
        addressMessagesPerSecond: 1_000_000,
        addressMessageBurst: 10_000_000,
        logLevel: 'warn',
        ...options.config,
      },
      staticDirs: { distDir },
      // Per-join info lines would cost the service CPU that the benchmark then blames on it.
      logger: createLogger({ level: 'warn' }),
    });
    const { port } = await service.listen(0, '127.0.0.1');
    const serviceUrl = `http://127.0.0.1:${port}/`;
    const host = await startHostPages();
    const peer = options.peerServer ? await startPeerServer() : null;
    return new World(service, serviceUrl, host, peer, distDir);
  }

  /** The widget's host page (sharer mode; a link adds the fragment). */
  widgetUrl(attributes: WidgetAttributes = {}): string {
    const url = new URL('/', this.host.origin);
    url.searchParams.set('service', this.serviceUrl);
    return withAttributes(url.href, attributes);
  }

  /** The host pages' origin (`http://localhost:<port>`). */
  get hostOrigin(): string {
    return this.host.origin;
  }

  bareUrl(): string {
    return new URL('/bare', this.host.origin).href;
  }

  peerjsUrl(): string {
    return new URL('/peerjs', this.host.origin).href;
  }

  async close(): Promise<void> {
    await this.host.close();
    if (this.peer) {
      this.peer.server.closeAllConnections();
      // The peer server keeps timers we cannot reach; the bench process exits explicitly.
      this.peer.server.close();
    }
    await this.service.close();
    removeTempDir(this.distDir);
  }
}

const widgetPage = (service: string, attributes: string) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>p2p-share bench host</title>
    <script type="module" src="/assets/recorder.js"></script>
    <script type="module" src="${escapeHtml(service)}p2p-share.js"></script>
  </head>
  <body>
    <p2p-share save-to="opfs" server="${escapeHtml(service)}"${attributes}></p2p-share>
  </body>
</html>
`;

const barePage = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>bare WebRTC</title>
  <script type="module" src="/assets/bare.js"></script></head>
  <body></body>
</html>
`;

const peerjsPage = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>PeerJS</title>
  <script src="/vendor/peerjs.min.js"></script>
  <script type="module" src="/assets/peerjs-page.js"></script></head>
  <body><input type="file" id="file" /></body>
</html>
`;

async function bundlePages(): Promise<Map<string, string>> {
  const result = await build({
    entryPoints: Object.fromEntries(
      PAGES.map((name) => [name, fileURLToPath(new URL(`../pages/${name}.ts`, import.meta.url))]),
    ),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outdir: '/assets',
    logLevel: 'silent',
  });
  const out = new Map<string, string>();
  for (const file of result.outputFiles) out.set(file.path, file.text);
  return out;
}

async function startHostPages(): Promise<HostServer> {
  const assets = await bundlePages();
  const peerjs = await readFile(`${packageDir('peerjs')}/dist/peerjs.min.js`, 'utf8');
  return startHostServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (type: string, body: string) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const js = 'text/javascript; charset=utf-8';
    const asset = assets.get(url.pathname);
    if (asset !== undefined) return send(js, asset);
    switch (url.pathname) {
      case '/': {
        const service = url.searchParams.get('service') ?? '';
        if (!/^http:\/\/127\.0\.0\.1:\d+\/$/.test(service)) {
          res.writeHead(400).end('service must be a loopback URL');
          return;
        }
        let attributes = '';
        for (const [name, pattern] of Object.entries(ATTRIBUTE_PATTERNS)) {
          const value = url.searchParams.get(name);
          if (value === null) continue;
          if (!pattern.test(value)) {
            res.writeHead(400).end(`${name} must match ${String(pattern)}`);
            return;
          }
          attributes += ` ${name}="${value}"`;
        }
        return send('text/html; charset=utf-8', widgetPage(service, attributes));
      }
      case '/bare':
        return send('text/html; charset=utf-8', barePage);
      case '/peerjs':
        return send('text/html; charset=utf-8', peerjsPage);
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      case '/vendor/peerjs.min.js':
        return send(js, peerjs);
      default:
        res.writeHead(404).end();
    }
  });
}
