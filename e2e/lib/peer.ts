/**
 * One peer of an end-to-end test: a browser process of its own with one page, a download folder
 * and a label its console lines are printed under.
 */
import type { Browser, Page } from 'puppeteer-core';
import {
  closeBrowser,
  echoConsole,
  launchBrowser,
  waitForWidget,
  type BrowserKind,
} from '../../testing/browsers.js';

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
    await closeBrowser(this.browser);
  }
}

/** Launches the browser and prints what goes wrong in its page: errors, failed requests. */
export async function launchPeer(
  kind: BrowserKind,
  label: string,
  downloadDir: string,
  throttled = false,
): Promise<Peer> {
  const { browser, page } = await launchBrowser(kind, {
    downloadDir,
    protocolTimeout: 120_000,
    throttled,
  });
  const tag = `[${label}:${kind}]`;
  echoConsole(page, tag);
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

/** Opens a host page URL and waits until the widget's bundle has defined the element. */
export async function gotoHost(page: Page, url: string): Promise<void> {
  // A URL that differs from the current one only in its fragment would not load a new document;
  // a recipient opens the link afresh.
  const sameDocument = (a: string) => a.split('#')[0] === url.split('#')[0];
  if (sameDocument(page.url())) await page.goto('about:blank');
  await page.goto(url, { waitUntil: 'load' });
  await waitForWidget(page, 15_000);
}
