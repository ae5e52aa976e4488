/**
 * Where a download's bytes go, as the ReceiveSession prepares it: against a real ShareSession and
 * the real signalling service (started by web-test-runner.config.mjs), with the Origin Private
 * File System's free-space check made slow or made to report a full disk.
 */
import { expect } from '@open-wc/testing';
import type { P2PError } from '../../src/errors.js';
import {
  catchDownloads,
  MiB,
  PIECE,
  randomBytes,
  savedHash,
  sha256Hex,
  shareAndLoad,
  useService,
} from './helpers.js';

/** Replaces `navigator.storage.estimate`; returns the undo. */
function replaceEstimate(estimate: () => Promise<StorageEstimate>): () => void {
  const storage = navigator.storage;
  const original = Object.getOwnPropertyDescriptor(storage, 'estimate');
  Object.defineProperty(storage, 'estimate', { configurable: true, value: estimate });
  return () => {
    if (original) Object.defineProperty(storage, 'estimate', original);
    else delete (storage as { estimate?: unknown }).estimate;
  };
}

describe("A download's disk", function () {
  this.timeout(60_000);

  const service = useService();
  const cleanup = service.cleanup;
  const share = (bytes: Uint8Array<ArrayBuffer>) => shareAndLoad(service, bytes, 'disk.bin');

  it('is prepared while the connection is made, not before it, and the file arrives intact', async () => {
    const bytes = randomBytes(6 * PIECE + 5);
    const downloads = catchDownloads();
    cleanup.push(downloads.stop);
    const { session, states } = await share(bytes);
    let checked = false;
    let connectedWhenChecked = false;
    const native = navigator.storage.estimate.bind(navigator.storage);
    cleanup.push(
      replaceEstimate(async () => {
        // The free-space check answers only once the connection to the sharer is open (a small
        // file may be past 'downloading' by the time a poll looks, so every state seen counts).
        const connected = () => states.some((s) => s.phase === 'downloading');
        const started = performance.now();
        while (!connected() && performance.now() - started < 15_000) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        connectedWhenChecked = connected();
        checked = true;
        return native();
      }),
    );

    const done = await session.download();

    expect(checked, 'the free-space check ran').to.equal(true);
    expect(connectedWhenChecked, 'connected while the disk was prepared').to.equal(true);
    expect(done.sha256).to.equal(await sha256Hex(bytes));
    expect(downloads.saved).to.have.length(1);
    expect(await savedHash(downloads.saved[0]!.url)).to.equal(done.sha256);
    expect(states.map((s) => s.phase)).not.to.include('error');
  });

  it('that cannot be prepared ends the download with its error, and the next try prepares it anew', async () => {
    const bytes = randomBytes(2 * PIECE);
    const downloads = catchDownloads();
    cleanup.push(downloads.stop);
    const { session } = await share(bytes);
    const undo = replaceEstimate(async () => ({ quota: 100 * MiB, usage: 100 * MiB }));
    cleanup.push(undo);

    const error = await session.download().then(
      () => null,
      (err: P2PError) => err,
    );
    expect(error?.code).to.equal('storage-full');
    expect(session.state.phase).to.equal('error');

    undo();
    const done = await session.download();
    expect(done.sha256).to.equal(await sha256Hex(bytes));
    expect(await savedHash(downloads.saved[0]!.url)).to.equal(done.sha256);
  });
});
