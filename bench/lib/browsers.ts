/**
 * Browsers for benchmarks (launched by the testing kit, one process per peer, or tabs sharing
 * one) with what a benchmark reads of them: the CPU seconds and resident memory of the whole
 * process tree.
 */
import type { Browser, Page } from 'puppeteer-core';
import {
  closeBrowser,
  echoConsole,
  launchBrowser,
  type BrowserKind,
} from '../../testing/browsers.js';
import { removeTempDir, tempDir } from '../../testing/cleanup.js';
import { processTree, rendererPids, rssBytes, treeCpuSeconds } from './proc.js';

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

  /**
   * With `throttled`, Chromium throttles the page when hidden, as it does for users;
   * `protocolTimeout` (default 10 minutes) bounds every wait on the page, a whole transfer's too;
   * `wrapper` runs Chromium through a script (a network namespace's, testing/netns.ts).
   */
  static async launch(
    kind: BrowserKind,
    label: string,
    options: { throttled?: boolean; protocolTimeout?: number; wrapper?: string } = {},
  ): Promise<BenchBrowser> {
    const downloadDir = tempDir(`p2p-bench-dl-${label}-`);
    const { browser, page } = await launchBrowser(kind, {
      downloadDir,
      protocolTimeout: options.protocolTimeout ?? 600_000,
      throttled: options.throttled,
      wrapper: options.wrapper,
    });
    const pid = browser.process()?.pid;
    if (pid === undefined) throw new Error(`${kind} started without a process id`);
    echoConsole(page, `[${label}:${kind}]`);
    return new BenchBrowser(kind, label, browser, page, pid, downloadDir, await browser.version());
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
    await closeBrowser(this.browser);
    removeTempDir(this.downloadDir);
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
