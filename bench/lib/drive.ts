/**
 * Driving the three kinds of peer a benchmark compares, from Node through puppeteer: the widget
 * (through its own UI and events), the bare WebRTC page and the PeerJS page. Timings are taken
 * inside the pages (performance.now()), never across the puppeteer round trip.
 */
import type { ElementHandle } from 'puppeteer-core';
import { waitForWidget } from '../../testing/browsers.js';
import type { BlastOptions, ConnectTiming, WallMs } from '../pages/types.js';
import type { SourceFile } from '../../testing/files.js';
import type { BenchBrowser } from './browsers.js';
import type { WidgetAttributes, World } from './world.js';

// ---- The widget ------------------------------------------------------------------------------

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

/**
 * Opens the host page on `b` (its widget with `attributes`), picks `file` in the widget's own
 * file input, returns the link. The link keeps the host page's query, so recipients get the
 * same attributes unless `withAttributes` changes them.
 */
export async function widgetShare(
  b: BenchBrowser,
  world: World,
  file: SourceFile,
  timeout = 600_000,
  attributes: WidgetAttributes = {},
): Promise<string> {
  return (await widgetShareTimed(b, world, file, timeout, attributes)).link;
}

/**
 * `widgetShare`, also returning how long the sharer took from the file's pick to its link
 * (hashing every piece and the whole file, then creating the room), as the page measured it.
 */
export async function widgetShareTimed(
  b: BenchBrowser,
  world: World,
  file: SourceFile,
  timeout = 600_000,
  attributes: WidgetAttributes = {},
): Promise<{ link: string; preparedMs: number }> {
  await b.page.goto(world.widgetUrl(attributes), { waitUntil: 'load' });
  await waitForWidget(b.page);
  const since = await eventCount(b);
  const input = (await b.page.waitForSelector('p2p-share >>> input[type=file]', {
    timeout: 20_000,
  })) as ElementHandle<HTMLInputElement>;
  // When the pick lands: `change` on the input itself (it does not leave the shadow root).
  await input.evaluate((el) =>
    el.addEventListener('change', () => (window.__bench.pickedAt ??= performance.now()), {
      once: true,
    }),
  );
  await input.uploadFile(file.path);
  await input.dispose();
  const event = await waitForEvent(b, 'p2p-share-link', since, timeout);
  const pickedAt = await b.page.evaluate(() => window.__bench.pickedAt);
  if (pickedAt === null) throw new Error(`${b.label}: the file pick was not recorded`);
  return { link: String(event.detail.link), preparedMs: event.at - pickedAt };
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
  /** The click and the completion on the wall clock, comparable across pages and processes. */
  clickWallMs: WallMs;
  completeWallMs: WallMs;
}

/** Clicks the widget's Download button and waits for `p2p-share-complete`. */
export async function widgetDownload(
  b: BenchBrowser,
  file: SourceFile,
  timeout: number,
): Promise<DownloadTiming> {
  const since = await eventCount(b);
  const { clickAt, origin } = await b.page.evaluate(() => {
    const button = document
      .querySelector('p2p-share')
      ?.shadowRoot?.querySelector<HTMLButtonElement>('[part~="download-button"]');
    if (!button) throw new Error('no Download button on screen');
    const at = performance.now();
    button.click();
    return { clickAt: at, origin: performance.timeOrigin };
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
    clickWallMs: origin + clickAt,
    completeWallMs: origin + complete.at,
  };
}

/**
 * Bytes a widget uploaded: the sharer's `uploaded` (every recipient together), or a finished
 * recipient's while it seeds (0 before it finished). The exact figure comes from the element's
 * session state (not public API: its controllers are private fields, whose names a minifier
 * keeps); the sharer's is checked against the "You uploaded …" line it renders, so a change in
 * either fails here instead of reporting a wrong figure.
 */
export async function widgetUploaded(b: BenchBrowser): Promise<number> {
  const got = await b.page.evaluate(() => {
    interface Controller {
      state: { phase: string; uploaded?: number; seeding?: { uploaded: number } };
    }
    const el = document.querySelector('p2p-share') as unknown as {
      sharer?: Controller;
      receiver?: Controller;
      shadowRoot: ShadowRoot | null;
    } | null;
    const link = location.hash.length > 1;
    const state = (link ? el?.receiver : el?.sharer)?.state;
    const shown = el?.shadowRoot?.querySelector('[part~="uploaded"]')?.textContent ?? null;
    return {
      link,
      phase: state?.phase ?? null,
      bytes: link ? (state?.seeding?.uploaded ?? 0) : state?.uploaded,
      shown,
    };
  });
  if (typeof got.bytes !== 'number') {
    throw new Error(
      `${b.label}: no upload figure in the widget's state (phase ${got.phase}); its controllers changed?`,
    );
  }
  if (!got.link) {
    // The widget's own formatting: decimal units, one decimal below 10, none from 10 up.
    const m = /You uploaded ([\d.]+) (bytes?|kB|MB|GB|TB)\b/.exec(got.shown ?? '');
    const units: Record<string, number> = {
      byte: 1,
      bytes: 1,
      kB: 1e3,
      MB: 1e6,
      GB: 1e9,
      TB: 1e12,
    };
    if (m && got.bytes > 0) {
      const value = Number(m[1]);
      const unit = units[m[2]!]!;
      const slack = (unit === 1 ? 0.5 : value < 10 ? 0.05 : 0.5) * unit + 1;
      if (Math.abs(value * unit - got.bytes) > slack) {
        throw new Error(
          `${b.label}: state says ${got.bytes} bytes uploaded, the widget shows "${m[0]}"`,
        );
      }
    } else if (got.bytes > 0) {
      throw new Error(
        `${b.label}: ${got.bytes} bytes uploaded but the widget shows "${got.shown}"`,
      );
    }
  }
  return got.bytes;
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
