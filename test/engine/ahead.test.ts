/**
 * Connections made ahead, against a real ShareSession, a real ReceiveSession and the real
 * signalling service: a page's first RTCPeerConnection costs the browser 6–15 ms to set up WebRTC,
 * so the sharer makes its first recipient's connection once its link exists, and a recipient
 * makes its first source's while the file's details are on screen. The download then makes none
 * of its own, and a connection nobody took is closed with its session.
 */
import { expect } from '@open-wc/testing';
import {
  catchDownloads,
  MiB,
  randomBytes,
  shareAndLoad,
  sha256Hex,
  until,
  useService,
} from './helpers.js';

/** Every RTCPeerConnection the page makes from now on, until `stop`. */
function watchConnections() {
  const made: RTCPeerConnection[] = [];
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = new Proxy(Original, {
    construct(target, args: ConstructorParameters<typeof RTCPeerConnection>) {
      const pc = new target(...args);
      made.push(pc);
      return pc;
    },
  });
  return { made, stop: () => (window.RTCPeerConnection = Original) };
}

describe('Connections made ahead', function () {
  this.timeout(60_000);
  const service = useService();

  it('are the ones the first download connects over, on both sides', async () => {
    const watch = watchConnections();
    service.cleanup.push(watch.stop);
    const downloads = catchDownloads();
    service.cleanup.push(downloads.stop);
    const bytes = randomBytes(2 * MiB);
    const { session } = await shareAndLoad(service, bytes, 'ahead.bin');
    // The sharer's, once its link existed; the recipient's, once the details were shown.
    await until(() => watch.made.length === 2, 5000, 'both connections made ahead');
    const ahead = [...watch.made];
    for (const pc of ahead) expect(pc.signalingState).to.equal('stable');
    const done = await session.download();
    expect(done.sha256).to.equal(await sha256Hex(bytes));
    expect(watch.made, 'connections the download made').to.deep.equal(ahead);
    for (const pc of ahead) expect(pc.connectionState).to.not.equal('new');
  });

  it('are closed when nobody took them', async () => {
    const watch = watchConnections();
    service.cleanup.push(watch.stop);
    const { session, sharer } = await shareAndLoad(service, randomBytes(1024), 'unused.bin');
    await until(() => watch.made.length === 2, 5000, 'both connections made ahead');
    session.dispose();
    await sharer.stop();
    await until(
      () => watch.made.every((pc) => pc.signalingState === 'closed'),
      2000,
      'both connections closed',
    );
  });
});
