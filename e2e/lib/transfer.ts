/**
 * A transfer through the widget's own UI: the sharer picks a file and gets a link, the recipient
 * opens it and clicks Download, and the file that lands on the recipient's disk is checked
 * against the source's SHA-256, as is the hash the widget reports.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ElementHandle } from 'puppeteer-core';
import { MiB, sha256File, type SourceFile } from '../../testing/files.js';
import { until } from '../../testing/wait.js';
import { gotoHost, type Peer } from './peer.js';
import { eventCount, waitForEvent, type P2PEventRecord } from './recorder.js';
import { clickButton, waitForText } from './screen.js';

/** The room a share link names (`#p2p=<roomId>.<key>`). */
export const roomOf = (link: string): string => /#p2p=([A-Za-z0-9_-]{22})\./.exec(link)![1]!;

/** Whether the service at `serviceUrl` says the room of `link` has its sharer online. */
export async function sharerOnline(serviceUrl: string, link: string): Promise<boolean> {
  const res = await fetch(new URL(`rooms/${roomOf(link)}`, serviceUrl));
  return res.ok && ((await res.json()) as { sharerOnline: boolean }).sharerOnline;
}

/**
 * Shares `file` from the sharer's page by picking it in the widget's own `<input type=file>`;
 * resolves to the link from `p2p-share-link`.
 */
export async function share(peer: Peer, file: SourceFile, timeout = 60_000): Promise<string> {
  const since = await eventCount(peer.page);
  const input = (await peer.page.waitForSelector('p2p-share >>> input[type=file]', {
    timeout: 15_000,
  })) as ElementHandle<HTMLInputElement>;
  await input.uploadFile(file.path);
  await input.dispose();
  const event = await waitForEvent(peer.page, 'p2p-share-link', { since, timeout });
  const link = event.detail.link;
  assert.equal(typeof link, 'string', 'p2p-share-link carries detail.link');
  return link as string;
}

/** Opens `link` in the recipient's page and waits until the file's name is on screen. */
export async function openLink(
  peer: Peer,
  link: string,
  file: Pick<SourceFile, 'name'>,
): Promise<void> {
  await gotoHost(peer.page, link);
  await waitForText(peer.page, file.name);
}

const PARTIAL = /\.(crdownload|part)$/;

/**
 * Resolves with the path once `dir/name` holds `size` bytes and the browser has no partial file
 * left in `dir` (Chromium's `.crdownload`, Firefox's `.part`).
 */
export async function waitForDownload(
  dir: string,
  name: string,
  size: number,
  timeout: number,
): Promise<string> {
  const file = path.join(dir, name);
  let seen: string[] = [];
  return until(
    async () => {
      seen = await readdir(dir).catch(() => []);
      if (!seen.includes(name) || seen.some((n) => PARTIAL.test(n))) return null;
      const st = await stat(file).catch(() => null);
      return st?.size === size ? file : null;
    },
    {
      timeout,
      message: () =>
        `no complete download of ${JSON.stringify(name)} (${size} B) in ${dir}; saw ${JSON.stringify(seen)}`,
    },
  );
}

export interface ReceiveResult {
  complete: P2PEventRecord;
  savedPath: string;
  seconds: number;
}

/**
 * Waits for the `p2p-share-complete` recorded at `since` or later and the file on disk, and checks
 * both against the source's SHA-256.
 */
export async function awaitSaved(
  peer: Peer,
  file: SourceFile,
  since: number,
  timeout: number,
): Promise<Omit<ReceiveResult, 'seconds'>> {
  const complete = await waitForEvent(peer.page, 'p2p-share-complete', { since, timeout });
  const savedPath = await waitForDownload(peer.downloadDir, file.name, file.size, 30_000);
  assert.equal(complete.detail.name, file.name, 'complete detail.name');
  assert.equal(complete.detail.size, file.size, 'complete detail.size');
  assert.equal(complete.detail.sha256, file.sha256, 'complete detail.sha256 is the source hash');
  assert.equal(
    await sha256File(savedPath),
    file.sha256,
    `the file ${peer.label} saved has the source hash`,
  );
  return { complete, savedPath };
}

/** Clicks Download on a recipient page that shows the file, then `awaitSaved`. */
export async function downloadAndVerify(
  peer: Peer,
  file: SourceFile,
  timeout = 120_000,
): Promise<ReceiveResult> {
  const since = await eventCount(peer.page);
  const started = Date.now();
  await clickButton(peer.page, /download/i);
  const saved = await awaitSaved(peer, file, since, timeout);
  return { ...saved, seconds: (Date.now() - started) / 1000 };
}

/** Opens the link, waits for the metadata, downloads and verifies. */
export async function receive(
  peer: Peer,
  link: string,
  file: SourceFile,
  timeout = 120_000,
): Promise<ReceiveResult> {
  await openLink(peer, link, file);
  return downloadAndVerify(peer, file, timeout);
}

/** A transfer rate for the log, in MiB/s. */
export function rate(bytes: number, seconds: number): string {
  return `${(bytes / MiB / Math.max(seconds, 0.001)).toFixed(1)} MiB/s`;
}

/** A random link secret part: 128 bits, base64url, as the link format has it. */
export function randomLinkId(): string {
  return randomBytes(16).toString('base64url');
}
