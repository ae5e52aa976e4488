/**
 * Chromium and Firefox interoperate: their data channels negotiate different maxMessageSize
 * values and their downloads land through different machinery, and the bytes must still match.
 */
import { after, afterEach, before, test } from 'node:test';
import {
  E2E,
  MiB,
  log,
  makeRandomFile,
  rate,
  receive,
  share,
  type BrowserKind,
} from './harness.js';

let env: E2E;
before(async () => {
  env = await E2E.start();
});
afterEach(() => env.closePeers());
after(() => env.close());

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
