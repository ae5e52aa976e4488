/**
 * What a page holds: its live RTCPeerConnections (counted by a wrapper installed ahead of the
 * page's own scripts) and its JS heap after a forced garbage collection (through CDP).
 */
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import type { Peer } from './peer.js';
import { events } from './recorder.js';

/**
 * Wraps RTCPeerConnection in every document `page` opens from now on: a connection counts as
 * live from its construction until `close()` or its state turns `closed`.
 */
export async function countPeerConnections(page: Page): Promise<void> {
  // A string, not a function: the test runner's transform would add helpers the page lacks.
  await page.evaluateOnNewDocument(`(() => {
    const Native = window.RTCPeerConnection;
    if (!Native) return;
    const counts = { made: 0, closed: 0 };
    Object.defineProperty(window, '__peerConnections', { value: counts });
    window.RTCPeerConnection = class extends Native {
      #ended = false;
      constructor(config) {
        super(config);
        counts.made++;
        this.addEventListener('connectionstatechange', () => {
          if (this.connectionState === 'closed') this.#end();
        });
      }
      close() {
        this.#end();
        super.close();
      }
      #end() {
        if (this.#ended) return;
        this.#ended = true;
        counts.closed++;
      }
    };
  })();`);
}

/** Connections the page made and closed so far (see `countPeerConnections`). */
export async function peerConnections(page: Page): Promise<{ made: number; live: number }> {
  return page.evaluate(() => {
    const counts = (window as unknown as { __peerConnections?: { made: number; closed: number } })
      .__peerConnections;
    if (!counts) throw new Error('RTCPeerConnection is not counted in this page');
    return { made: counts.made, live: counts.made - counts.closed };
  });
}

/** The page's JS heap in use after a forced garbage collection, in bytes. */
export async function heapAfterGc(page: Page): Promise<number> {
  const session = await page.createCDPSession();
  try {
    await session.send('HeapProfiler.collectGarbage');
    const usage = await session.send('Runtime.getHeapUsage');
    return usage.usedSize;
  } finally {
    await session.detach().catch(() => {});
  }
}

/** The number of recipient rows the page's widget shows. */
export async function shownRows(page: Page): Promise<number> {
  return page.evaluate(
    () => document.querySelector('p2p-share')?.shadowRoot?.querySelectorAll('li.peer').length ?? 0,
  );
}

/**
 * A sharer that could open none of a recipient's envelopes (a relay altered them) made nothing
 * for it: no row in its list, no failure reported since event index `since`.
 */
export async function assertSharerMadeNothing(sharer: Peer, since: number): Promise<void> {
  assert.equal(await shownRows(sharer.page), 0, 'the sharer lists no recipient');
  const failures = (await events(sharer.page))
    .slice(since)
    .filter((e) => e.type === 'p2p-share-error');
  assert.deepEqual(failures, [], 'the sharer reports no failed recipient');
}
