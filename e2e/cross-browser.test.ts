/**
 * Chromium and Firefox interoperate: their data channels negotiate different maxMessageSize
 * values and their downloads land through different machinery, and the bytes must still match.
 */
import { test } from 'node:test';
import type { BrowserKind } from '../testing/browsers.js';
import { makeRandomFile, MiB } from '../testing/files.js';
import { rate, receive, share } from './lib/transfer.js';
import { log, useE2E } from './lib/world.js';

const env = useE2E();

const pairs: [BrowserKind, BrowserKind][] = [
  ['chromium', 'firefox'],
  ['firefox', 'chromium'],
];

for (const [from, to] of pairs) {
  test(`${from} to ${to}`, { timeout: 180_000 }, async () => {
    const file = await makeRandomFile(env.tmp, `${from}-to-${to}.bin`, 5 * MiB + 3);
    const [sharer, recipient] = await Promise.all([
      env.launch(from, 'sharer'),
      env.launch(to, 'recipient'),
    ]);
    const link = await share(sharer, file);
    const { seconds } = await receive(recipient, link, file, 120_000);
    log(`${from} → ${to}: ${rate(file.size, seconds)}`);
  });
}
