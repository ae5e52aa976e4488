/**
 * Driving the three kinds of peer a benchmark compares, from Node through puppeteer: the widget
 * (through its own UI and events), the bare WebRTC page and the PeerJS page. Timings are taken
 * inside the pages (performance.now()), never across the puppeteer round trip.
 */
import type { ElementHandle } from 'puppeteer-core';
import type { BlastOptions, ConnectTiming } from '../pages/types.js';
import type { BenchBrowser } from './browsers.js';
import type { SourceFile } from './files.js';
import type { World } from './world.js';

// ---- The widget ------------------------------------------------------------------------------

async function waitDefined(b: BenchBrowser): Promise<void> {
  await b.page.waitForFunction(() => customElements.get('p2p-share') !== undefined, {
    polling: 50,
    timeout: 20_000,
  });
}

async function eventCount(b: BenchBrowser): Promise<number> {
  return b.page.evaluate(() => window.__bench.events.length);
}

/** Waits for the first `type` event at index `since` or later; an error event fails the wait. */
export async function waitForEvent(
  b: BenchBrowser,
  type: string,
  since: number,
  timeout: number,
): Promise<{ detail: Record<string, unknown>; at: number }> {
  await b.page.waitForFunction(
    (type, since) =>
      window.__bench.events
        .slice(since)
        .some((e) => e.type === type || e.type === 'p2p-share-error'),
    { polling: 200, timeout },
    type,
    since,
  );
  const hit = await b.page.evaluate(
    (type, since) =>
      window.__bench.events
        .slice(since)
        .find((e) => e.type === type || e.type === 'p2p-share-error')!,
    type,
    since,
  );
  if (hit.type !== type) {
    throw new Error(`${b.label}: expected ${type}, got an error: ${JSON.stringify(hit.detail)}`);
  }
  return hit;
}

/** Opens the host page on `b`, picks `file` in the widget's own file input, returns the link. */
export async function widgetShare(
  b: BenchBrowser,
  world: World,
  file: SourceFile,
  timeout = 600_000,
): Promise<string> {
  await b.page.goto(world.widgetUrl(), { waitUntil: 'load' });
  await waitDefined(b);
  const since = await eventCount(b);
  const input = (await b.page.waitForSelector('p2p-share >>> input[type=file]', {
    timeout: 20_000,
  })) as ElementHandle<HTMLInputElement>;
  await input.uploadFile(file.path);
  await input.dispose();
  const event = await waitForEvent(b, 'p2p-share-link', since, timeout);
  return String(event.detail.link);
}

/**
 * Opens `link` on `b` and waits until the file name is on screen. Returns the time from the
 * navigation's start to that render, as the page measured it.
 */
export async function widgetOpen(b: BenchBrowser, link: string, file: SourceFile): Promise<number> {
  await b.page.goto(link, { waitUntil: 'load' });
  await b.page.waitForFunction(() => window.__bench.metaAt !== null, {
    polling: 50,
    timeout: 20_000,
  });
  const { metaAt, metaText } = await b.page.evaluate(() => window.__bench);
  if (metaText !== file.name) throw new Error(`the widget shows ${metaText}, not ${file.name}`);
  return metaAt!;
}

export interface DownloadTiming {
  /** Download click → the first progress event (the widget sends one when the peer link opens). */
  openedMs: number;
  /** Download click → first progress event with bytes > 0 (a verified piece written). */
  firstByteMs: number;
  /** Download click → `p2p-share-complete`. */
  completeMs: number;
  sha256: string;
}

/** Clicks the widget's Download button and waits for `p2p-share-complete`. */
export async function widgetDownload(
  b: BenchBrowser,
  file: SourceFile,
  timeout: number,
): Promise<DownloadTiming> {
  const since = await eventCount(b);
  const clickAt = await b.page.evaluate(() => {
    const button = document
      .querySelector('p2p-share')
      ?.shadowRoot?.querySelector<HTMLButtonElement>('[part~="download-button"]');
    if (!button) throw new Error('no Download button on screen');
    const at = performance.now();
    button.click();
    return at;
  });
  const complete = await waitForEvent(b, 'p2p-share-complete', since, timeout);
  const { first, opened } = await b.page.evaluate(() => window.__bench.progress);
  if (complete.detail.sha256 !== file.sha256) {
    throw new Error(`${b.label}: the widget saved a file whose SHA-256 is not the source's`);
  }
  return {
    openedMs: opened ? opened.at - clickAt : Number.NaN,
    firstByteMs: first ? first.at - clickAt : Number.NaN,
    completeMs: complete.at - clickAt,
    sha256: String(complete.detail.sha256),
  };
}

// ---- The bare page ---------------------------------------------------------------------------

/** Sharer `a` and recipient `b` on the bare page; resolves once their data channel is open. */
export async function bareConnect(
  a: BenchBrowser,
  b: BenchBrowser,
  world: World,
): Promise<ConnectTiming> {
  await Promise.all([a.page.goto(world.bareUrl()), b.page.goto(world.bareUrl())]);
  await Promise.all(
    [a, b].map((x) =>
      x.page.waitForFunction(() => window.bare !== undefined, { polling: 50, timeout: 20_000 }),
    ),
  );
  const { roomId } = await a.page.evaluate((s) => window.bare.share(s), world.serviceUrl);
  return b.page.evaluate((s, r) => window.bare.connect(s, r), world.serviceUrl, roomId);
}

/** Sends `options.bytes` from `a` to `b` over their open bare channel; returns the elapsed ms. */
export async function bareBlast(
  a: BenchBrowser,
  b: BenchBrowser,
  options: BlastOptions,
): Promise<{ ms: number }> {
  await b.page.evaluate((n) => window.bare.arm(n), options.bytes);
  const sent = await a.page.evaluate((o) => window.bare.blast(o), options);
  const got = await b.page.evaluate(() => window.bare.received());
  if (got.bytes !== options.bytes) throw new Error(`bare: ${got.bytes} of ${options.bytes} bytes`);
  return { ms: got.lastAt - sent.startedAt };
}

// ---- PeerJS ----------------------------------------------------------------------------------

/**
 * Opens the PeerJS page on both, shares `file` from `a` (picked in the page's file input) and
 * returns `fetch`, which downloads it into `b`'s memory and resolves to the elapsed ms (from the
 * recipient creating its Peer to the last chunk), as the page measured it.
 */
export async function peerjsPrepare(
  a: BenchBrowser,
  b: BenchBrowser,
  world: World,
  file: SourceFile,
): Promise<{ fetch(): Promise<{ ms: number; firstByteMs: number; outOfOrder: number }> }> {
  if (!world.peer) throw new Error('the world has no peer server');
  const { host, port } = world.peer;
  await Promise.all([a.page.goto(world.peerjsUrl()), b.page.goto(world.peerjsUrl())]);
  await Promise.all(
    [a, b].map((x) =>
      x.page.waitForFunction(() => window.pj !== undefined, { polling: 50, timeout: 20_000 }),
    ),
  );
  const input = (await a.page.$('#file')) as ElementHandle<HTMLInputElement>;
  await input.uploadFile(file.path);
  await input.dispose();
  const tag = Math.random().toString(36).slice(2, 10);
  await a.page.evaluate((o) => window.pj.share(o), { host, port, id: `s-${tag}` });
  return {
    async fetch() {
      const got = await b.page.evaluate((o) => window.pj.fetch(o), {
        host,
        port,
        id: `r-${tag}`,
        sharerId: `s-${tag}`,
      });
      if (got.bytes !== file.size || got.name !== file.name) {
        throw new Error(
          `PeerJS delivered ${got.bytes} bytes of ${got.name}, not ${file.size} of ${file.name}`,
        );
      }
      return {
        ms: got.doneAt - got.startedAt,
        firstByteMs: got.firstAt - got.startedAt,
        outOfOrder: got.outOfOrder,
      };
    },
  };
}
