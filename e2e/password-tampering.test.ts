/**
 * The tampering relay on a password share. Giving the password only unlocks the room; the
 * envelopes are still sealed end to end under keys from the link key and the password, so a relay
 * that alters them gets refused by both peers as `tampered`, before any byte of the file flows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RelayHook } from '../server/signalling.js';
import { makeRandomFile } from '../testing/files.js';
import { openLocked, shareWithPassword, submitPassword } from './lib/password.js';
import { eventCount } from './lib/recorder.js';
import { assertSharerMadeNothing } from './lib/page-peers.js';
import { clickButton, waitForText } from './lib/screen.js';
import { alteringHook, assertRefusedAsTampered } from './lib/tampering.js';
import { useE2E } from './lib/world.js';

const PASSWORD = 'violet-heron-17';

let hook: RelayHook = ({ to, envelope }) => ({ to, envelope });
const env = useE2E({ relayHook: (msg) => hook(msg) });

test(
  'a relay that alters the envelopes of a password share is refused as tampered',
  { timeout: 120_000 },
  async () => {
    const count = { altered: 0 };
    hook = alteringHook(count);
    const file = await makeRandomFile(env.tmp, 'sealed.bin', 512 * 1024);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'recipient'),
    ]);
    const link = await shareWithPassword(sharer, file, PASSWORD);
    await openLocked(recipient, link);
    await submitPassword(recipient, PASSWORD);
    await waitForText(recipient.page, file.name);

    const since = await eventCount(recipient.page);
    const sharerSince = await eventCount(sharer.page);
    await clickButton(recipient.page, /download/i);
    await assertRefusedAsTampered(recipient, since);
    await assertSharerMadeNothing(sharer, sharerSince);
    assert.ok(count.altered > 0, 'the relay altered envelopes');
  },
);
