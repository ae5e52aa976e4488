/**
 * End-to-end harness: the signalling service in-process, a host page on a different origin, real
 * Chromium and Firefox processes (one per peer) driven by puppeteer-core, files on disk and the
 * helpers that share and receive through the widget's own UI. Everything it starts is tracked and
 * torn down by `E2E.close()`, and killed on SIGINT/SIGTERM.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import { defaultConfig, type Config } from '../server/config.js';
import { createLogger } from '../server/log.js';
import { createService, type Service } from '../server/service.js';
import type { RelayHook } from '../server/signalling.js';

export const CHROME_PATH = process.env.CHROME_PATH ?? '/usr/bin/chromium';
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export const MiB = 1024 * 1024;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  // A backgrounded tab must keep its timers running: every peer is a background tab here.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export type { RelayHook, Service };

const log = (...args: unknown[]) => console.log('[e2e]', ...args);

// ---- Process-wide cleanup -------------------------------------------------------------------

/** Browser processes and temp dirs alive right now, so a signal can take them down synchronously. */
const liveProcesses = new Set<ChildProcess>();
const liveDirs = new Set<string>();

/**
 * Kills a browser with everything it spawned: puppeteer starts each browser as the leader of its
 * own process group, and Firefox's content processes outlive a killed parent otherwise.
 */
function killBrowser(proc: ChildProcess): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    proc.kill('SIGKILL');
  }
}

function killEverything(): void {
  for (const proc of liveProcesses) killBrowser(proc);
  liveProcesses.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    killEverything();
    process.exit(code);
  });
}
process.once('exit', killEverything);

function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

// ---- Servers --------------------------------------------------------------------------------

export interface StartOptions {
  relayHook?: RelayHook;
  /** Receives every line the service logs (the service logs at debug level then). */
  onLog?: (line: string) => void;
  /** Put a recording TCP proxy between the browsers and the service (see `RecordingProxy`). */
  record?: boolean;
  /** Service settings over the defaults (smaller rate-limit windows, say). */
  config?: Partial<Config>;
}

/** One test file's world: a service, a host page origin, a temp dir and the browsers it launched. */
export class E2E {
  private readonly peers = new Set<Peer>();

  private constructor(
    readonly service: Service,
    /** Lines the service logged at warn or error. */
    readonly serviceLog: string[],
    /** The origin the widget talks to, with a trailing slash (the proxy's when recording). */
    readonly serviceUrl: string,
    readonly hostOrigin: string,
    readonly tmp: string,
    readonly proxy: RecordingProxy | null,
    private readonly hostServer: http.Server,
  ) {}

  static async start(options: StartOptions = {}): Promise<E2E> {
    const bundle = new URL('../dist/p2p-share.js', import.meta.url);
    await stat(bundle).catch(() => {
      throw new Error(`${bundle.pathname} is missing: run \`npm run build\` before the e2e tests`);
    });
    const tmp = makeTempDir('p2p-e2e-');
    const serviceLog: string[] = [];
    const write = (line: string) => {
      if (options.onLog) options.onLog(line);
      if (/"level":"(warn|error)"/.test(line)) {
        serviceLog.push(line);
        console.log('[service]', line);
      }
    };
    const service = createService({
      logger: createLogger({ level: options.onLog ? 'debug' : 'info', write }),
      ...(options.relayHook ? { relayHook: options.relayHook } : {}),
      ...(options.config ? { config: { ...defaultConfig, ...options.config } } : {}),
    });
    const { port } = await service.listen(0, '127.0.0.1');
    let proxy: RecordingProxy | null = null;
    let servicePort = port;
    if (options.record) {
      proxy = await RecordingProxy.start(port);
      servicePort = proxy.port;
    }
    // The service is reached as 127.0.0.1 and the host page as localhost: two origins, both
    // secure contexts, so Web Crypto works and every request to the service is cross-origin.
    const serviceUrl = `http://127.0.0.1:${servicePort}/`;
    const hostServer = await startHostServer();
    const hostPort = (hostServer.address() as net.AddressInfo).port;
    const hostOrigin = `http://localhost:${hostPort}`;
    return new E2E(service, serviceLog, serviceUrl, hostOrigin, tmp, proxy, hostServer);
  }

  /** The host page that embeds the widget, pointed at this world's service. */
  hostUrl(
    options: {
      saveTo?: 'auto' | 'opfs' | 'picker';
      /** Where the page loads the bundle from (this world's service by default). */
      service?: string;
      /** A `server` attribute for the element, overriding the bundle's own origin. */
      server?: string;
      /**
       * The host page under a strict Content-Security-Policy (see `STRICT_CSP`). Open it with
       * `launch(..., { recorder: true })`: its policy lets no recorder script of its own run.
       */
      csp?: boolean;
      /** The element's `upload-limit` attribute (bytes per second). */
      uploadLimit?: number;
      /** The element's `seeding` attribute. */
      seeding?: 'on' | 'off';
      /**
       * Load a test build of the widget (see `testBuild`) from the host's origin instead of the
       * service's bundle; the element's `server` attribute then points at this world's service.
       */
      build?: string;
    } = {},
  ): string {
    const url = new URL(options.csp ? '/csp' : '/', this.hostOrigin);
    if (options.build) {
      url.searchParams.set('service', `${this.hostOrigin}/builds/${options.build}/`);
      url.searchParams.set('server', options.server ?? this.serviceUrl);
    } else {
      url.searchParams.set('service', options.service ?? this.serviceUrl);
      if (options.server) url.searchParams.set('server', options.server);
    }
    url.searchParams.set('save-to', options.saveTo ?? 'opfs');
    if (options.uploadLimit !== undefined) {
      url.searchParams.set('upload-limit', String(options.uploadLimit));
    }
    if (options.seeding) url.searchParams.set('seeding', options.seeding);
    return url.href;
  }

  /**
   * Launches a browser process for one peer and opens `url` (the host page by default). With
   * `recorder`, the browser itself runs the event recorder in every document the page opens,
   * ahead of the document's own scripts and outside its Content-Security-Policy.
   */
  async launch(
    kind: BrowserKind,
    label: string,
    url = this.hostUrl(),
    options: { recorder?: boolean } = {},
  ): Promise<Peer> {
    const downloadDir = path.join(this.tmp, `downloads-${label}-${randomBytes(3).toString('hex')}`);
    await mkdir(downloadDir, { recursive: true });
    const peer = await launchPeer(kind, label, downloadDir);
    this.peers.add(peer);
    peer.onClose = () => this.peers.delete(peer);
    if (options.recorder) await peer.page.evaluateOnNewDocument(await recorderSource());
    await gotoHost(peer.page, url);
    return peer;
  }

  /** Closes every browser this world launched (call it after each test). */
  async closePeers(): Promise<void> {
    await Promise.all([...this.peers].map((peer) => peer.close()));
    this.peers.clear();
  }

  async close(): Promise<void> {
    await this.closePeers();
    await new Promise<void>((resolve) => this.hostServer.close(() => resolve()));
    this.hostServer.closeAllConnections();
    await this.proxy?.close();
    await this.service.close();
    removeTempDir(this.tmp);
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

let recorder: Promise<string> | null = null;

/** The event and CSP-violation recorder every host page runs first (fixtures/recorder.js). */
function recorderSource(): Promise<string> {
  recorder ??= readFile(new URL('./fixtures/recorder.js', import.meta.url), 'utf8');
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

/**
 * Serves e2e/fixtures/host.html at `/` and the strict-CSP host-csp.html at `/csp`, with the
 * service URL and save mode of each request's query, and the recorder at `/recorder.js`.
 */
/** Test builds of the widget by name: the directory each was bundled into. */
const testBuilds = new Map<string, string>();

/**
 * Bundles the widget from `src/` with some modules replaced (`replace`: a path under src/ to
 * the module text that stands in for it), into a temp dir the host server serves as
 * `/builds/<name>/`. A fault-injecting peer is then real code in a real browser.
 */
export async function testBuild(name: string, replace: Record<string, string>): Promise<void> {
  const { build } = await import('esbuild');
  const outdir = makeTempDir(`p2p-build-${name}-`);
  const src = fileURLToPath(new URL('../src/', import.meta.url));
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

async function startHostServer(): Promise<http.Server> {
  const templates = {
    '/': await readFile(new URL('./fixtures/host.html', import.meta.url), 'utf8'),
    '/csp': await readFile(new URL('./fixtures/host-csp.html', import.meta.url), 'utf8'),
  };
  const recorderJs = await recorderSource();
  const server = http.createServer((req, res) => {
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
    for (const name of ['upload-limit', 'seeding']) {
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
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

// ---- Recording proxy ------------------------------------------------------------------------

export interface Received {
  /** Raw bytes of everything a client sent, headers included (decoded as latin1). */
  raw: string;
  /** Request bodies and WebSocket message payloads (UTF-8), without HTTP headers. */
  payloads: string[];
}

/**
 * A TCP proxy in front of the service that keeps everything browsers send to it: plain HTTP
 * requests and, after a WebSocket upgrade, the unmasked payload of each client frame. It records
 * what the service receives on the wire, beneath any code the service could forget to hook.
 */
export class RecordingProxy {
  readonly received: Received = { raw: '', payloads: [] };
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<RecordingProxy> {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = new RecordingProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.handle(client, targetPort));
    return proxy;
  }

  private handle(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    const parser = new ClientStreamParser(this.received);
    client.on('data', (chunk: Buffer) => {
      this.received.raw += chunk.toString('latin1');
      parser.push(chunk);
    });
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Splits one client→server byte stream into HTTP request bodies and WebSocket payloads. */
class ClientStreamParser {
  private buf = Buffer.alloc(0);
  private mode: 'http' | 'ws' = 'http';
  private fragments: Buffer[] = [];

  constructor(private readonly out: Received) {}

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const consumed = this.mode === 'http' ? this.parseRequest() : this.parseFrame();
      if (!consumed) return;
    }
  }

  private parseRequest(): boolean {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const head = this.buf.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    assert.ok(
      !/\r\ntransfer-encoding:\s*chunked/i.test(head),
      'a browser sent a chunked request; teach the recording proxy to decode it',
    );
    if (this.buf.length < end + 4 + length) return false;
    const body = this.buf.subarray(end + 4, end + 4 + length);
    this.out.payloads.push(`${head.split('\r\n')[0]}\n${body.toString('utf8')}`);
    this.buf = this.buf.subarray(end + 4 + length);
    if (/\r\nupgrade:\s*websocket/i.test(head)) this.mode = 'ws';
    return true;
  }

  private parseFrame(): boolean {
    const b = this.buf;
    if (b.length < 2) return false;
    const rsv1 = (b[0]! & 0x40) !== 0;
    const fin = (b[0]! & 0x80) !== 0;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let at = 2;
    if (len === 126) {
      if (b.length < 4) return false;
      len = b.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (b.length < 10) return false;
      len = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    const maskAt = at;
    if (masked) at += 4;
    if (b.length < at + len) return false;
    assert.ok(
      !rsv1,
      'the service negotiated compressed WebSocket frames; recording cannot read them',
    );
    const payload = Buffer.from(b.subarray(at, at + len));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskAt + (i % 4)]!;
    this.fragments.push(payload);
    if (fin) {
      this.out.payloads.push(Buffer.concat(this.fragments).toString('utf8'));
      this.fragments = [];
    }
    this.buf = b.subarray(at + len);
    return true;
  }
}

// ---- Browsers -------------------------------------------------------------------------------

export type BrowserKind = 'chromium' | 'firefox';

export interface P2PEventRecord {
  type: 'p2p-share-link' | 'p2p-share-complete' | 'p2p-share-error';
  detail: Record<string, unknown>;
  /** Date.now() in the page when the event fired. */
  at: number;
}

/** A `securitypolicyviolation` the page reported. */
export interface CspViolation {
  directive: string;
  blocked: string;
  source: string;
  line: number;
  sample: string;
}

declare global {
  interface Window {
    __p2p: {
      violations: CspViolation[];
      events: P2PEventRecord[];
      progress: {
        count: number;
        last: { bytes: number; total: number; peer: string } | null;
        /** Fewest bytes any progress event reported since the page loaded (or a test reset it). */
        min: number | null;
      };
    };
  }
}

export class Peer {
  onClose: (() => void) | null = null;
  private closed = false;

  constructor(
    readonly kind: BrowserKind,
    readonly label: string,
    readonly browser: Browser,
    readonly page: Page,
    readonly downloadDir: string,
  ) {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
    const proc = this.browser.process();
    // browser.close() can resolve while the process is still shutting down (Firefox), or hang:
    // either way the process group goes once the grace period is over.
    const exited = proc && proc.exitCode === null ? once(proc, 'exit') : Promise.resolve();
    await Promise.race([this.browser.close().catch(() => {}), delay(5000)]);
    await Promise.race([exited, delay(3000)]);
    if (proc) {
      killBrowser(proc);
      liveProcesses.delete(proc);
    }
  }
}

async function launchPeer(kind: BrowserKind, label: string, downloadDir: string): Promise<Peer> {
  const common = {
    headless: true,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    protocolTimeout: 120_000,
    defaultViewport: { width: 900, height: 700 },
  } as const;
  const browser =
    kind === 'chromium'
      ? await puppeteer.launch({
          ...common,
          executablePath: CHROME_PATH,
          args: CHROMIUM_ARGS,
          downloadBehavior: { policy: 'allow', downloadPath: downloadDir },
        })
      : await puppeteer.launch({
          ...common,
          browser: 'firefox',
          executablePath: FIREFOX_PATH,
          extraPrefsFirefox: {
            'browser.download.dir': downloadDir,
            'browser.download.folderList': 2,
            'browser.download.useDownloadDir': true,
            'browser.download.always_ask_before_handling_new_types': false,
            'browser.download.start_downloads_in_tmp_dir': false,
            'browser.download.alwaysOpenPanel': false,
            'browser.download.panel.shown': true,
          },
        });
  const proc = browser.process();
  if (proc) liveProcesses.add(proc);
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  const tag = `[${label}:${kind}]`;
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warn') console.log(tag, msg.type(), msg.text());
  });
  page.on('pageerror', (err) => console.log(tag, 'pageerror', err));
  page.on('response', (res) => {
    if (res.status() >= 400)
      console.log(tag, 'HTTP', res.status(), res.request().method(), res.url());
  });
  page.on('requestfailed', (req) => {
    const failure = req.failure()?.errorText ?? '';
    if (!/ERR_ABORTED|NS_BINDING_ABORTED/.test(failure))
      console.log(tag, 'requestfailed', req.url(), failure);
  });
  return new Peer(kind, label, browser, page, downloadDir);
}

// ---- Files ----------------------------------------------------------------------------------

export interface SourceFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

/** Writes `size` random bytes to `dir/name` in 1 MiB chunks, hashing as it goes. */
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

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const PARTIAL = /\.(crdownload|part)$/;

/**
 * Resolves with the path once `dir/name` holds `size` bytes and the browser has no partial file
 * left in `dir` (Chromium's `.crdownload`, Firefox's `.part`).
 */
export async function waitForDownload(
  dir: string,
  name: string,
  size: number,
  timeout: number,
): Promise<string> {
  const file = path.join(dir, name);
  const deadline = Date.now() + timeout;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    seen = await readdir(dir).catch(() => []);
    if (seen.includes(name) && !seen.some((n) => PARTIAL.test(n))) {
      const st = await stat(file).catch(() => null);
      if (st?.size === size) return file;
    }
    await delay(100);
  }
  throw new Error(
    `no complete download of ${JSON.stringify(name)} (${size} B) in ${dir}; saw ${JSON.stringify(seen)}`,
  );
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- Driving the widget ---------------------------------------------------------------------

/** Opens a host page URL and waits until the widget's bundle has defined the element. */
export async function gotoHost(page: Page, url: string): Promise<void> {
  // A URL that differs from the current one only in its fragment would not load a new document;
  // a recipient opens the link afresh.
  const sameDocument = (a: string) => a.split('#')[0] === url.split('#')[0];
  if (sameDocument(page.url())) await page.goto('about:blank');
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => customElements.get('p2p-share') !== undefined, {
    polling: 100,
    timeout: 15_000,
  });
}

/** Events recorded so far; pass it as `since` to wait for the next event after an action. */
export async function eventCount(page: Page): Promise<number> {
  return page.evaluate(() => window.__p2p.events.length);
}

export async function events(page: Page): Promise<P2PEventRecord[]> {
  return page.evaluate(() => window.__p2p.events);
}

/**
 * Waits for the first `type` event recorded at index `since` or later. A `p2p-share-error` that
 * arrives first fails the wait with its code, unless errors are what is awaited.
 */
export async function waitForEvent(
  page: Page,
  type: P2PEventRecord['type'],
  options: { since?: number; timeout?: number } = {},
): Promise<P2PEventRecord> {
  const since = options.since ?? 0;
  await page.waitForFunction(
    (type, since) =>
      window.__p2p.events.slice(since).some((e) => e.type === type || e.type === 'p2p-share-error'),
    { polling: 100, timeout: options.timeout ?? 30_000 },
    type,
    since,
  );
  const recorded = (await events(page)).slice(since);
  const hit = recorded.find((e) => e.type === type || e.type === 'p2p-share-error')!;
  if (hit.type !== type) {
    throw new Error(
      `expected ${type} but the widget reported an error: ${JSON.stringify(hit.detail)}`,
    );
  }
  return hit;
}

export async function progress(page: Page): Promise<Window['__p2p']['progress']> {
  return page.evaluate(() => window.__p2p.progress);
}

/** Waits until the widget has reported at least `bytes` bytes of progress. */
export async function waitForProgress(page: Page, bytes: number, timeout = 60_000): Promise<void> {
  await page.waitForFunction(
    (bytes) =>
      (window.__p2p.progress.last?.bytes ?? 0) >= bytes ||
      window.__p2p.events.some((e) => e.type === 'p2p-share-error'),
    { polling: 100, timeout },
    bytes,
  );
  const errors = (await events(page)).filter((e) => e.type === 'p2p-share-error');
  if (errors.length > 0)
    throw new Error(`widget error before progress: ${JSON.stringify(errors[0]!.detail)}`);
}

/*
 * In-page helpers are plain JavaScript strings: tsx compiles this file with esbuild's keepNames,
 * which wraps named inner functions in a `__name()` call that does not exist in the page.
 */

/** Walks the widget's shadow tree (nested shadow roots and slots included). */
const WALK_JS = `function walkWidget(visit) {
  const walk = function (root) {
    for (const node of Array.from(root.childNodes)) {
      visit(node);
      if (node instanceof Element) {
        if (node.shadowRoot) walk(node.shadowRoot);
        if (node instanceof HTMLSlotElement) for (const n of node.assignedNodes()) walk(n);
        walk(node);
      }
    }
  };
  const host = document.querySelector('p2p-share');
  if (host && host.shadowRoot) walk(host.shadowRoot);
}`;

const VISIBLE_TEXT_JS = `(function () {
  ${WALK_JS}
  const parts = [];
  walkWidget(function (node) {
    if (node.nodeType !== Node.TEXT_NODE) return;
    const parent = node.parentElement;
    const text = (node.textContent || '').trim();
    if (parent && text && parent.checkVisibility()) parts.push(text);
  });
  return parts.join(' ').replace(/\\s+/g, ' ');
})()`;

const FIND_BUTTON_JS = (label: RegExp) => `(function () {
  ${WALK_JS}
  const re = new RegExp(${JSON.stringify(label.source)}, ${JSON.stringify(label.flags)});
  let found = null;
  walkWidget(function (el) {
    if (found || !(el instanceof HTMLElement)) return;
    if (!(el instanceof HTMLButtonElement) && el.getAttribute('role') !== 'button') return;
    const name = (el.getAttribute('aria-label') || '') + ' ' + (el.textContent || '');
    if (el.disabled || !el.checkVisibility() || !re.test(name)) return;
    found = el;
  });
  return found;
})()`;

/** The widget's visible text: every rendered text node in its shadow tree, in order. */
export async function visibleText(page: Page): Promise<string> {
  return page.evaluate(VISIBLE_TEXT_JS) as Promise<string>;
}

export async function waitForText(
  page: Page,
  text: string | RegExp,
  timeout = 15_000,
): Promise<string> {
  const deadline = Date.now() + timeout;
  let seen = '';
  while (Date.now() < deadline) {
    seen = await visibleText(page);
    if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) return seen;
    await delay(100);
  }
  throw new Error(`widget never showed ${String(text)}; it shows: ${JSON.stringify(seen)}`);
}

/** The first visible, enabled button in the widget's shadow tree whose text or label matches. */
export async function findButton(
  page: Page,
  label: RegExp,
): Promise<ElementHandle<HTMLElement> | null> {
  const handle = await page.evaluateHandle(FIND_BUTTON_JS(label));
  const el = handle.asElement() as ElementHandle<HTMLElement> | null;
  if (!el) await handle.dispose();
  return el;
}

export async function waitForButton(
  page: Page,
  label: RegExp,
  timeout = 15_000,
): Promise<ElementHandle<HTMLElement>> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const button = await findButton(page, label);
    if (button) return button;
    await delay(100);
  }
  throw new Error(
    `widget offers no button matching ${String(label)}; it shows: ${JSON.stringify(await visibleText(page))}`,
  );
}

export async function clickButton(page: Page, label: RegExp, timeout = 15_000): Promise<void> {
  const button = await waitForButton(page, label, timeout);
  await button.click();
  await button.dispose();
}

/**
 * Shares `file` from the sharer's page by picking it in the widget's own `<input type=file>`;
 * resolves to the link from `p2p-share-link`.
 */
export async function share(peer: Peer, file: SourceFile, timeout = 60_000): Promise<string> {
  const since = await eventCount(peer.page);
  const input = (await peer.page.waitForSelector('p2p-share >>> input[type=file]', {
    timeout: 15_000,
  })) as ElementHandle<HTMLInputElement>;
  await input.uploadFile(file.path);
  await input.dispose();
  const event = await waitForEvent(peer.page, 'p2p-share-link', { since, timeout });
  const link = event.detail.link;
  assert.equal(typeof link, 'string', 'p2p-share-link carries detail.link');
  return link as string;
}

/** Opens `link` in the recipient's page and waits until the file's name is on screen. */
export async function openLink(
  peer: Peer,
  link: string,
  file: Pick<SourceFile, 'name'>,
): Promise<void> {
  await gotoHost(peer.page, link);
  await waitForText(peer.page, file.name);
}

// ---- Passwords ------------------------------------------------------------------------------

/** Types `password` into the sharer's "Password (optional)" field, then shares `file` as `share`. */
export async function shareWithPassword(
  peer: Peer,
  file: SourceFile,
  password: string,
  timeout = 60_000,
): Promise<string> {
  const field = (await peer.page.waitForSelector('p2p-share >>> #share-password', {
    timeout: 15_000,
  })) as ElementHandle<HTMLInputElement>;
  await field.type(password);
  await field.dispose();
  return share(peer, file, timeout);
}

export const LOCKED_TEXT = 'This file is protected by a password.';

/** Opens a link to a password share and waits until the widget asks for the password. */
export async function openLocked(peer: Peer, link: string): Promise<void> {
  await gotoHost(peer.page, link);
  await waitForText(peer.page, LOCKED_TEXT);
}

/** Types `password` over whatever the unlock field holds and presses Enter, as a person would. */
export async function submitPassword(peer: Peer, password: string): Promise<void> {
  const field = (await peer.page.waitForSelector('p2p-share >>> #unlock-password', {
    timeout: 15_000,
  })) as ElementHandle<HTMLInputElement>;
  await field.evaluate((input) => input.select());
  await field.type(password);
  await field.press('Enter');
  await field.dispose();
}

/** Whether the widget's Unlock button is disabled right now (null when there is none). */
export async function unlockDisabled(page: Page): Promise<boolean | null> {
  const button = await page.$('p2p-share >>> [part~="unlock-button"]');
  if (!button) return null;
  const disabled = await button.evaluate((b) => (b as HTMLButtonElement).disabled);
  await button.dispose();
  return disabled;
}

// ---- A hostile relay ------------------------------------------------------------------------

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Flips one character in the middle of the envelope (never the last, whose low bits may be padding). */
export function alterOne(envelope: string): string {
  const at = Math.floor(envelope.length / 2);
  const next = B64URL[(B64URL.indexOf(envelope[at]!) + 1) % B64URL.length]!;
  return envelope.slice(0, at) + next + envelope.slice(at + 1);
}

/**
 * Alters one byte of every envelope it relays (or, with `onlyToRecipients`, of those the sharer
 * sends: the recipients offer first, so the first envelope names the sharer) and counts them.
 */
export function alteringHook(count: { altered: number }, onlyToRecipients = false): RelayHook {
  let sharer: string | null = null;
  return ({ to, envelope }) => {
    sharer ??= to;
    if (onlyToRecipients && to === sharer) return { to, envelope };
    count.altered += 1;
    return { to, envelope: alterOne(envelope) };
  };
}

/**
 * Asserts that `recipient` reported and showed `tampered` (after event index `since`), completed
 * nothing, received no byte of the file and saved nothing.
 */
export async function assertRefusedAsTampered(recipient: Peer, since: number): Promise<void> {
  const error = await waitForShownError(recipient.page, { since, timeout: 60_000 });
  assert.equal(
    error.detail.code,
    'tampered',
    `${recipient.label}: ${JSON.stringify(error.detail)}`,
  );
  const recorded = (await events(recipient.page)).slice(since);
  assert.ok(!recorded.some((e) => e.type === 'p2p-share-complete'), 'no file was completed');
  const progress = await recipient.page.evaluate(() => window.__p2p.progress.last?.bytes ?? 0);
  assert.equal(progress, 0, `${recipient.label} received no file bytes`);
  assert.deepEqual(await readdir(recipient.downloadDir), [], 'nothing was saved');
}

export interface ReceiveResult {
  complete: P2PEventRecord;
  savedPath: string;
  seconds: number;
}

/**
 * Waits for the `p2p-share-complete` recorded at `since` or later and the file on disk, and checks
 * both against the source's SHA-256.
 */
export async function awaitSaved(
  peer: Peer,
  file: SourceFile,
  since: number,
  timeout: number,
): Promise<Omit<ReceiveResult, 'seconds'>> {
  const complete = await waitForEvent(peer.page, 'p2p-share-complete', { since, timeout });
  const savedPath = await waitForDownload(peer.downloadDir, file.name, file.size, 30_000);
  assert.equal(complete.detail.name, file.name, 'complete detail.name');
  assert.equal(complete.detail.size, file.size, 'complete detail.size');
  assert.equal(complete.detail.sha256, file.sha256, 'complete detail.sha256 is the source hash');
  assert.equal(
    await sha256File(savedPath),
    file.sha256,
    `the file ${peer.label} saved has the source hash`,
  );
  return { complete, savedPath };
}

/** Clicks Download on a recipient page that shows the file, then `awaitSaved`. */
export async function downloadAndVerify(
  peer: Peer,
  file: SourceFile,
  timeout = 120_000,
): Promise<ReceiveResult> {
  const since = await eventCount(peer.page);
  const started = Date.now();
  await clickButton(peer.page, /download/i);
  const saved = await awaitSaved(peer, file, since, timeout);
  return { ...saved, seconds: (Date.now() - started) / 1000 };
}

/** Opens the link, waits for the metadata, downloads and verifies. */
export async function receive(
  peer: Peer,
  link: string,
  file: SourceFile,
  timeout = 120_000,
): Promise<ReceiveResult> {
  await openLink(peer, link, file);
  return downloadAndVerify(peer, file, timeout);
}

export function rate(bytes: number, seconds: number): string {
  return `${(bytes / MiB / Math.max(seconds, 0.001)).toFixed(1)} MiB/s`;
}

export { log };

// ---- Memory ---------------------------------------------------------------------------------

export interface HeapPeak {
  /** Largest `usedSize` of the page's JS heap (what `JSHeapUsedSize` reports). */
  used: number;
  /** Largest `usedSize + backingStorageSize` (ArrayBuffers live outside the JS heap). */
  usedWithBuffers: number;
  /** Largest `usedSize + backingStorageSize` of any dedicated worker the page started. */
  worker: number;
  samples: number;
  /** The largest `usedWithBuffers` in each quarter of the run: flat when memory is bounded. */
  quarters: number[];
  /** `usedSize + backingStorageSize` after a forced garbage collection at the end: what is kept. */
  retained: number;
}

/**
 * Samples a Chromium page's heap (and its workers') through CDP `Runtime.getHeapUsage` every
 * `intervalMs` until `stop()` resolves with the peaks.
 */
export async function sampleHeap(
  page: Page,
  intervalMs = 200,
): Promise<{ stop(): Promise<HeapPeak> }> {
  const session = await page.createCDPSession();
  const peak: HeapPeak = {
    used: 0,
    usedWithBuffers: 0,
    worker: 0,
    samples: 0,
    quarters: [],
    retained: 0,
  };
  const series: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const usage = await session.send('Runtime.getHeapUsage');
      peak.used = Math.max(peak.used, usage.usedSize);
      peak.usedWithBuffers = Math.max(
        peak.usedWithBuffers,
        usage.usedSize + usage.backingStorageSize,
      );
      series.push(usage.usedSize + usage.backingStorageSize);
      for (const worker of page.workers()) {
        const w = await worker.client.send('Runtime.getHeapUsage').catch(() => null);
        if (w) peak.worker = Math.max(peak.worker, w.usedSize + w.backingStorageSize);
      }
      peak.samples += 1;
      await delay(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const q = Math.ceil(series.length / 4);
      for (let i = 0; i < series.length; i += q)
        peak.quarters.push(Math.max(...series.slice(i, i + q)));
      await session.send('HeapProfiler.collectGarbage');
      const end = await session.send('Runtime.getHeapUsage');
      peak.retained = end.usedSize + end.backingStorageSize;
      await session.detach().catch(() => {});
      return peak;
    },
  };
}

// ---- Errors on screen -----------------------------------------------------------------------

/**
 * Waits for a `p2p-share-error` at `since` or later, then for its message to be visible in the
 * widget; returns the event.
 */
export async function waitForShownError(
  page: Page,
  options: { since?: number; timeout?: number } = {},
): Promise<P2PEventRecord> {
  const error = await waitForEvent(page, 'p2p-share-error', options);
  const message = error.detail.message;
  assert.equal(typeof message, 'string', 'p2p-share-error carries detail.message');
  assert.ok((message as string).length > 0, 'the error message is not empty');
  await waitForText(page, message as string, 10_000);
  return error;
}

/** A random link secret part: 128 bits, base64url, as the link format has it. */
export function randomLinkId(): string {
  return randomBytes(16).toString('base64url');
}
