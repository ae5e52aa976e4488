/**
 * Received bytes go to disk as they arrive: a 256 MiB file must pass through a Chromium recipient
 * whose page heap stays under 64 MiB the whole time, sampled every 200 ms during the transfer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRandomFile, MiB } from '../testing/files.js';
import { sampleHeap } from './lib/heap.js';
import { downloadAndVerify, openLink, rate, share } from './lib/transfer.js';
import { log, useE2E } from './lib/world.js';

const env = useE2E();

test(
  'a 256 MiB file into Chromium keeps the recipient heap under 64 MiB',
  { timeout: 420_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'big-256.bin', 256 * MiB);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'recipient'),
    ]);
    const link = await share(sharer, file, 120_000);
    await openLink(recipient, link, file);

    const sampler = await sampleHeap(recipient.page, 200);
    let peak;
    let seconds;
    try {
      ({ seconds } = await downloadAndVerify(recipient, file, 360_000));
    } finally {
      peak = await sampler.stop();
    }
    const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
    log(
      `256 MiB in ${seconds?.toFixed(1)} s (${rate(file.size, seconds ?? 0)}); recipient heap peak ` +
        `${mib(peak.used)} (${mib(peak.usedWithBuffers)} with ArrayBuffers, workers ${mib(peak.worker)}) over ${peak.samples} samples; by quarter ${peak.quarters.map(mib).join(', ')}; ${mib(peak.retained)} after GC`,
    );
    assert.ok(peak.samples >= 10, `sampled the heap during the transfer (${peak.samples} samples)`);
    assert.ok(peak.used < 64 * MiB, `recipient JS heap peaked at ${mib(peak.used)}`);
    // ArrayBuffers live outside the JS heap, so the heap alone would not see a widget that kept the
    // file in memory: bound them too. Garbage ArrayBuffers wait for V8's external-memory GC, so the
    // peak may pass 64 MiB; half the file may not, and after a GC nothing of the file may be left.
    assert.ok(
      peak.usedWithBuffers < 128 * MiB,
      `recipient heap with ArrayBuffers peaked at ${mib(peak.usedWithBuffers)}`,
    );
    assert.ok(peak.retained < 32 * MiB, `recipient keeps ${mib(peak.retained)} after a GC`);
  },
);
