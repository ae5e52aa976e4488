/**
 * Password shares through the widget's UI: the sharer sets one before sharing, the recipient's
 * widget asks for it and keeps Unlock disabled while the service makes it wait.
 */
import type { ElementHandle, Page } from 'puppeteer-core';
import type { SourceFile } from '../../testing/files.js';
import { gotoHost, type Peer } from './peer.js';
import { waitForText } from './screen.js';
import { share } from './transfer.js';

/** Types `password` into the sharer's "Password (optional)" field, then shares `file` as `share`. */
export async function shareWithPassword(
  peer: Peer,
  file: SourceFile,
  password: string,
  timeout = 60_000,
): Promise<string> {
  const field = (await peer.page.waitForSelector('p2p-share >>> #share-password', {
    timeout: 15_000,
  })) as ElementHandle<HTMLInputElement>;
  await field.type(password);
  await field.dispose();
  return share(peer, file, timeout);
}

const LOCKED_TEXT = 'This file is protected by a password.';

/** Opens a link to a password share and waits until the widget asks for the password. */
export async function openLocked(peer: Peer, link: string): Promise<void> {
  await gotoHost(peer.page, link);
  await waitForText(peer.page, LOCKED_TEXT);
}

/** Types `password` over whatever the unlock field holds and presses Enter, as a person would. */
export async function submitPassword(peer: Peer, password: string): Promise<void> {
  const field = (await peer.page.waitForSelector('p2p-share >>> #unlock-password', {
    timeout: 15_000,
  })) as ElementHandle<HTMLInputElement>;
  await field.evaluate((input) => input.select());
  await field.type(password);
  await field.press('Enter');
  await field.dispose();
}

/** Whether the widget's Unlock button is disabled right now (null when there is none). */
export async function unlockDisabled(page: Page): Promise<boolean | null> {
  const button = await page.$('p2p-share >>> [part~="unlock-button"]');
  if (!button) return null;
  const disabled = await button.evaluate((b) => (b as HTMLButtonElement).disabled);
  await button.dispose();
  return disabled;
}
