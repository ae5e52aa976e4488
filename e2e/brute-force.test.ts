/**
 * Guessing a password through the widget. The service here allows three tries per room and per
 * address in a five-second window: the fourth guess gets `rate-limited`, the widget says how long
 * to wait and keeps Unlock disabled while it counts down, and once the window has passed the
 * right password still opens the share and the file arrives intact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRandomFile } from '../testing/files.js';
import { until } from '../testing/wait.js';
import { openLocked, shareWithPassword, submitPassword, unlockDisabled } from './lib/password.js';
import { eventCount, events } from './lib/recorder.js';
import { visibleText, waitForShownError, waitForText } from './lib/screen.js';
import { downloadAndVerify } from './lib/transfer.js';
import { useE2E } from './lib/world.js';

const TRIES = 3;
const WINDOW_MS = 5000;
const PASSWORD = 'plum-kestrel-9';

const env = useE2E({
  config: {
    passwordTriesPerRoom: TRIES,
    passwordTriesPerAddress: TRIES,
    rateWindowMs: WINDOW_MS,
  },
});

test(
  'guesses hit the limit, the widget shows the wait, and the right password works after it',
  { timeout: 120_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'vault.bin', 256 * 1024);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'guesser'),
    ]);
    const link = await shareWithPassword(sharer, file, PASSWORD);
    await openLocked(recipient, link);

    for (let i = 1; i <= TRIES; i++) {
      const since = await eventCount(recipient.page);
      await submitPassword(recipient, `guess-${i}`);
      const error = await waitForShownError(recipient.page, { since });
      assert.equal(
        error.detail.code,
        'bad-password',
        `guess ${i}: ${JSON.stringify(error.detail)}`,
      );
    }

    const since = await eventCount(recipient.page);
    const limitedAt = Date.now();
    await submitPassword(recipient, 'guess-4');
    const limited = await waitForShownError(recipient.page, { since });
    assert.equal(limited.detail.code, 'rate-limited', JSON.stringify(limited.detail));
    const { message, retryAfterMs } = limited.detail as { message: string; retryAfterMs: number };
    assert.ok(
      retryAfterMs > 0 && retryAfterMs <= WINDOW_MS,
      `the wait comes as data: ${JSON.stringify(limited.detail)}`,
    );
    const wait = Math.ceil(retryAfterMs / 1000);
    assert.ok(message.includes(`${wait} sec`), `the message says how long: ${message}`);
    await waitForText(recipient.page, /You can try again in (\d+ min )?\d+ sec\./);
    assert.equal(await unlockDisabled(recipient.page), true, 'Unlock is disabled while waiting');
    const before = (await events(recipient.page)).length;

    // Enter in the field does nothing while Unlock is disabled: no request, no new error. Had it
    // sent a try, the service's answer (rate-limited again) would be recorded before the answer
    // to the next try, which the service receives seconds later, once the wait is over.
    await submitPassword(recipient, PASSWORD);
    await until(async () => (await unlockDisabled(recipient.page)) === false, {
      timeout: limitedAt + wait * 1000 + 3000 - Date.now(),
      message: 'Unlock is enabled once the wait is over',
    });
    assert.ok(
      Date.now() - limitedAt >= (wait - 1) * 1000,
      `Unlock stayed disabled for the wait (${Date.now() - limitedAt} ms of ${wait} s)`,
    );
    await waitForText(recipient.page, 'You can try the password again.');
    assert.ok(!(await visibleText(recipient.page)).includes(file.name), 'still locked');

    await submitPassword(recipient, PASSWORD);
    await waitForText(recipient.page, file.name);
    assert.deepEqual((await events(recipient.page)).slice(before), [], 'no try while waiting');
    await downloadAndVerify(recipient, file);
  },
);
