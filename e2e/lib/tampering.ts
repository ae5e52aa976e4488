/**
 * A hostile relay: a service hook that alters the envelopes it passes on, and the check that a
 * recipient refused what it got as tampered, before any byte of the file flowed.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import type { RelayHook } from '../../server/signalling.js';
import type { Peer } from './peer.js';
import { events } from './recorder.js';
import { waitForShownError } from './screen.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Flips one character in the middle of the envelope (never the last, whose low bits may be padding). */
function alterOne(envelope: string): string {
  const at = Math.floor(envelope.length / 2);
  const next = B64URL[(B64URL.indexOf(envelope[at]!) + 1) % B64URL.length]!;
  return envelope.slice(0, at) + next + envelope.slice(at + 1);
}

/**
 * Alters one byte of every envelope it relays (or, with `onlyToRecipients`, of those the sharer
 * sends: the recipients offer first, so the first envelope names the sharer) and counts them.
 */
export function alteringHook(count: { altered: number }, onlyToRecipients = false): RelayHook {
  let sharer: string | null = null;
  return ({ to, envelope }) => {
    sharer ??= to;
    if (onlyToRecipients && to === sharer) return { to, envelope };
    count.altered += 1;
    return { to, envelope: alterOne(envelope) };
  };
}

/**
 * Asserts that `recipient` reported and showed `tampered` (after event index `since`), completed
 * nothing, received no byte of the file and saved nothing.
 */
export async function assertRefusedAsTampered(recipient: Peer, since: number): Promise<void> {
  const error = await waitForShownError(recipient.page, { since, timeout: 60_000 });
  assert.equal(
    error.detail.code,
    'tampered',
    `${recipient.label}: ${JSON.stringify(error.detail)}`,
  );
  const recorded = (await events(recipient.page)).slice(since);
  assert.ok(!recorded.some((e) => e.type === 'p2p-share-complete'), 'no file was completed');
  const progress = await recipient.page.evaluate(() => window.__p2p.progress.last?.bytes ?? 0);
  assert.equal(progress, 0, `${recipient.label} received no file bytes`);
  assert.deepEqual(await readdir(recipient.downloadDir), [], 'nothing was saved');
}
