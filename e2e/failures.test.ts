/**
 * What a recipient sees when things go wrong outside its control: a link to a room that does not
 * exist, a sharer whose tab closes mid-transfer, a sharer who stops sharing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRandomFile, MiB } from '../testing/files.js';
import { gotoHost } from './lib/peer.js';
import { eventCount, waitForProgress } from './lib/recorder.js';
import { clickButton, waitForButton, waitForShownError } from './lib/screen.js';
import { openLink, randomLinkId, share } from './lib/transfer.js';
import { log, useE2E } from './lib/world.js';

const env = useE2E();

/** The sharer's upload limit where a test must act before the transfer ends (16 s for 64 MiB). */
const SLOW_UPLINK = 4 * MiB;

/**
 * A 64 MiB transfer from a slow sharer, 2 MiB in: slow enough that what the test does next lands
 * mid-transfer (on an idle machine the whole file could otherwise arrive first). `since` is the
 * recipient's event index at that point.
 */
async function midTransfer(name: string) {
  const file = await makeRandomFile(env.tmp, name, 64 * MiB);
  const [sharer, recipient] = await Promise.all([
    env.launch('chromium', 'sharer', env.hostUrl({ uploadLimit: SLOW_UPLINK })),
    env.launch('chromium', 'recipient'),
  ]);
  const link = await share(sharer, file);
  await openLink(recipient, link, file);
  await clickButton(recipient.page, /download/i);
  await waitForProgress(recipient.page, 2 * MiB);
  return { sharer, recipient, link, since: await eventCount(recipient.page) };
}

test('a link to a room that does not exist says room-not-found', { timeout: 60_000 }, async () => {
  const recipient = await env.launch('chromium', 'recipient');
  await gotoHost(recipient.page, `${env.hostUrl()}#p2p=${randomLinkId()}.${randomLinkId()}`);
  const error = await waitForShownError(recipient.page);
  assert.equal(error.detail.code, 'room-not-found');
});

test(
  'the sharer closing its tab mid-transfer is noticed as peer-vanished, with a retry',
  { timeout: 180_000 },
  async () => {
    const { sharer, recipient, since } = await midTransfer('vanish.bin');

    const closedAt = Date.now();
    await sharer.page.close({ runBeforeUnload: false });
    const error = await waitForShownError(recipient.page, { since, timeout: 30_000 });
    const noticedIn = (error.at - closedAt) / 1000;
    log(`peer-vanished noticed ${noticedIn.toFixed(1)} s after the sharer's tab closed`);
    assert.equal(error.detail.code, 'peer-vanished');
    assert.ok(noticedIn <= 15, `noticed within 15 s (took ${noticedIn.toFixed(1)} s)`);
    await waitForButton(recipient.page, /retry|try again|resume/i);
  },
);

test(
  'the sharer stopping mid-transfer ends the recipient with room-closed or no-sources',
  { timeout: 180_000 },
  async () => {
    const { sharer, recipient, link, since } = await midTransfer('stop.bin');

    await clickButton(sharer.page, /stop/i);
    const error = await waitForShownError(recipient.page, { since, timeout: 30_000 });
    assert.ok(
      ['room-closed', 'no-sources'].includes(error.detail.code as string),
      `recipient error code was ${String(error.detail.code)}`,
    );

    // The room is gone for good: opening the link afresh says so.
    await gotoHost(recipient.page, link);
    const later = await waitForShownError(recipient.page);
    assert.equal(later.detail.code, 'room-not-found');
  },
);
