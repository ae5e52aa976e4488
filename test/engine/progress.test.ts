/**
 * How often a transfer reports progress, on both sides, against a real ShareSession, a real
 * ReceiveSession and the real signalling service (started by web-test-runner.config.mjs): at most
 * once per PROGRESS_MS per transfer, whatever the number of pieces, and always the end.
 */
import { expect } from '@open-wc/testing';
import { PROGRESS_MS } from '../../src/session/rate.js';
import type { ProgressDetail } from '../../src/session/types.js';
import { catchDownloads, MiB, PIECE, randomBytes, shareAndLoad, useService } from './helpers.js';

interface Seen extends ProgressDetail {
  at: number;
}

function record(target: EventTarget): Seen[] {
  const seen: Seen[] = [];
  target.addEventListener('progress', (e) => {
    seen.push({ ...(e as CustomEvent<ProgressDetail>).detail, at: performance.now() });
  });
  return seen;
}

describe('Progress reports', function () {
  this.timeout(60_000);
  const service = useService();

  it('come at most once per PROGRESS_MS on each side, and the last one is the whole file', async () => {
    const bytes = randomBytes(24 * MiB);
    const pieces = bytes.byteLength / PIECE;
    const downloads = catchDownloads();
    service.cleanup.push(downloads.stop);
    const { session, sharer } = await shareAndLoad(service, bytes, 'progress.bin');
    const sent = record(sharer);
    const received = record(session);
    const started = performance.now();
    await session.download();
    const took = performance.now() - started;
    // The sharer's `done` comes once the recipient said so: wait for it.
    const until = performance.now() + 5000;
    while (sent.at(-1)?.bytes !== bytes.byteLength && performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    for (const [side, seen] of [
      ['sharer', sent],
      ['recipient', received],
    ] as const) {
      expect(seen.at(-1)?.bytes, `${side}: the last report`).to.equal(bytes.byteLength);
      expect(
        seen.length,
        `${side}: reports for ${pieces} pieces in ${took.toFixed(0)} ms`,
      ).to.be.below(took / PROGRESS_MS + 4);
    }
    // Between the sharer's reports (but its last, the recipient's `done`), PROGRESS_MS at least.
    const spaced = sent.filter((e) => e.bytes < bytes.byteLength);
    for (let i = 1; i < spaced.length; i++) {
      expect(spaced[i]!.at - spaced[i - 1]!.at).to.be.at.least(PROGRESS_MS - 1);
    }
  });
});
