/**
 * What the host page's recorder (fixtures/recorder.js) kept: the widget's events in order,
 * its progress, and CSP violations; and waits on them. An event index (`eventCount`) taken
 * before an action, passed as `since`, waits for what that action caused.
 */
import type { Page } from 'puppeteer-core';

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
