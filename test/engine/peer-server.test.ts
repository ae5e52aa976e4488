/**
 * PeerServer under junk and half-open peers, in a real Chromium: envelopes that do not open cost
 * no RTCPeerConnection and leave no row; genuine offers that never complete are held within the
 * cap, closed at the connect timeout and freed; a peer over its offer rate or failing again and
 * again is refused; an honest peer still connects afterwards, and only its link is told as
 * opened. The page's RTCPeerConnection is
 * wrapped to count the connections made and closed.
 */
import { expect } from '@open-wc/testing';
import { deriveRoomKeys, type RoomKeys } from '../../src/crypto/keys.js';
import { sealJson } from '../../src/crypto/seal.js';
import { P2PError } from '../../src/errors.js';
import { randomId, toBase64Url } from '../../protocol/ids.js';
import { signalAad } from '../../protocol/sealing.js';
import { OFFER_BURST, STRIKES } from '../../src/session/admission.js';
import { FileSource } from '../../src/session/file-source.js';
import { MAX_FAILED_ROWS, PeerServer, SETUP_EXTRA } from '../../src/session/peer-server.js';
import { PeerLink } from '../../src/rtc/peer-link.js';
import { prepareFile } from '../../src/transfer/manifest.js';
import { fileOf, KiB, randomBytes, tick, until } from './helpers.js';

const CONNECT_TIMEOUT_MS = 1500;
const HEARTBEAT_MS = 100;
const MAX_PEERS = 2;
const CAP = MAX_PEERS + SETUP_EXTRA;

/** Every RTCPeerConnection the page makes: when, and when it was closed (if it was). */
const made: Array<{ at: number; closedAt: number | null }> = [];
let mostOpen = 0;
const openNow = () => made.filter((pc) => pc.closedAt === null).length;

const Native = window.RTCPeerConnection;
class CountedPeerConnection extends Native {
  private readonly record = { at: performance.now(), closedAt: null as number | null };
  constructor(config?: RTCConfiguration) {
    super(config);
    made.push(this.record);
    mostOpen = Math.max(mostOpen, openNow());
  }
  override close(): void {
    this.record.closedAt ??= performance.now();
    super.close();
  }
}

/** A real offer's SDP, from a connection made before counting starts. */
async function offerSdp(): Promise<string> {
  const pc = new Native();
  pc.createDataChannel('p2p-share');
  const offer = await pc.createOffer();
  pc.close();
  return offer.sdp ?? '';
}

describe('PeerServer against junk and half-open peers', () => {
  const roomId = randomId();
  const sharerId = randomId();
  let keys: RoomKeys;
  let source: FileSource;
  let sdp: string;
  let server: PeerServer | null = null;
  const relayed: Array<{ to: string; envelope: string }> = [];
  const refused: string[] = [];
  /** Peers whose link opened on the server's side, as its owner hears them. */
  const opens: string[] = [];
  const honest = new Map<string, PeerLink>();

  before(async () => {
    keys = await deriveRoomKeys(randomId());
    const file = fileOf(randomBytes(64 * KiB));
    source = new FileSource(file, await prepareFile(file), true);
    sdp = await offerSdp();
    window.RTCPeerConnection = CountedPeerConnection;
  });

  after(() => {
    window.RTCPeerConnection = Native;
  });

  beforeEach(() => {
    made.length = 0;
    mostOpen = 0;
    relayed.length = 0;
    refused.length = 0;
    opens.length = 0;
    server = new PeerServer({
      roomId,
      localId: sharerId,
      keys,
      ice: {},
      source,
      relay: (to, envelope) => {
        relayed.push({ to, envelope });
        const link = honest.get(to);
        if (link) setTimeout(() => link.receive(envelope), 0);
      },
      onChange: () => {},
      onProgress: () => {},
      onRefused: (peerId) => refused.push(peerId),
      onOpened: (peerId) => opens.push(peerId),
      maxPeers: MAX_PEERS,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      heartbeatMs: HEARTBEAT_MS,
    });
  });

  afterEach(() => {
    server?.close(new P2PError('room-closed', { reason: 'stopped' }));
    for (const link of honest.values()) link.close();
    honest.clear();
  });

  /** An offer `from` sealed it, as a recipient's link seals its first envelope. */
  function sealedOffer(from: string, session = randomId()): Promise<string> {
    const aad = signalAad(roomId, from, sharerId, 'offerer');
    return sealJson(keys.signal, { s: session, n: 0, k: 'offer', sdp }, aad).then((s) => 'o' + s);
  }

  /** An honest recipient's link to the server; resolves once it is open. */
  function connectHonest(): { peerId: string; opened: Promise<void> } {
    const peerId = randomId();
    let resolve!: () => void;
    const opened = new Promise<void>((r) => (resolve = r));
    const link = new PeerLink({
      role: 'offerer',
      roomId,
      localId: peerId,
      remoteId: sharerId,
      keys,
      ice: {},
      relay: (envelope) => {
        setTimeout(() => server?.handleSignal({ from: peerId, envelope }), 0);
      },
      onOpen: resolve,
      onControl: () => {},
      onData: () => {},
      onClose: () => {},
      connectTimeoutMs: 20_000,
    });
    honest.set(peerId, link);
    void link.start();
    return { peerId, opened };
  }

  it('makes no connection and no row for 500 envelopes that do not open', async () => {
    const started = performance.now();
    const junkFrom = Array.from({ length: 100 }, () => randomId());
    for (let i = 0; i < 500; i++) {
      const junk = 'o' + toBase64Url(randomBytes(64 + (i % 200)));
      server!.handleSignal({ from: junkFrom[i % junkFrom.length]!, envelope: junk });
      if (i % 25 === 24) await tick();
    }
    // An honest peer after them: once its link opened, the junk before it was long looked at.
    const { peerId, opened } = connectHonest();
    await opened;
    await tick(100);
    // The honest link's own connection and the server's for it: none for the junk.
    expect(made, 'connections made').to.have.length(2);
    expect(server!.views().map((v) => v.peerId)).to.deep.equal([peerId]);
    // Some junk senders hear they were refused, within a budget, and nothing else goes out.
    const toJunk = relayed.filter((r) => r.to !== peerId);
    const budget = SETUP_EXTRA + Math.ceil((performance.now() - started) / 250);
    expect(toJunk.length).to.be.within(1, budget);
    expect(refused, 'junk is refused, not reported').to.deep.equal([]);
  });

  it('holds at most the cap of half-open connections and frees each at the timeout', async () => {
    const started = performance.now();
    for (let i = 0; i < 50; i++) {
      const peerId = randomId();
      server!.handleSignal({ from: peerId, envelope: await sealedOffer(peerId) });
      await tick(20);
    }
    await until(() => made.length > 0 && openNow() === 0, 4 * CONNECT_TIMEOUT_MS, 'all closed');
    const took = performance.now() - started;
    console.log(
      `50 half-open offers: ${made.length} connections made, at most ${mostOpen} at once, ` +
        `longest ${Math.round(Math.max(...made.map((pc) => pc.closedAt! - pc.at)))} ms, ` +
        `all closed after ${Math.round(took)} ms`,
    );
    expect(mostOpen, 'connections at once').to.be.at.most(CAP);
    expect(made.length, 'connections made').to.be.at.least(CAP);
    for (const pc of made) {
      expect(pc.closedAt! - pc.at, 'each closed by its connect timeout').to.be.at.most(
        CONNECT_TIMEOUT_MS + 1000,
      );
    }
    const views = server!.views();
    expect(views.every((v) => v.status === 'failed')).to.equal(true);
    expect(views.length, 'failed rows kept').to.be.at.most(MAX_FAILED_ROWS);
    // Then an honest peer connects as if nothing had happened.
    const { peerId, opened } = connectHonest();
    await opened;
    await until(() => server!.views().some((v) => v.peerId === peerId && v.status !== 'failed'));
    // Only the link that opened is told to the service (which keeps that slot and no other).
    await until(() => opens.length > 0, 5000, 'the honest link told as opened');
    expect(opens).to.deep.equal([peerId]);
  });

  it('ignores a peer over its offer rate', async () => {
    const peerId = randomId();
    for (let i = 0; i < OFFER_BURST + 3; i++) {
      server!.handleSignal({ from: peerId, envelope: await sealedOffer(peerId) });
      await tick(50);
    }
    await tick(200);
    expect(made, 'a connection per offer within the burst only').to.have.length(OFFER_BURST);
    expect(refused).to.deep.equal([]);
  });

  it('refuses and reports a peer whose connections keep failing', async () => {
    const peerId = randomId();
    for (let i = 0; i < STRIKES; i++) {
      server!.handleSignal({ from: peerId, envelope: await sealedOffer(peerId) });
      await until(() => made.length === i + 1, 5000, `connection ${i + 1}`);
      server!.relayFailed(peerId, new P2PError('connection-failed', { reason: 'no-reply' }));
    }
    expect(refused).to.deep.equal([peerId]);
    server!.handleSignal({ from: peerId, envelope: await sealedOffer(peerId) });
    await tick(200);
    expect(made, 'no connection for a refused peer').to.have.length(STRIKES);
    expect(openNow()).to.equal(0);
  });
});
