/**
 * A hostile signalling service. Envelopes are sealed end to end under the link key and bound to
 * their two endpoints, so a relay that alters one, or hands one conversation's envelopes to
 * another, gets a recipient that refuses before any byte of the file flows, and says why.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RelayHook } from '../server/signalling.js';
import { makeRandomFile, MiB } from '../testing/files.js';
import { withTimeout } from '../testing/wait.js';
import { eventCount } from './lib/recorder.js';
import { assertSharerMadeNothing } from './lib/page-peers.js';
import { clickButton } from './lib/screen.js';
import { alteringHook, assertRefusedAsTampered } from './lib/tampering.js';
import { openLink, share } from './lib/transfer.js';
import { useE2E } from './lib/world.js';

/**
 * Delivers what the sharer sends to one recipient to the other recipient instead. The recipients
 * offer first, so the first envelope names the sharer; the sharer's envelopes are held until both
 * recipients have written, so that each has a conversation to be confused with.
 */
function swappingHook(count: { swapped: number }): RelayHook {
  let sharer: string | null = null;
  const recipients: string[] = [];
  let bothKnown!: () => void;
  const ready = new Promise<void>((resolve) => (bothKnown = resolve));
  return async ({ from, to, envelope }) => {
    sharer ??= to;
    if (to === sharer) {
      if (!recipients.includes(from) && recipients.push(from) === 2) bothKnown();
      return { to, envelope };
    }
    // Held at most 30 s: without a second recipient there is nobody to swap with, and the
    // envelope is dropped below.
    await withTimeout(ready, 30_000, 'the second recipient never wrote').catch(() => {});
    const other = recipients.find((r) => r !== to);
    if (other === undefined) return null;
    count.swapped += 1;
    return { to: other, envelope };
  };
}

let hook: RelayHook = ({ to, envelope }) => ({ to, envelope });
const env = useE2E({ relayHook: (msg) => hook(msg) });

for (const [what, onlyToRecipients] of [
  ['each envelope', false],
  ["each of the sharer's envelopes", true],
] as const) {
  test(
    `a relay that alters a byte of ${what} is refused as tampered`,
    { timeout: 120_000 },
    async () => {
      const count = { altered: 0 };
      hook = alteringHook(count, onlyToRecipients);
      const file = await makeRandomFile(env.tmp, 'altered.bin', 2 * MiB);
      const [sharer, recipient] = await Promise.all([
        env.launch('chromium', 'sharer'),
        env.launch('chromium', 'recipient'),
      ]);
      const link = await share(sharer, file);
      await openLink(recipient, link, file);
      const since = await eventCount(recipient.page);
      const sharerSince = await eventCount(sharer.page);
      await clickButton(recipient.page, /download/i);
      await assertRefusedAsTampered(recipient, since);
      if (!onlyToRecipients) await assertSharerMadeNothing(sharer, sharerSince);
      assert.ok(count.altered > 0, 'the relay altered envelopes');
    },
  );
}

test(
  'a relay that swaps envelopes between two recipients is refused as tampered',
  { timeout: 120_000 },
  async () => {
    const count = { swapped: 0 };
    hook = swappingHook(count);
    const file = await makeRandomFile(env.tmp, 'swapped.bin', 2 * MiB);
    const [sharer, a, b] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'recipient-a'),
      env.launch('chromium', 'recipient-b'),
    ]);
    const link = await share(sharer, file);
    await Promise.all([openLink(a, link, file), openLink(b, link, file)]);
    const since = await Promise.all([eventCount(a.page), eventCount(b.page)]);
    await Promise.all([clickButton(a.page, /download/i), clickButton(b.page, /download/i)]);
    await Promise.all([assertRefusedAsTampered(a, since[0]), assertRefusedAsTampered(b, since[1])]);
    assert.ok(count.swapped > 0, 'the relay swapped envelopes');
  },
);
