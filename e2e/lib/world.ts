/**
 * One e2e test file's world: the signalling service in-process, a host page on another origin,
 * a temp dir, and the browsers its tests launch. `useE2E` gives a file its world: started before
 * its first test, browsers closed after each test, everything closed after the last.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import { defaultConfig, type Config } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { createService, type Service } from '../../server/service.js';
import type { RelayHook } from '../../server/signalling.js';
import type { BrowserKind } from '../../testing/browsers.js';
import { removeTempDir, tempDir } from '../../testing/cleanup.js';
import type { HostServer } from '../../testing/host-server.js';
import { recorderSource, startHostPages } from './host-page.js';
import { gotoHost, launchPeer, type Peer } from './peer.js';
import { RecordingProxy } from './recording-proxy.js';

export const log = (...args: unknown[]) => console.log('[e2e]', ...args);

export interface StartOptions {
  relayHook?: RelayHook;
  /** Receives every line the service logs (the service logs at debug level then). */
  onLog?: (line: string) => void;
  /** Put a recording TCP proxy between the browsers and the service (see `RecordingProxy`). */
  record?: boolean;
  /** Service settings over the defaults (smaller rate-limit windows, say). */
  config?: Partial<Config>;
}

export interface HostUrlOptions {
  saveTo?: 'auto' | 'opfs' | 'picker';
  /** Where the page loads the bundle from (this world's service by default). */
  service?: string;
  /** A `server` attribute for the element, overriding the bundle's own origin. */
  server?: string;
  /**
   * The host page under a strict Content-Security-Policy (see `strictCsp`). Open it with
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
}

interface Running {
  service: Service;
  serviceUrl: string;
  host: HostServer;
  tmp: string;
  proxy: RecordingProxy | null;
}

export class E2E {
  private running: Running | null = null;
  private readonly peers = new Set<Peer>();

  constructor(private readonly options: StartOptions = {}) {}

  async start(): Promise<void> {
    const bundle = new URL('../../dist/p2p-share.js', import.meta.url);
    await stat(bundle).catch(() => {
      throw new Error(`${bundle.pathname} is missing: run \`npm run build\` before the e2e tests`);
    });
    const { onLog, relayHook, config } = this.options;
    const tmp = tempDir('p2p-e2e-');
    const write = (line: string) => {
      onLog?.(line);
      if (/"level":"(warn|error)"/.test(line)) console.log('[service]', line);
    };
    const service = createService({
      logger: createLogger({ level: onLog ? 'debug' : 'info', write }),
      ...(relayHook ? { relayHook } : {}),
      ...(config ? { config: { ...defaultConfig, ...config } } : {}),
    });
    const { port } = await service.listen(0, '127.0.0.1');
    const proxy = this.options.record ? await RecordingProxy.start(port) : null;
    const serviceUrl = `http://127.0.0.1:${proxy?.port ?? port}/`;
    const host = await startHostPages();
    this.running = { service, serviceUrl, host, tmp, proxy };
  }

  private get world(): Running {
    if (!this.running) throw new Error('the e2e world is not started (useE2E starts it)');
    return this.running;
  }

  get service(): Service {
    return this.world.service;
  }

  /** The origin the widget talks to, with a trailing slash (the proxy's when recording). */
  get serviceUrl(): string {
    return this.world.serviceUrl;
  }

  get hostOrigin(): string {
    return this.world.host.origin;
  }

  /** This world's temp dir, for source files; removed when the world closes. */
  get tmp(): string {
    return this.world.tmp;
  }

  get proxy(): RecordingProxy | null {
    return this.world.proxy;
  }

  /** The host page that embeds the widget, pointed at this world's service. */
  hostUrl(options: HostUrlOptions = {}): string {
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
   * ahead of the document's own scripts and outside its Content-Security-Policy. With
   * `throttled`, Chromium throttles the page whenever it is hidden, as it does for users.
   */
  async launch(
    kind: BrowserKind,
    label: string,
    url = this.hostUrl(),
    options: { recorder?: boolean; throttled?: boolean } = {},
  ): Promise<Peer> {
    const downloadDir = path.join(this.tmp, `downloads-${label}-${randomBytes(3).toString('hex')}`);
    await mkdir(downloadDir, { recursive: true });
    const peer = await launchPeer(kind, label, downloadDir, options.throttled);
    this.peers.add(peer);
    peer.onClose = () => this.peers.delete(peer);
    if (options.recorder) await peer.page.evaluateOnNewDocument(await recorderSource());
    await gotoHost(peer.page, url);
    return peer;
  }

  /** Closes every browser this world launched. */
  async closePeers(): Promise<void> {
    await Promise.all([...this.peers].map((peer) => peer.close()));
    this.peers.clear();
  }

  async close(): Promise<void> {
    await this.closePeers();
    const running = this.running;
    if (!running) return;
    this.running = null;
    await running.host.close();
    await running.proxy?.close();
    await running.service.close();
    removeTempDir(running.tmp);
  }
}

/**
 * The world of the test file that calls it (at its top level): started before the file's first
 * test, every browser closed after each test, everything closed after the last. Set-up that
 * needs the started world goes in `onStart`: Node 20 does not wait for one top-level `before`
 * hook before it starts the next, so a hook of the file's own may run before the world exists.
 */
export function useE2E(
  options: StartOptions & { onStart?: (env: E2E) => void | Promise<void> } = {},
): E2E {
  const env = new E2E(options);
  before(async () => {
    await env.start();
    await options.onStart?.(env);
  });
  afterEach(() => env.closePeers());
  after(() => env.close());
  return env;
}
