/**
 * A recipient whose connection to the sharer cannot be made at first, against a real ShareSession,
 * a real ReceiveSession and the real signalling service (started by web-test-runner.config.mjs).
 * The recipient's connection attempts are made to fail the way a failed ICE check does: the
 * connection state turns `failed` as soon as the offer is set.
 */
import { expect } from '@open-wc/testing';
import { parseLink } from '../../src/crypto/link.js';
import type { P2PError } from '../../src/protocol/errors.js';
import { ReceiveSession } from '../../src/session/receive-session.js';
import { ShareSession } from '../../src/session/share-session.js';
import type { ReceiveState } from '../../src/session/types.js';
import {
  catchDownloads,
  fileOf,
  PIECE,
  randomBytes,
  savedHash,
  sha256Hex,
  useService,
} from './helpers.js';

const Native = window.RTCPeerConnection;

/**
 * Makes the first `doomed` connections that offer a data channel (the recipient's; the sharer
 * only answers) fail at once. Counts every offering connection.
 */
function failFirstOffers(doomed: number) {
  let left = doomed;
  let offers = 0;
  class Flaky extends Native {
    private doomed = false;

    override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
      offers++;
      if (left > 0) {
        left--;
        this.doomed = true;
      }
      return super.createDataChannel(label, init);
    }

    override async setLocalDescription(description?: RTCLocalSessionDescriptionInit) {
      await super.setLocalDescription(description);
      if (!this.doomed) return;
      Object.defineProperty(this, 'connectionState', { get: () => 'failed' });
      this.dispatchEvent(new Event('connectionstatechange'));
    }
  }
  window.RTCPeerConnection = Flaky;
  return {
    offers: () => offers,
    restore: () => {
      window.RTCPeerConnection = Native;
    },
  };
}

describe('A recipient whose connection to the sharer fails', function () {
  this.timeout(60_000);

  const service = useService();
  const cleanup = service.cleanup;

  async function share(bytes: Uint8Array<ArrayBuffer>) {
    const server = service.url();
    const sharer = new ShareSession({ server });
    cleanup.push(() => void sharer.stop());
    const secret = parseLink(await sharer.share(fileOf(bytes, 'retry.bin'), location.href))!;
    const session = new ReceiveSession({ server, secret, saveTo: 'opfs', seed: false });
    cleanup.push(() => session.dispose());
    const states: ReceiveState[] = [];
    session.addEventListener('statechange', () => states.push(session.state));
    await session.load();
    return { session, states };
  }

  it('connects again once by itself, and the file arrives intact', async () => {
    const bytes = randomBytes(6 * PIECE - 123);
    const downloads = catchDownloads();
    cleanup.push(downloads.stop);
    const { session, states } = await share(bytes);
    const flaky = failFirstOffers(1);
    cleanup.push(flaky.restore);

    const done = await session.download();

    expect(flaky.offers(), 'connection attempts').to.equal(2);
    expect(done.sha256).to.equal(await sha256Hex(bytes));
    expect(downloads.saved).to.have.length(1);
    expect(await savedHash(downloads.saved[0]!.url)).to.equal(done.sha256);
    expect(states.map((s) => s.phase)).not.to.include('error');
  });

  it('gives up after the second attempt fails too, saying the connection failed', async () => {
    const { session } = await share(randomBytes(2 * PIECE));
    const flaky = failFirstOffers(Infinity);
    cleanup.push(flaky.restore);

    const error = await session.download().then(
      () => null,
      (err: P2PError) => err,
    );

    expect(error?.code).to.equal('connection-failed');
    expect(flaky.offers(), 'connection attempts').to.equal(2);
    expect(session.state.phase).to.equal('error');
  });
});
