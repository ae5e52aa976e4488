/**
 * What a recipient sees when things go wrong outside its control: a link to a room that does not
 * exist, a sharer whose tab closes mid-transfer, a sharer who stops sharing.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import {
  E2E,
  MiB,
  clickButton,
  eventCount,
  gotoHost,
  log,
  makeRandomFile,
  openLink,
  randomLinkId,
  share,
  waitForButton,
  waitForProgress,
  waitForShownError,
} from './harness.js';

let env: E2E;
before(async () => {
  env = await E2E.start();
});
afterEach(() => env.closePeers());
after(() => env.close());

/** The sharer's upload limit where a test must act before the transfer ends (16 s for 64 MiB). */
const SLOW_UPLINK = 4 * MiB;

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
    const file = await makeRandomFile(env.tmp, 'vanish.bin', 64 * MiB);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer', env.hostUrl({ uploadLimit: SLOW_UPLINK })),
      env.launch('chromium', 'recipient'),
    ]);
    const link = await share(sharer, file);
    await openLink(recipient, link, file);
    await clickButton(recipient.page, /download/i);
    await waitForProgress(recipient.page, 2 * MiB);
    const since = await eventCount(recipient.page);

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
    const file = await makeRandomFile(env.tmp, 'stop.bin', 64 * MiB);
    const [sharer, recipient] = await Promise.all([
      // Slow enough that the stop lands mid-transfer: on an idle machine the whole file can
      // otherwise arrive before the click on Stop does.
      env.launch('chromium', 'sharer', env.hostUrl({ uploadLimit: SLOW_UPLINK })),
      env.launch('chromium', 'recipient'),
    ]);
    const link = await share(sharer, file);
    await openLink(recipient, link, file);
    await clickButton(recipient.page, /download/i);
    await waitForProgress(recipient.page, 2 * MiB);
    const since = await eventCount(recipient.page);

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
