/**
 * What the outage tests share: a sharer and a recipient in the namespaces of a `NetLab`, a paced
 * transfer between them, and a log of the piece frames the recipient's data channels delivered,
 * from which a test tells whether a piece that had arrived whole (and so was verified) came again.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach } from 'node:test';
import { CHROME_PATH } from '../../testing/browser-options.js';
import { closeBrowser, echoConsole, launchBrowser } from '../../testing/browsers.js';
import { makeRandomFile, MiB, type SourceFile } from '../../testing/files.js';
import { NetLab, requireNetns } from '../../testing/netns.js';
import { countPieces, type Frame, type PieceCount } from '../../testing/piece-frames.js';
import { gotoHost, Peer } from './peer.js';
import { eventCount, waitForProgress } from './recorder.js';
import { clickButton } from './screen.js';
import { openLink, share } from './transfer.js';
import type { E2E } from './world.js';

/**
 * Runs in the recipient's page before its scripts: every binary piece frame (kind 1) any data
 * channel the page creates delivers, as [index, offset, payload bytes] (protocol/frames.ts).
 * The recipient offers, so it creates the channels. A channel on which the recipient said
 * goodbye (`bye` or `error`) is no longer logged: its link has stopped taking frames, and what
 * still arrives on it is dropped unread. The page's connections are kept in `__pcs`, for stats.
 */
const PIECE_LOG = `(() => {
  const log = (window.__pieces = []);
  const create = RTCPeerConnection.prototype.createDataChannel;
  let channels = 0;
  const pcs = (window.__pcs = new Set());
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    pcs.add(this);
    const channel = create.apply(this, args);
    const n = channels++;
    let ended = false;
    const send = channel.send.bind(channel);
    channel.send = (data) => {
      if (typeof data === 'string' && /"t":"(bye|error)"/.test(data)) ended = true;
      send(data);
    };
    channel.addEventListener('message', (e) => {
      if (ended || !(e.data instanceof ArrayBuffer) || e.data.byteLength < 12) return;
      const view = new DataView(e.data);
      if (view.getUint8(0) === 1) log.push([view.getUint32(4), view.getUint32(8), e.data.byteLength - 12, n]);
    });
    return channel;
  };
})();`;

export interface Outage {
  lab: NetLab;
  sharer: Peer;
  recipient: Peer;
  file: SourceFile;
  link: string;
  /** The recipient's event index when the download started. */
  since: number;
  /** The frames the recipient received so far, counted. */
  pieces(): Promise<PieceCount>;
  /** The round trip of the recipient's connections' selected candidate pairs now, in ms. */
  roundTrips(): Promise<number[]>;
}

/** Registers the clean-up of the labs and browsers `outageWorld` makes (call at top level). */
export function useOutages(env: E2E): (name: string, options: OutageOptions) => Promise<Outage> {
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  return async (name, options) => {
    requireNetns();
    const service = Number(new URL(env.serviceUrl).port);
    const host = Number(new URL(env.hostOrigin).port);
    const lab = await NetLab.create(env.tmp, [service, host]);
    open.push(lab);
    const launch = async (side: NetLab['a'], label: string, url: string, init?: string) => {
      const downloadDir = path.join(env.tmp, `${name}-${label}`);
      await mkdir(downloadDir, { recursive: true });
      const { browser, page } = await launchBrowser('chromium', {
        downloadDir,
        protocolTimeout: 120_000,
        wrapper: side.wrapper(CHROME_PATH),
      });
      const peer = new Peer('chromium', label, browser, page, downloadDir);
      open.push({ close: () => closeBrowser(browser) });
      echoConsole(page, `[${label}]`);
      if (init) await page.evaluateOnNewDocument(init);
      await gotoHost(page, url);
      return peer;
    };
    const file = await makeRandomFile(env.tmp, `${name}.bin`, options.size);
    const [sharer, recipient] = await Promise.all([
      launch(lab.a, 'sharer', env.hostUrl({ uploadLimit: options.uploadLimit })),
      launch(lab.b, 'recipient', env.hostUrl(), PIECE_LOG),
    ]);
    if (options.path) await lab.shape(options.path);
    const link = await share(sharer, file);
    await openLink(recipient, link, file);
    const since = await eventCount(recipient.page);
    await clickButton(recipient.page, /download/i);
    await waitForProgress(recipient.page, options.cutAfter ?? 0, 120_000);
    const pieces = async () => {
      const frames = await recipient.page.evaluate(
        () => (window as unknown as { __pieces: Frame[] }).__pieces,
      );
      assert.ok(frames.length > 0, 'the recipient saw piece frames');
      if (process.env.OUTAGE_FRAMES) console.log(JSON.stringify(frames));
      return countPieces(frames, file.size);
    };
    const roundTrips = () =>
      recipient.page.evaluate(async () => {
        const out: number[] = [];
        for (const pc of (window as unknown as { __pcs: Set<RTCPeerConnection> }).__pcs) {
          if (pc.connectionState !== 'connected') continue;
          (await pc.getStats()).forEach(
            (s: { type: string; nominated?: boolean; currentRoundTripTime?: number }) => {
              if (
                s.type === 'candidate-pair' &&
                s.nominated &&
                s.currentRoundTripTime !== undefined
              )
                out.push(s.currentRoundTripTime * 1000);
            },
          );
        }
        return out;
      });
    return { lab, sharer, recipient, file, link, since, pieces, roundTrips };
  };
}

export interface OutageOptions {
  size: number;
  /** The sharer's upload limit (bytes per second), which paces the transfer. */
  uploadLimit: number;
  /** Bytes the recipient has when the world is handed to the test. */
  cutAfter?: number;
  /** Conditions on the path from the start. */
  path?: Parameters<NetLab['shape']>[0];
}

export { MiB };
