/**
 * Outages on a real network path: the sharer and the recipient run in network namespaces of their
 * own, joined only through a third namespace where the test cuts the path mid-transfer, or the
 * service is made unreachable (testing/netns.ts). Each transfer is paced by the sharer's upload
 * limit so the fault lands mid-transfer; each ends with the file on disk hashing
 * as the source does, and no piece that had arrived whole (verified) arriving again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delay, until } from '../testing/wait.js';
import { MiB, useOutages, type Outage } from './lib/outage.js';
import { events } from './lib/recorder.js';
import { visibleText, waitForText } from './lib/screen.js';
import { awaitSaved, sharerOnline } from './lib/transfer.js';
import { log, useE2E } from './lib/world.js';

const env = useE2E();
const outage = useOutages(env);

/** The status line a widget shows while the service is out of reach. */
const OUTAGE = 'The sharing service is briefly unavailable';

const progress = (o: Outage) =>
  o.recipient.page.evaluate(() => window.__p2p.progress.last?.bytes ?? 0);

/** Cuts the path for `seconds` once 3 MiB of 12 arrived, then checks the whole file arrived. */
async function cutFor(seconds: number) {
  const o = await outage(`cut-${seconds}`, { size: 12 * MiB, uploadLimit: MiB, cutAfter: 3 * MiB });
  o.lab.cut(true);
  const cutAt = await progress(o);
  await delay(seconds * 1000);
  const during = await progress(o);
  o.lab.cut(false);
  log(
    `path cut ${seconds} s at ${(cutAt / MiB).toFixed(1)} MiB; ${(during / MiB).toFixed(1)} MiB at its end`,
  );
  assert.ok(during < o.file.size, 'the cut landed mid-transfer');
  await awaitSaved(o.recipient, o.file, o.since, 120_000);
  const pieces = await o.pieces();
  log(`pieces: ${JSON.stringify(pieces)}`);
  assert.equal(pieces.again, 0, 'no piece that had arrived whole was sent again');
  const errors = (await events(o.recipient.page)).filter((e) => e.type === 'p2p-share-error');
  assert.deepEqual(errors, [], 'the recipient went on without an error');
}

// Taking a link down is a network change to Chromium, which drops its WebSockets: both pages
// come back to the service under new peer ids while their connection survives the cut, and the
// recipient meets the sharer again as a new source (test/engine/new-peer-id.test.ts).
test('a 3 s cut of the path: the transfer goes on by itself', { timeout: 180_000 }, () =>
  cutFor(3),
);

test('a 12 s cut of the path: the transfer goes on by itself', { timeout: 180_000 }, () =>
  cutFor(12),
);

test('a 30 s cut: a new connection resumes where the transfer stopped', { timeout: 240_000 }, () =>
  cutFor(30),
);

test(
  'the service unreachable mid-transfer: the transfer goes on, the widget reconnects',
  { timeout: 180_000 },
  async () => {
    const o = await outage('signal', { size: 12 * MiB, uploadLimit: MiB, cutAfter: 2 * MiB });
    const online = () => sharerOnline(env.serviceUrl, o.link);
    assert.equal(await online(), true);
    o.lab.severService(true);
    await until(async () => !(await online()), {
      timeout: 30_000,
      message: 'the service never saw the sharer go',
    });
    // Both widgets say the service is out of reach, as a status, not an error.
    for (const peer of [o.sharer, o.recipient]) await waitForText(peer.page, OUTAGE, 30_000);
    // The transfer is peer-to-peer: it ends while the service is out of reach.
    await awaitSaved(o.recipient, o.file, o.since, 120_000);
    // Longer than five reconnection attempts 1–5 s apart: the widget never gives up.
    await delay(25_000);
    o.lab.severService(false);
    await until(online, {
      timeout: 60_000,
      interval: 250,
      message: 'the sharer never reconnected to the service',
    });
    await until(async () => !(await visibleText(o.sharer.page)).includes(OUTAGE), {
      timeout: 30_000,
      message: 'the sharer still says the service is out of reach',
    });
    assert.equal((await o.pieces()).again, 0);
    for (const peer of [o.sharer, o.recipient]) {
      const errors = (await events(peer.page)).filter((e) => e.type === 'p2p-share-error');
      assert.deepEqual(errors, [], `${peer.label} saw no error`);
    }
  },
);

test(
  '5 % loss and 100 ms each way on the path: the transfer completes',
  { timeout: 300_000 },
  async () => {
    const conditions = { loss: 5, delayMs: 100 };
    const o = await outage('lossy', {
      size: 1.25 * MiB,
      uploadLimit: 64 * MiB,
      cutAfter: 256 * 1024,
      path: conditions,
    });
    const started = Date.now();
    // The conditions are on the connection's path: its round trip carries both directions' delay.
    const rtts = await o.roundTrips();
    assert.ok(rtts.length > 0, 'the recipient has a connected link');
    assert.ok(
      rtts.every((ms) => ms >= 0.95 * 2 * conditions.delayMs),
      `round trips ${rtts.join(', ')} ms carry the path's delay`,
    );
    await awaitSaved(o.recipient, o.file, o.since, 240_000);
    const seconds = (Date.now() - started) / 1000;
    const { accepted, dropped } = o.lab.shaped;
    const lost = (100 * dropped) / (accepted + dropped);
    log(
      `${((o.file.size - 256 * 1024) / MiB).toFixed(2)} MiB in ${seconds.toFixed(1)} s over ` +
        `${conditions.loss} % loss and ${2 * conditions.delayMs} ms more round trip; ` +
        `${dropped} of ${accepted + dropped} packets dropped (${lost.toFixed(1)} %), ` +
        `round trips ${rtts.map((ms) => ms.toFixed(0)).join(', ')} ms`,
    );
    assert.ok(accepted + dropped > 1000, 'the transfer crossed the shaped path');
    assert.ok(lost > 3 && lost < 7, `the path lost ${lost.toFixed(1)} % of packets`);
    assert.equal((await o.pieces()).again, 0, 'no piece that had arrived whole was sent again');
    const errors = (await events(o.recipient.page)).filter((e) => e.type === 'p2p-share-error');
    assert.deepEqual(errors, [], 'the recipient went on without an error');
  },
);
