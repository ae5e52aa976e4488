/**
 * Real browsers for tests and benchmarks: one puppeteer-core launch per peer (Chromium, or
 * Firefox over WebDriver BiDi), each with its own profile and download folder, and a close that
 * cannot hang. Every process launched here is killed at exit if nothing closed it (cleanup.ts).
 */
import { once } from 'node:events';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { CHROME_PATH, CHROMIUM_ARGS, FIREFOX_PATH, firefoxPrefs } from './browser-options.js';
import { forgetProcess, killProcessGroup, trackProcess } from './cleanup.js';
import { delay } from './wait.js';

export type BrowserKind = 'chromium' | 'firefox';

export interface LaunchOptions {
  /** Where the browser saves downloads, without asking. */
  downloadDir: string;
  /** How long one protocol command may take; a page that evaluates a whole transfer needs long. */
  protocolTimeout: number;
  /** Firefox preferences beyond `firefoxPrefs` (ignored for Chromium). */
  prefs?: Record<string, string | number | boolean>;
  /**
   * Chromium only: an executable that runs Chromium elsewhere (in a network namespace, see
   * netns.ts). DevTools then goes over a pipe, and host candidates carry real addresses, since
   * mDNS names cannot be resolved across namespaces.
   */
  wrapper?: string;
}

/** Launches a browser and returns it with its first page. */
export async function launchBrowser(
  kind: BrowserKind,
  { downloadDir, protocolTimeout, prefs, wrapper }: LaunchOptions,
): Promise<{ browser: Browser; page: Page }> {
  const common = {
    headless: true,
    // The test or benchmark decides what a signal does (cleanup.ts), not puppeteer.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    protocolTimeout,
    defaultViewport: { width: 900, height: 700 },
  } as const;
  const browser =
    kind === 'chromium'
      ? await puppeteer.launch({
          ...common,
          executablePath: wrapper ?? CHROME_PATH,
          args: wrapper
            ? [...CHROMIUM_ARGS, '--disable-features=WebRtcHideLocalIpsWithMdns']
            : [...CHROMIUM_ARGS],
          pipe: !!wrapper,
          downloadBehavior: { policy: 'allow', downloadPath: downloadDir },
        })
      : await puppeteer.launch({
          ...common,
          browser: 'firefox',
          executablePath: FIREFOX_PATH,
          extraPrefsFirefox: { ...firefoxPrefs(downloadDir), ...prefs },
        });
  const proc = browser.process();
  if (proc) trackProcess(proc);
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  return { browser, page };
}

/**
 * Closes a browser from `launchBrowser`. `browser.close()` can resolve while the process is still
 * shutting down (Firefox), or hang: either way the process group goes once the grace period is
 * over.
 */
export async function closeBrowser(browser: Browser): Promise<void> {
  const proc = browser.process();
  const exited = proc && proc.exitCode === null ? once(proc, 'exit') : Promise.resolve();
  await Promise.race([browser.close().catch(() => {}), delay(5000)]);
  await Promise.race([exited, delay(3000)]);
  if (proc) {
    killProcessGroup(proc);
    forgetProcess(proc);
  }
}

/** Prints a page's console errors and warnings, and its uncaught exceptions, under `tag`. */
export function echoConsole(page: Page, tag: string): void {
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warn') console.log(tag, msg.type(), msg.text());
  });
  page.on('pageerror', (err) => console.log(tag, 'pageerror', err));
}

/** Waits until the page's widget bundle has defined `<p2p-share>`. */
export async function waitForWidget(page: Page, timeout = 20_000): Promise<void> {
  await page.waitForFunction(() => customElements.get('p2p-share') !== undefined, {
    polling: 50,
    timeout,
  });
}
