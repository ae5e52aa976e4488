/**
 * Chromium to Chromium transfers through the widget's UI, each peer its own browser process: the
 * saved file on the recipient's disk must have the source's SHA-256, and so must the hash the
 * widget reports in `p2p-share-complete`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../server/log.js';
import { createService } from '../server/service.js';
import { makeRandomFile, MiB } from '../testing/files.js';
import { eventCount, events, waitForProgress } from './lib/recorder.js';
import { clickButton } from './lib/screen.js';
import {
  awaitSaved,
  downloadAndVerify,
  openLink,
  rate,
  receive,
  roomOf,
  share,
} from './lib/transfer.js';
import { log, useE2E } from './lib/world.js';

const env = useE2E();

test('a 64 MiB random file, Chromium to Chromium', { timeout: 240_000 }, async () => {
  const file = await makeRandomFile(env.tmp, 'random-64.bin', 64 * MiB);
  const [sharer, recipient] = await Promise.all([
    env.launch('chromium', 'sharer'),
    env.launch('chromium', 'recipient'),
  ]);
  const link = await share(sharer, file);
  assert.ok(link.startsWith(`${env.hostOrigin}/`), `the link is on the host page: ${link}`);
  assert.match(link, /#p2p=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
  const { seconds } = await receive(recipient, link, file, 200_000);
  log(`64 MiB in ${seconds.toFixed(1)} s (${rate(file.size, seconds)})`);
});

test('a 0-byte file', { timeout: 90_000 }, async () => {
  const file = await makeRandomFile(env.tmp, 'empty.txt', 0);
  const [sharer, recipient] = await Promise.all([
    env.launch('chromium', 'sharer'),
    env.launch('chromium', 'recipient'),
  ]);
  const link = await share(sharer, file);
  await receive(recipient, link, file, 60_000);
});

test(
  'a file with a non-ASCII name keeps its name on screen and on disk',
  { timeout: 90_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'résumé – 東京 📄.bin', 300 * 1024 + 7);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'recipient'),
    ]);
    const link = await share(sharer, file);
    // openLink waits for the exact name on screen; waitForDownload for the exact name on disk.
    await receive(recipient, link, file, 60_000);
  },
);

test('three recipients at once from one sharer', { timeout: 240_000 }, async () => {
  const file = await makeRandomFile(env.tmp, 'three.bin', 12 * MiB + 12_345);
  const [sharer, ...recipients] = await Promise.all([
    env.launch('chromium', 'sharer'),
    env.launch('chromium', 'recipient-1'),
    env.launch('chromium', 'recipient-2'),
    env.launch('chromium', 'recipient-3'),
  ]);
  const link = await share(sharer!, file);
  await Promise.all(recipients.map((r) => openLink(r, link, file)));
  // Clicked together, so the three transfers overlap on the sharer's side.
  // Each download is verified on disk against the source (downloadAndVerify).
  const results = await Promise.all(recipients.map((r) => downloadAndVerify(r, file, 200_000)));
  log(`three recipients: ${results.map((r) => `${r.seconds.toFixed(1)} s`).join(', ')}`);
});

test(
  'a recipient cancels mid-transfer, retries, and still gets the exact file',
  { timeout: 240_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'cancel-retry.bin', 48 * MiB);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'recipient'),
    ]);
    const link = await share(sharer, file);
    await openLink(recipient, link, file);

    const before = await eventCount(recipient.page);
    await clickButton(recipient.page, /download/i);
    await waitForProgress(recipient.page, 4 * MiB);
    await clickButton(recipient.page, /cancel/i);
    // A cancel is the user's own doing: the widget may report it (`cancelled`), but nothing else
    // (no completion either: the transfer stopped).
    const afterCancel = (await events(recipient.page)).slice(before);
    for (const e of afterCancel) {
      assert.equal(e.type, 'p2p-share-error', `unexpected ${e.type} after cancel`);
      assert.equal(e.detail.code, 'cancelled');
    }

    // What was verified before the cancel stays: the resumed download never reports less.
    const kept = await recipient.page.evaluate(() => {
      const bytes = window.__p2p.progress.last?.bytes ?? 0;
      window.__p2p.progress.min = null;
      return bytes;
    });
    assert.ok(kept >= 4 * MiB, `progress before the cancel (${kept} bytes)`);
    const since = await eventCount(recipient.page);
    await clickButton(recipient.page, /download|retry|resume|try again/i);
    await awaitSaved(recipient, file, since, 200_000);
    const resumedFrom = await recipient.page.evaluate(() => window.__p2p.progress.min);
    assert.ok(
      resumedFrom !== null && resumedFrom >= kept,
      `the retry resumed from ${resumedFrom} bytes, not from the ${kept} already verified`,
    );
  },
);

test(
  'the server attribute points the widget at another service than its script',
  { timeout: 90_000 },
  async () => {
    const other = createService({ logger: createLogger({ level: 'warn' }) });
    try {
      const { port } = await other.listen(0, '127.0.0.1');
      const otherUrl = `http://127.0.0.1:${port}/`;
      const file = await makeRandomFile(env.tmp, 'elsewhere.bin', 1 * MiB + 1);
      const page = env.hostUrl({ server: otherUrl });
      const [sharer, recipient] = await Promise.all([
        env.launch('chromium', 'sharer', page),
        env.launch('chromium', 'recipient', page),
      ]);
      const link = await share(sharer, file);
      const roomId = roomOf(link);
      assert.equal((await fetch(new URL(`rooms/${roomId}`, otherUrl))).status, 200);
      assert.equal((await fetch(new URL(`rooms/${roomId}`, env.serviceUrl))).status, 404);
      await receive(recipient, link, file, 60_000);
    } finally {
      await env.closePeers();
      await other.close();
    }
  },
);
