/**
 * A recipient whose connection to the sharer cannot be made at first, or goes silent mid-transfer,
 * against a real ShareSession, a real ReceiveSession and the real signalling service (started by
 * web-test-runner.config.mjs). The recipient's connections are made to fail the way a failed ICE
 * check does (the connection state turns `failed` as soon as the offer is set), or to stall the
 * way a lost network path does (nothing more arrives, and the goodbye is lost).
 */
import { expect } from '@open-wc/testing';
import type { P2PError } from '../../src/errors.js';
import type { ShareState } from '../../src/session/types.js';
import {
  catchDownloads,
  PIECE,
  randomBytes,
  savedHash,
  sha256Hex,
  shareAndLoad,
  until,
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

/**
 * Stalls the first `stalled` connections that offer a data channel (the recipient's) once
 * `afterFrames` binary frames came in over it: from then on nothing more from the sharer arrives,
 * and the recipient's farewell and closing never reach the sharer, as when the network path fails
 * and takes the goodbye with it. The sharer goes on hearing the recipient's heartbeat until the
 * recipient's link gives up, so it has noticed nothing when the recipient connects again.
 */
function stallOffers(stalled: number, afterFrames: number) {
  let left = stalled;
  let offers = 0;
  const kept: RTCPeerConnection[] = [];
  class Stalling extends Native {
    override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
      offers++;
      const channel = super.createDataChannel(label, init);
      if (left > 0) {
        left--;
        kept.push(this);
        stall(this, channel, afterFrames);
      }
      return channel;
    }
  }
  window.RTCPeerConnection = Stalling;
  return {
    offers: () => offers,
    restore: () => {
      window.RTCPeerConnection = Native;
      for (const pc of kept) Native.prototype.close.call(pc);
    },
  };
}

function stall(pc: RTCPeerConnection, channel: RTCDataChannel, afterFrames: number): void {
  let frames = 0;
  let stalled = false;
  const onmessage = Object.getOwnPropertyDescriptor(RTCDataChannel.prototype, 'onmessage')!;
  Object.defineProperty(channel, 'onmessage', {
    configurable: true,
    get: () => onmessage.get!.call(channel) as unknown,
    set: (handler: ((e: MessageEvent) => void) | null) => {
      const stalling = (e: MessageEvent) => {
        if (stalled) return;
        if (typeof e.data !== 'string' && ++frames >= afterFrames) stalled = true;
        handler?.(e);
      };
      onmessage.set!.call(channel, handler && stalling);
    },
  });
  const send = channel.send.bind(channel) as (data: string | ArrayBufferView) => void;
  channel.send = ((data: string | ArrayBufferView) => {
    const farewell = typeof data === 'string' && /"t":"(error|bye)"/.test(data);
    if (!(stalled && farewell)) send(data);
  }) as RTCDataChannel['send'];
  channel.close = () => {};
  pc.close = () => {};
}

describe('A recipient whose connection to the sharer fails', function () {
  this.timeout(60_000);

  const service = useService();
  const cleanup = service.cleanup;
  const share = (bytes: Uint8Array<ArrayBuffer>) => shareAndLoad(service, bytes, 'retry.bin');

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

  it('connects again by itself when the connection goes silent mid-transfer, and the sharer lets the new one take over', async () => {
    const bytes = randomBytes(16 * PIECE - 77);
    const downloads = catchDownloads();
    cleanup.push(downloads.stop);
    const { session, states, sharer } = await share(bytes);
    const sharerStates: ShareState[] = [];
    sharer.addEventListener('statechange', () => sharerStates.push(sharer.state));
    const stalls = stallOffers(1, 6);
    cleanup.push(stalls.restore);

    const done = await session.download();

    expect(stalls.offers(), 'connection attempts').to.equal(2);
    expect(done.sha256).to.equal(await sha256Hex(bytes));
    expect(downloads.saved).to.have.length(1);
    expect(await savedHash(downloads.saved[0]!.url)).to.equal(done.sha256);
    const phases = states.map((s) => s.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).not.to.include('error');
    // While it connected again, the widget said so, then went on from where it was.
    expect(phases.slice(phases.indexOf('downloading'))).to.deep.equal([
      'downloading',
      'connecting',
      'downloading',
      'saving',
      'done',
    ]);
    // The sharer still held the old connection when the new offer came: it handed over to the
    // new one rather than refusing it, and never showed the recipient as failed.
    const failed = sharerStates.flatMap((s) =>
      s.phase === 'sharing' ? s.peers.filter((p) => p.status === 'failed') : [],
    );
    expect(failed).to.deep.equal([]);
    await until(
      () => sharer.state.phase === 'sharing' && sharer.state.peers[0]?.status === 'done',
      5000,
      'the sharer to show the recipient done',
    );
    expect(sharer.state.phase === 'sharing' && sharer.state.peers.length).to.equal(1);
  });

  it('gives up when the second connection goes silent too, saying the connection was lost', async () => {
    const { session } = await share(randomBytes(16 * PIECE));
    const stalls = stallOffers(Infinity, 6);
    cleanup.push(stalls.restore);

    const error = await session.download().then(
      () => null,
      (err: P2PError) => err,
    );

    expect(error?.code).to.equal('peer-vanished');
    expect(stalls.offers(), `connection attempts (${error?.message})`).to.equal(2);
    expect(session.state.phase).to.equal('error');
  });
});
