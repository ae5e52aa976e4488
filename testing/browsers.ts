/**
 * Real browsers for tests and benchmarks: one puppeteer-core launch per peer (Chromium, or
 * Firefox over WebDriver BiDi), each with its own profile and download folder, and a close that
 * cannot hang. Every process launched here is killed at exit if nothing closed it (cleanup.ts).
 */
import { once } from 'node:events';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import {
  BACKGROUND_FLAGS,
  CHROME_PATH,
  CHROMIUM_ARGS,
  FIREFOX_PATH,
  firefoxPrefs,
} from './browser-options.js';
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
   * Chromium throttles this browser's hidden pages as it does for everyone (see
   * BACKGROUND_FLAGS); by default it does not.
   */
  throttled?: boolean;
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
  { downloadDir, protocolTimeout, prefs, throttled = false, wrapper }: LaunchOptions,
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
          args: [
            ...CHROMIUM_ARGS.filter((a) => !throttled || !BACKGROUND_FLAGS.includes(a)),
            ...(wrapper ? ['--disable-features=WebRtcHideLocalIpsWithMdns'] : []),
          ],
          ...(throttled ? { ignoreDefaultArgs: [...BACKGROUND_FLAGS] } : {}),
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

/**
 * Hides `page` as a user does who switches tabs: another tab of the same window comes to the
 * front. Resolves to that tab once `page` reports `document.visibilityState === 'hidden'`;
 * `page.bringToFront()` shows `page` again.
 */
export async function hidePage(browser: Browser, page: Page): Promise<Page> {
  const cover = await browser.newPage();
  await cover.bringToFront();
  await page.waitForFunction(() => document.visibilityState === 'hidden', {
    polling: 50,
    timeout: 10_000,
  });
  return cover;
}

/**
 * How long a chain of `count` 10 ms timeouts takes in `page`, in ms: about `count` × 10 ms in a
 * visible page, about a second per timeout in a hidden page that the browser throttles (it lets
 * zero-delay ones through).
 */
export function timeoutChainMs(page: Page, count = 3): Promise<number> {
  // No named functions inside: the test runner's transpiler would wrap them in a helper the page
  // does not have.
  return page.evaluate(async (count) => {
    const start = performance.now();
    for (let i = 0; i < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return performance.now() - start;
  }, count);
}
