/**
 * A sleeping laptop and a clock that jumps. A page frozen through CDP (`Page.setWebLifecycleState`,
 * what Chromium does to a page in a suspended or discarded-soon tab) runs no script at all: it
 * answers no ping and sends no piece. The other side's link falls silent and is made again once
 * the frozen page runs; the transfer resumes with what was already verified. A wall clock that
 * jumps by hours moves nothing: links time themselves on `performance.now()`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { makeRandomFile, MiB } from '../testing/files.js';
import { delay, until } from '../testing/wait.js';
import { events, eventCount, waitForEvent, waitForProgress } from './lib/recorder.js';
import { clickButton, waitForText } from './lib/screen.js';
import { awaitSaved, openLink, share, sharerOnline } from './lib/transfer.js';
import { log, useE2E } from './lib/world.js';

const env = useE2E();

/** Freezes `page` (no task of its runs) for `ms`, then lets it run again. */
async function freezeFor(page: Page, ms: number): Promise<void> {
  const cdp = await page.createCDPSession();
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  await delay(ms);
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  await cdp.detach();
}

/** Shifts the page's wall clock (`Date`) by `ms` from now on; `performance.now()` is untouched. */
const JUMP_CLOCK = (ms: number) => `(() => {
  const RealDate = Date;
  const shift = ${ms};
  class Shifted extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + shift);
      else super(...args);
    }
    static now() {
      return RealDate.now() + shift;
    }
  }
  globalThis.Date = Shifted;
})()`;

/**
 * The recipient frozen: the sharer's link to it falls silent and ends; once the recipient runs
 * again its link is made again and the transfer resumes by itself. The sharer frozen: a frozen
 * page goes the back-forward cache's way, its WebSocket closed, so the service no longer knows
 * it; the recipient's link falls silent, its one more attempt finds the sharer gone, and it says
 * so ("The other browser stopped responding") with Retry. Once the sharer runs again (and is back
 * at the service), Retry resumes from the verified pieces, and the file ends whole.
 */
for (const side of ['sharer', 'recipient'] as const) {
  test(
    `the ${side}'s page frozen for 12 s mid-transfer: the transfer ends whole`,
    {
      timeout: 180_000,
    },
    async () => {
      const file = await makeRandomFile(env.tmp, `frozen-${side}.bin`, 8 * MiB + 99);
      const [sharer, recipient] = await Promise.all([
        env.launch('chromium', 'sharer', env.hostUrl({ uploadLimit: MiB })),
        env.launch('chromium', 'recipient'),
      ]);
      const link = await share(sharer, file);
      await openLink(recipient, link, file);
      const since = await eventCount(recipient.page);
      await clickButton(recipient.page, /download/i);
      await waitForProgress(recipient.page, 2 * MiB, 60_000);
      await freezeFor((side === 'sharer' ? sharer : recipient).page, 12_000);
      log(`the ${side}'s page ran again after 12 s frozen`);
      if (side === 'recipient') {
        await awaitSaved(recipient, file, since, 120_000);
        const errors = (await events(recipient.page)).filter((e) => e.type === 'p2p-share-error');
        assert.deepEqual(errors, [], 'the recipient went on without an error');
        return;
      }
      const error = await waitForEvent(recipient.page, 'p2p-share-error', {
        since,
        timeout: 60_000,
      });
      assert.equal(error.detail.code, 'peer-vanished');
      await waitForText(recipient.page, 'The other browser stopped responding', 10_000);
      // As a user would try again later: once the sharer is back at the service.
      await until(() => sharerOnline(env.serviceUrl, link), {
        timeout: 30_000,
        interval: 250,
        message: 'the sharer never came back to the service',
      });
      const again = await eventCount(recipient.page);
      await recipient.page.evaluate(() => (window.__p2p.progress.min = null));
      await clickButton(recipient.page, /retry/i, 30_000);
      await awaitSaved(recipient, file, again, 120_000);
      // The retry went on from what was verified, not from the start.
      const resumedAt = await recipient.page.evaluate(() => window.__p2p.progress.min ?? 0);
      log(`Retry resumed at ${(resumedAt / MiB).toFixed(1)} MiB`);
      assert.ok(resumedAt >= 2 * MiB, `the retry kept the verified pieces (from ${resumedAt})`);
    },
  );
}

test(
  'wall clocks hours apart, jumping mid-transfer: the transfer is not disturbed',
  {
    timeout: 120_000,
  },
  async () => {
    const file = await makeRandomFile(env.tmp, 'clock-jump.bin', 6 * MiB + 7);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer', env.hostUrl({ uploadLimit: 2 * MiB })),
      env.launch('chromium', 'recipient'),
    ]);
    // The recipient's clock runs three hours behind the sharer's from the start.
    await recipient.page.evaluateOnNewDocument(JUMP_CLOCK(-3 * 3600_000));
    const link = await share(sharer, file);
    await openLink(recipient, link, file);
    const since = await eventCount(recipient.page);
    await clickButton(recipient.page, /download/i);
    await waitForProgress(recipient.page, MiB, 60_000);
    // Mid-transfer the sharer's clock jumps a day ahead.
    await sharer.page.evaluate(JUMP_CLOCK(24 * 3600_000));
    const saved = await awaitSaved(recipient, file, since, 60_000);
    assert.equal(saved.complete.detail.size, file.size);
    for (const peer of [sharer, recipient]) {
      const errors = (await events(peer.page)).filter((e) => e.type === 'p2p-share-error');
      assert.deepEqual(errors, [], `${peer.label} saw no error`);
    }
  },
);
