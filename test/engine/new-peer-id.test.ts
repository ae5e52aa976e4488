/**
 * A page's signalling reconnects mid-transfer (a network change drops its WebSocket) while the
 * data channel lives on: both pages come back to the service under new peer ids, and the
 * recipient's next question for sources names the sharer's new id. Real ShareSession and
 * ReceiveSession against the real signalling service (web-test-runner.config.mjs).
 */
import { expect } from '@open-wc/testing';
import { parseLink } from '../../src/crypto/link.js';
import { ReceiveSession } from '../../src/session/receive-session.js';
import { ShareSession } from '../../src/session/share-session.js';
import {
  catchDownloads,
  fileOf,
  KiB,
  PIECE,
  randomBytes,
  savedHash,
  sha256Hex,
  until,
  useService,
} from './helpers.js';
import { countPieces, type Frame } from '../../testing/piece-frames.js';

const createDataChannel = RTCPeerConnection.prototype.createDataChannel;

/**
 * Every WebSocket the page opens. Installed before anything opens one: engine.io-client takes the
 * WebSocket class once, when it loads, so replacing it later would see nothing.
 */
const opened: WebSocket[] = [];
window.WebSocket = class extends window.WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    opened.push(this);
  }
};

/**
 * Logs the piece frames (kind 1) the recipient's data channels deliver (the recipient offers, so
 * it makes the channels), for testing/piece-frames.ts to count. A channel on which the recipient
 * said goodbye (`bye` or `error`) is no longer logged: its link has stopped taking frames, and
 * what still arrives on it is dropped unread.
 */
function logPieceFrames() {
  const frames: Frame[] = [];
  let channels = 0;
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const channel = createDataChannel.apply(this, args);
    const n = channels++;
    let ended = false;
    const send = channel.send.bind(channel) as (data: string | ArrayBufferView) => void;
    channel.send = ((data: string | ArrayBufferView) => {
      if (typeof data === 'string' && /"t":"(bye|error)"/.test(data)) ended = true;
      send(data);
    }) as RTCDataChannel['send'];
    channel.addEventListener('message', (e: MessageEvent) => {
      if (ended || !(e.data instanceof ArrayBuffer) || e.data.byteLength < 12) return;
      const view = new DataView(e.data);
      if (view.getUint8(0) !== 1) return;
      frames.push([view.getUint32(4), view.getUint32(8), e.data.byteLength - 12, n]);
    });
    return channel;
  };
  return {
    frames,
    channels: () => channels,
    restore: () => (RTCPeerConnection.prototype.createDataChannel = createDataChannel),
  };
}

describe('Pages whose signalling reconnects mid-transfer', function () {
  this.timeout(60_000);

  const service = useService();
  const cleanup = service.cleanup;

  // Both pages at once (a network change shared by both, as in e2e/outages.test.ts), or only the
  // sharer's (the recipient then keeps its id, and the sharer meets it under the same one).
  for (const dropped of ['both pages', "the sharer's page"] as const) {
    it(`${dropped}: one link, nothing fetched twice, and the file arrives intact`, async () => {
      const bytes = randomBytes(48 * PIECE - 321);
      const downloads = catchDownloads();
      cleanup.push(downloads.stop);
      const socketsBefore = opened.length;
      const log = logPieceFrames();
      cleanup.push(log.restore);
      const server = service.url();
      // 3 MiB at 512 KiB/s: about 6 s, long enough for both pages to reconnect and meet again.
      const sharer = new ShareSession({ server, uploadLimit: 512 * KiB });
      cleanup.push(() => void sharer.stop());
      const secret = parseLink(await sharer.share(fileOf(bytes, 'again.bin'), location.href))!;
      const session = new ReceiveSession({ server, secret, saveTo: 'opfs', seed: false });
      cleanup.push(() => session.dispose());
      await session.load();

      const downloading = session.download();
      await until(() => log.frames.length >= 8, 20_000, 'the first pieces');
      // The signalling drops, as at a network change; Socket.IO reconnects. The sharer's socket
      // is the first the page opened.
      const sockets = opened.slice(socketsBefore);
      expect(sockets.length, 'signalling sockets').to.equal(2);
      const [sharerSocket, recipientSocket] = sockets;
      sharerSocket!.close();
      if (dropped === 'both pages') recipientSocket!.close();
      const done = await downloading;

      expect(done.sha256).to.equal(await sha256Hex(bytes));
      expect(await savedHash(downloads.saved[0]!.url)).to.equal(done.sha256);
      // The recipient met the sharer again under its new id, and made a second link to it...
      expect(log.channels(), 'links the recipient made').to.equal(2);
      // ...which took over from the first rather than fetching beside it.
      const counted = countPieces(log.frames, bytes.length);
      expect(counted.whole, 'pieces that arrived whole').to.equal(48);
      expect(counted.again, 'frames of pieces that had arrived whole').to.equal(0);
      // The sharer shows the recipient once, done: its first link was no failure.
      await until(
        () => sharer.state.phase === 'sharing' && sharer.state.peers[0]?.status === 'done',
        5000,
        'the sharer to show the recipient done',
      );
      expect(sharer.state.phase === 'sharing' && sharer.state.peers.length).to.equal(1);
    });
  }
});
