/**
 * What the recipient reads is what it saves, between real browsers: a file the sharer named with
 * a right-to-left override (`report\u202Efdp.exe`, which reads "report…exe.pdf") is shown by both
 * widgets, saved to the recipient's disk and reported by `p2p-share-complete` as
 * `reportfdp.exe`, with no override anywhere in the widget.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { makeFile } from '../testing/files.js';
import { downloadAndVerify, openLink, share } from './lib/transfer.js';
import { useE2E } from './lib/world.js';

const env = useE2E();

const SENT = 'report\u202Efdp.exe';
const SAVED = 'reportfdp.exe';

/** The name the widget shows, and every bidirectional control anywhere in its shadow tree. */
async function shown(page: Page): Promise<{ name: string; inBdi: string; controls: string[] }> {
  return page.evaluate(() => {
    const root = document.querySelector('p2p-share')!.shadowRoot!;
    const attributes = [...root.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].map((a) => a.value),
    );
    const all = [root.textContent ?? '', ...attributes].join('\n');
    return {
      name: root.querySelector('.file-name')?.textContent ?? '',
      inBdi: root.querySelector('.file-name bdi')?.textContent ?? '',
      controls: [...all.matchAll(/[\u061c\u200e\u200f\u202a-\u202e]/g)].map((m) => m[0]),
    };
  });
}

test('a name with a right-to-left override is shown, saved and reported as it is saved', async () => {
  const file = await makeFile(env.tmp, SENT, 'MZ not really a program\n');
  const [sharer, recipient] = await Promise.all([
    env.launch('chromium', 'sharer'),
    env.launch('chromium', 'recipient'),
  ]);
  const link = await share(sharer, file);
  assert.deepEqual(await shown(sharer.page), { name: SAVED, inBdi: SAVED, controls: [] });

  const saved = { ...file, name: SAVED };
  await openLink(recipient, link, saved);
  assert.deepEqual(await shown(recipient.page), { name: SAVED, inBdi: SAVED, controls: [] });
  // Checks detail.name and the file on disk (name and SHA-256) against the shown name.
  const { complete, savedPath } = await downloadAndVerify(recipient, saved);
  assert.equal(path.basename(savedPath), SAVED);
  assert.equal(complete.detail.name, SAVED);
  assert.equal(complete.detail.originalName, SENT);
  assert.deepEqual(await shown(recipient.page), { name: SAVED, inBdi: SAVED, controls: [] });
});
