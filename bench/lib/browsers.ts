/**
 * Browser processes for benchmarks: one puppeteer-core launch per peer (Chromium, or Firefox over
 * WebDriver BiDi), each with its own profile and download folder, and the CPU seconds of its whole
 * process tree. Everything launched is killed on close, on exit and on SIGINT/SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { processTree, rendererPids, rssBytes, treeCpuSeconds } from './proc.js';

export const CHROME_PATH = process.env.CHROME_PATH ?? '/usr/bin/chromium';
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export type BrowserKind = 'chromium' | 'firefox';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  // Every peer is a background tab of a headless browser: its timers must not be throttled.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

const live = new Set<{ kill(signal?: NodeJS.Signals): boolean }>();
const liveDirs = new Set<string>();

function killAll(): void {
  for (const proc of live) proc.kill('SIGKILL');
  live.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}
process.once('exit', killAll);
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(code);
  });
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

/** Prints a page's errors and warnings (and uncaught exceptions) under `tag`. */
function echoConsole(page: Page, tag: string): void {
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warn') console.log(tag, msg.type(), msg.text());
  });
  page.on('pageerror', (err) => console.log(tag, 'pageerror', err));
}

export class BenchBrowser {
  private closed = false;

  private constructor(
    readonly kind: BrowserKind,
    readonly label: string,
    readonly browser: Browser,
    readonly page: Page,
    readonly pid: number,
    readonly downloadDir: string,
    readonly version: string,
    /** A tab opened by `openTab`: closing it closes the tab, not the browser it lives in. */
    private readonly tabOf: BenchBrowser | null = null,
  ) {}

  static async launch(kind: BrowserKind, label: string): Promise<BenchBrowser> {
    const downloadDir = tempDir(`p2p-bench-dl-${label}-`);
    const common = {
      headless: true,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      protocolTimeout: 600_000,
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
            },
          });
    const proc = browser.process();
    if (!proc?.pid) throw new Error(`${kind} started without a process id`);
    live.add(proc);
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    echoConsole(page, `[${label}:${kind}]`);
    return new BenchBrowser(
      kind,
      label,
      browser,
      page,
      proc.pid,
      downloadDir,
      await browser.version(),
    );
  }

  /**
   * Another tab in this browser process, driven like a browser of its own (the page drivers only
   * use `page` and `label`), so many peers can share a few processes. Its process figures are
   * the whole browser's; closing it closes only the tab.
   */
  async openTab(label: string): Promise<BenchBrowser> {
    const page = await this.browser.newPage();
    echoConsole(page, `[${label}:${this.kind}]`);
    return new BenchBrowser(
      this.kind,
      label,
      this.browser,
      page,
      this.pid,
      this.downloadDir,
      this.version,
      this,
    );
  }

  /** CPU seconds used so far by every process of this browser. */
  cpuSeconds(): number {
    return treeCpuSeconds(this.pid);
  }

  /**
   * Resident bytes of the page's renderer process (Chromium only) and of the browser's whole
   * tree. The page's process is the largest renderer: Chromium also keeps a spare one, idle at
   * about 75 MiB, ready for the next navigation, which is not the page's memory.
   */
  rss(): { page: number; tree: number } {
    const tree = processTree(this.pid);
    const renderers = this.kind === 'chromium' ? rendererPids(this.pid) : [];
    return {
      page: Math.max(0, ...renderers.map(rssBytes)),
      tree: tree.reduce((sum, pid) => sum + rssBytes(pid), 0),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tabOf) {
      if (!this.tabOf.closed) await this.page.close().catch(() => undefined);
      return;
    }
    const proc = this.browser.process();
    const timer = setTimeout(() => proc?.kill('SIGKILL'), 5000);
    try {
      await this.browser.close();
    } catch {
      proc?.kill('SIGKILL');
    } finally {
      clearTimeout(timer);
      if (proc) live.delete(proc);
      removeTempDir(this.downloadDir);
    }
  }
}

/** Launches one browser per label, in parallel. */
export function launchAll(specs: Array<[BrowserKind, string]>): Promise<BenchBrowser[]> {
  return Promise.all(specs.map(([kind, label]) => BenchBrowser.launch(kind, label)));
}

/** Closes them all, ignoring ones already closed. */
export async function closeAll(browsers: readonly (BenchBrowser | undefined)[]): Promise<void> {
  await Promise.all(browsers.map((b) => b?.close()));
}
