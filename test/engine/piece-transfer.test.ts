/**
 * PieceFetcher and PieceSender against each other over a fake link pair: the file arrives intact,
 * corruption is recovered from, flow control holds, and either side drops a peer that breaks the
 * protocol.
 */
import { expect } from '@open-wc/testing';
import { P2PError } from '../../src/errors.js';
import {
  chunkPayloadSize,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameKind,
  MAX_REQUEST_PIECES,
  type Control,
} from '../../protocol/frames.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import type { FileMeta } from '../../protocol/meta.js';
import type { Clock } from '../../src/transfer/clock.js';
import { Download } from '../../src/transfer/download.js';
import { prepareFile } from '../../src/transfer/manifest.js';
import {
  DEFERRED_GRACE_MS,
  GIVEN_WAIT_MS,
  PieceFetcher,
} from '../../src/transfer/piece-fetcher.js';
import {
  MAX_QUEUED_PIECES,
  PieceSender,
  UploadLedger,
  type PieceSource,
} from '../../src/transfer/piece-sender.js';
import {
  FakeLink,
  fakeLinkPair,
  fileOf,
  HIGH_WATER,
  manualClock,
  MemorySink,
  MiB,
  PIECE,
  randomBytes,
  sha256Hex,
  tick,
  until,
  type FakeLinkHooks,
} from './helpers.js';

/** Serves pieces from memory, so reads finish at once and only flow control paces the sender. */
class MemorySource implements PieceSource {
  readonly original = true;
  constructor(
    readonly meta: FileMeta,
    readonly hashes: Uint8Array,
    private readonly bytes: Uint8Array<ArrayBuffer>,
    /** A part-way source holds only these pieces (it may gain more); absent: every piece. */
    private readonly held?: Set<number>,
  ) {}
  get complete(): boolean {
    return !this.held || this.held.size === this.meta.pieceCount;
  }
  haveFlags(): Uint8Array {
    return new Uint8Array(this.meta.pieceCount).map((_, i) => (this.has(i) ? 1 : 0));
  }
  has(index: number): boolean {
    return index < this.meta.pieceCount && (!this.held || this.held.has(index));
  }
  async read(index: number) {
    const start = index * this.meta.pieceSize;
    return this.bytes.slice(start, Math.min(this.meta.size, start + this.meta.pieceSize));
  }
}

interface Run {
  bytes: Uint8Array<ArrayBuffer>;
  meta: FileMeta;
  sink: MemorySink;
  download: Download;
  fetcher: PieceFetcher;
  sender: PieceSender;
  receiverSide: FakeLink;
  sourceSide: FakeLink;
  requests: number[][];
  verified: number[];
  errors: P2PError[];
  completed: Promise<void>;
  sent: number[];
  completions: number[];
}

async function transfer(
  size: number,
  opts: {
    maxMessageSize?: number;
    toReceiver?: FakeLinkHooks;
    hashes?: (h: Uint8Array) => Uint8Array;
    held?: Set<number>;
    ledger?: UploadLedger;
    /** Who the sender serves, in the ledger. */
    recipient?: string;
    /** Whether the fetcher has part-way sources besides this one (see FetcherEvents.trading). */
    trading?: boolean;
    /** The fetcher's request window (FetcherEvents.windowBytes). */
    windowBytes?: number;
    /** The fetcher's clock (real time when absent). */
    clock?: Clock;
  } = {},
): Promise<Run> {
  const bytes = randomBytes(size);
  const file = fileOf(bytes);
  const prepared = await prepareFile(file);
  const meta = prepared.meta;
  const source = new MemorySource(
    meta,
    opts.hashes?.(prepared.hashes) ?? prepared.hashes,
    bytes,
    opts.held,
  );
  const { receiverSide, sourceSide } = fakeLinkPair(opts.maxMessageSize, {
    toReceiver: opts.toReceiver ?? {},
  });
  const sink = new MemorySink(size);
  const download = new Download(meta, sink);
  const requests: number[][] = [];
  const verified: number[] = [];
  const errors: P2PError[] = [];
  const sent: number[] = [];
  const completions: number[] = [];
  let resolveDone!: () => void;
  const completed = new Promise<void>((resolve) => (resolveDone = resolve));
  const fetcher = new PieceFetcher(
    receiverSide.asPeerLink(),
    download,
    {
      trading: () => opts.trading ?? false,
      ...(opts.windowBytes === undefined ? {} : { windowBytes: () => opts.windowBytes! }),
      onPiece: (index) => verified.push(index),
      onComplete: () => {
        completions.push(performance.now());
        resolveDone();
      },
      onError: (error) => errors.push(error),
    },
    opts.clock,
  );
  const sender = new PieceSender(
    sourceSide.asPeerLink(),
    source,
    { onSent: (total) => sent.push(total), onDone: () => {} },
    undefined,
    opts.ledger,
    opts.recipient,
  );
  sourceSide.onControl = (msg: Control) => {
    if (msg.t === 'request') requests.push(msg.again ? msg.pieces.map((i) => -1 - i) : msg.pieces);
    expect(sender.handle(msg), `sender handles ${msg.t}`).to.equal(true);
  };
  receiverSide.onData = (data) => fetcher.handleData(data);
  receiverSide.onControl = (msg: Control) => {
    expect(fetcher.handleControl(msg), `fetcher handles ${msg.t}`).to.equal(true);
  };
  sender.start();
  fetcher.start();
  return {
    bytes,
    meta,
    sink,
    download,
    fetcher,
    sender,
    receiverSide,
    sourceSide,
    requests,
    verified,
    errors,
    completed,
    sent,
    completions,
  };
}

async function expectIntact(run: Run): Promise<void> {
  await Promise.race([
    run.completed,
    until(() => run.errors.length > 0, 15000, 'completion').then(() => {
      throw run.errors[0];
    }),
  ]);
  const { file, sha256 } = await run.download.finish();
  expect(sha256).to.equal(await sha256Hex(run.bytes));
  expect(await sha256Hex(file)).to.equal(sha256);
  expect(run.errors).to.deep.equal([]);
  expect(run.receiverSide.failure).to.equal(null);
  expect(run.sourceSide.failure).to.equal(null);
}

function expectFailed(link: FakeLink, code: string): void {
  expect(link.failure, `link failed with ${code}`).to.be.instanceOf(P2PError);
  expect(link.failure!.code).to.equal(code);
  expect(link.isOpen).to.equal(false);
}

/** A source of `pieceCount` pieces whose reads never finish, so requests pile up in the queue. */
function stalledSource(pieceCount: number, has = (_: number) => true): PieceSource {
  const meta: FileMeta = {
    v: PROTOCOL_VERSION,
    name: 'big',
    size: pieceCount * PIECE,
    type: '',
    lastModified: 0,
    pieceSize: PIECE,
    pieceCount,
    manifestSha256: '0'.repeat(64),
    sha256: '0'.repeat(64),
  };
  return {
    meta,
    hashes: new Uint8Array(pieceCount * 32),
    original: true,
    complete: false,
    haveFlags: () => new Uint8Array(pieceCount).map((_, i) => (has(i) ? 1 : 0)),
    has,
    read: () => new Promise(() => {}),
  };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** When, on `clock`, the fetcher sent each of the run's requests from now on. */
function requestTimes(run: Run, clock: Clock): number[] {
  const times: number[] = [];
  const send = run.receiverSide.sendControl.bind(run.receiverSide);
  run.receiverSide.sendControl = (msg) => {
    if (msg.t === 'request') times.push(clock.now());
    send(msg);
  };
  return times;
}

describe('PieceFetcher + PieceSender', () => {
  it('moves a several-piece file intact, manifest first', async () => {
    const run = await transfer(5 * PIECE + 4321);
    await expectIntact(run);
    expect(run.receiverSide.controlsSent[0]).to.deep.equal({ t: 'manifest' });
    expect(run.verified.slice().sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(run.requests.flat().sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(run.sent[run.sent.length - 1]).to.equal(run.bytes.byteLength);
  });

  it('reports completion once', async () => {
    // A consumer that finishes the download in onComplete must not do it once per piece.
    const run = await transfer(5 * PIECE + 1);
    await expectIntact(run);
    await new Promise((r) => setTimeout(r, 50));
    expect(run.completions).to.have.length(1);
  });

  it('asks a part-way source only for what it announced, and for more as it announces it', async () => {
    const held = new Set([1, 3]);
    const run = await transfer(5 * PIECE, { held });
    await until(() => run.verified.length === 2, 5000, 'the two announced pieces');
    expect(run.requests.flat().sort()).to.deep.equal([1, 3]);
    expect(run.download.missing).to.equal(3);
    expect(run.errors).to.deep.equal([]);
    for (const i of [0, 2, 4]) held.add(i);
    run.sender.announce([0, 2, 4]);
    await expectIntact(run);
    expect(run.requests.flat().sort()).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('takes pieces another recipient has from the source later, and then asks for them again', async () => {
    // Pieces 0-2 went to another recipient of this source: they are deferred, the rest come
    // first, and the deferred ones are fetched last with `again` (nobody else offers them here).
    const ledger = new UploadLedger();
    const other = {};
    for (const i of [0, 1, 2]) ledger.add(i, other);
    const clock = manualClock();
    const start = clock.now();
    const run = await transfer(6 * PIECE, { ledger, clock });
    const requestedAt = requestTimes(run, clock);
    await until(() => run.verified.length === 3, 5000, 'pieces 3 to 5');
    // No part-way source here yet: the deferred pieces are asked for again after the grace wait,
    // in case the recipient that got them becomes one. The clock stands still until moved: a
    // request made too early is stamped with the time before the wait ended.
    clock.advance(DEFERRED_GRACE_MS - 1);
    await tick();
    clock.advance(2);
    await expectIntact(run);
    expect(requestedAt.at(-1)).to.equal(start + DEFERRED_GRACE_MS + 1);
    const laters = run.sourceSide.controlsSent.filter((m) => m.t === 'later');
    expect(laters.flatMap((m) => (m.t === 'later' ? m.pieces : []))).to.deep.equal([0, 1, 2]);
    // Requests: plain for 0-5 first, then 0-2 again (logged as -1 - index).
    expect(run.requests.flat().filter((i) => i >= 0)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(
      run.requests
        .flat()
        .filter((i) => i < 0)
        .map((i) => -1 - i),
    ).to.deep.equal([0, 1, 2]);
    // Each piece was sent once: the deferred ones were never queued the first time.
    expect(run.verified.slice(0, 3)).to.deep.equal([3, 4, 5]);
    expect(run.verified.slice().sort()).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(run.sent[run.sent.length - 1]).to.equal(6 * PIECE);
    expect(run.download.duplicateBytes).to.equal(0);
  });

  it('does not defer pieces that went to the same recipient over an earlier connection', async () => {
    // The recipient reconnected: what the source sent its first connection is no reason to wait.
    const ledger = new UploadLedger();
    for (const i of [0, 1, 2]) ledger.add(i, 'recipient-1');
    const run = await transfer(4 * PIECE, { ledger, recipient: 'recipient-1' });
    await expectIntact(run);
    expect(run.sourceSide.controlsSent.filter((m) => m.t === 'later')).to.deep.equal([]);
    expect(run.requests.flat()).to.deep.equal([0, 1, 2, 3]);
  });

  it('with part-way sources besides, asks again for a deferred piece only after GIVEN_WAIT_MS', async () => {
    const ledger = new UploadLedger();
    ledger.add(1, {});
    const clock = manualClock();
    const start = clock.now();
    const run = await transfer(3 * PIECE, { ledger, trading: true, clock });
    const requestedAt = requestTimes(run, clock);
    await until(() => run.verified.length === 2, 5000, 'pieces 0 and 2');
    expect(run.requests.flat()).to.deep.equal([0, 1, 2]);
    clock.advance(GIVEN_WAIT_MS - 1);
    await tick();
    clock.advance(2);
    await expectIntact(run);
    // The one request after the first: piece 1 again, once the wait has passed on the clock.
    expect(run.requests.flat()).to.deep.equal([0, 1, 2, -2]);
    expect(requestedAt.at(-1)).to.equal(start + GIVEN_WAIT_MS + 1);
  });

  it('tops the request window up a batch at a time, never past the window', async () => {
    // 16 pieces in the window: a request goes once 2 are free (REQUEST_BATCHES = 8).
    const window = 16;
    const run = await transfer(40 * PIECE, { windowBytes: window * PIECE });
    let outstanding = 0;
    const handle = run.sourceSide.onControl;
    run.sourceSide.onControl = (msg) => {
      if (msg.t === 'request') outstanding += msg.pieces.length;
      expect(outstanding, 'pieces requested and not yet received').to.be.at.most(window);
      handle(msg);
    };
    // Frames one at a time, as a real channel spreads them, so each piece is verified (and
    // the window topped up) before the next arrives.
    const inbox: ArrayBuffer[] = [];
    const next = () => {
      const data = inbox.shift();
      if (!data) return;
      if (new DataView(data).getUint8(0) === FrameKind.Piece) outstanding--;
      run.fetcher.handleData(data);
      setTimeout(next, 3);
    };
    run.receiverSide.onData = (data) => {
      if (inbox.push(data) === 1) setTimeout(next, 3);
    };
    await expectIntact(run);
    const sizes = run.requests.map((r) => r.length);
    expect(sizes[0]).to.equal(window);
    // Piece by piece this took 25 requests (16, then 24 of one piece).
    expect(sizes.length).to.be.at.most(13);
    for (const n of sizes.slice(1)) expect(n).to.be.at.least(2);
    expect(sizes.reduce((a, b) => a + b)).to.equal(40);
  });

  it('verifies pieces where their frames arrived, without a copy', async () => {
    for (const maxMessageSize of [undefined, 16384]) {
      const run = await transfer(3 * PIECE, maxMessageSize ? { maxMessageSize } : {});
      const seen: Array<{ parts: number; offsets: Set<number>; messages: boolean }> = [];
      run.download.onVerified = (_i, parts) =>
        seen.push({
          parts: parts.length,
          offsets: new Set(parts.map((p) => p.byteOffset)),
          // Each part is the whole of one message past its header, not a buffer of its own.
          messages: parts.every((p) => p.buffer.byteLength === FRAME_HEADER_BYTES + p.byteLength),
        });
      await expectIntact(run);
      const frames = Math.ceil(PIECE / run.sourceSide.framePayload);
      expect(frames, 'frames a piece').to.equal(maxMessageSize ? 5 : 1);
      expect(seen).to.have.length(3);
      for (const piece of seen) {
        expect(piece.parts).to.equal(frames);
        expect([...piece.offsets]).to.deep.equal([FRAME_HEADER_BYTES]);
        expect(piece.messages).to.equal(true);
      }
    }
  });

  it('moves a one-byte file', async () => {
    await expectIntact(await transfer(1));
  });

  it('moves a file over a channel with small messages, never exceeding them', async () => {
    const run = await transfer(2 * PIECE + 99, { maxMessageSize: 16384 });
    await expectIntact(run);
    expect(run.sourceSide.framePayload).to.equal(chunkPayloadSize(16384));
    expect(run.sourceSide.maxFrameBytes).to.equal(16384);
  });

  it('drops a source at its first corrupt piece, keeping every piece verified before it', async () => {
    let hit = 0;
    const run = await transfer(4 * PIECE, {
      toReceiver: {
        tamper: (frame) => {
          const view = new DataView(frame.buffer);
          if (view.getUint8(0) === FrameKind.Piece && view.getUint32(4) === 2 && hit++ === 0) {
            frame[FRAME_HEADER_BYTES + 1000] ^= 0xff;
          }
        },
      },
    });
    await until(() => run.errors.length > 0, 5000, 'the fetcher to drop the source');
    expect(hit).to.be.greaterThan(0);
    expect(run.errors[0]!.code).to.equal('integrity');
    expect(run.errors[0]!.params).to.deep.equal({ reason: 'piece', piece: 2 });
    expectFailed(run.receiverSide, 'integrity');
    await until(
      () => run.download.has(0) && run.download.has(1),
      5000,
      'the pieces before it to be verified',
    );
    expect(run.download.has(2)).to.equal(false);
    const claimed = run.download.claim('other', 10);
    expect(claimed, 'the corrupt piece back in the pool').to.include(2);
    expect(
      claimed.filter((i) => i < 2),
      'verified pieces are not fetched again',
    ).to.deep.equal([]);
  });

  it('drops a source whose every piece is corrupt, with nothing kept', async () => {
    const run = await transfer(4 * PIECE, {
      toReceiver: {
        tamper: (frame) => {
          if (frame[0] === FrameKind.Piece && frame.byteLength > FRAME_HEADER_BYTES + 10) {
            frame[FRAME_HEADER_BYTES + 10] ^= 1;
          }
        },
      },
    });
    await until(() => run.errors.length > 0, 5000, 'the fetcher to give up');
    expect(run.errors[0]!.code).to.equal('integrity');
    expectFailed(run.receiverSide, 'integrity');
    expect(run.download.missing).to.equal(4);
    expect(run.download.claim('other', 10), 'pieces returned to the pool').to.deep.equal([
      0, 1, 2, 3,
    ]);
  });

  it('refuses a manifest that does not match the sealed metadata', async () => {
    const run = await transfer(3 * PIECE, {
      hashes: (h) => {
        const bad = h.slice();
        bad[5] ^= 1;
        return bad;
      },
    });
    await until(() => run.errors.length > 0, 5000, 'the fetcher to refuse the manifest');
    expect(run.errors[0]!.code).to.equal('integrity');
    expectFailed(run.receiverSide, 'integrity');
    expect(run.download.hashes).to.equal(null);
    // Pieces were asked for with the manifest, and whatever came of them is kept nowhere.
    await new Promise((r) => setTimeout(r, 50));
    expect(run.verified).to.deep.equal([]);
    expect(run.download.bytes).to.equal(0);
    expect(run.sink.writes).to.deep.equal([]);
  });

  it('asks for pieces before the manifest has arrived, and checks them against it', async () => {
    const run = await transfer(6 * PIECE);
    // What the recipient had of the manifest when it sent each request.
    let manifestFrames = 0;
    const seenAtRequest: number[] = [];
    const onData = run.receiverSide.onData;
    run.receiverSide.onData = (data) => {
      if (new Uint8Array(data)[0] === FrameKind.Manifest) manifestFrames++;
      onData(data);
    };
    const sendControl = run.receiverSide.sendControl.bind(run.receiverSide);
    run.receiverSide.sendControl = (msg) => {
      if (msg.t === 'request') seenAtRequest.push(manifestFrames);
      sendControl(msg);
    };
    await expectIntact(run);
    expect(run.requests.flat().sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(seenAtRequest[0], 'manifest frames in when the first request left').to.equal(0);
  });

  it('keeps bufferedAmount under HIGH_WATER and frames within the message size', async () => {
    // 12 MiB fits in the first request window, so the sender must stop on bufferedAmount.
    const run = await transfer(12 * MiB);
    await expectIntact(run);
    expect(run.requests[0]!.length).to.equal((12 * MiB) / PIECE);
    expect(run.sourceSide.maxBuffered, 'the sender was pushed to its limit').to.be.greaterThan(
      HIGH_WATER / 2,
    );
    expect(run.sourceSide.maxBuffered).to.be.at.most(HIGH_WATER);
    expect(run.sourceSide.maxFrameBytes).to.be.at.most(
      run.sourceSide.framePayload + FRAME_HEADER_BYTES,
    );
  });
});

describe('PieceFetcher against a misbehaving source', () => {
  async function fetcherWithManifest(size = 3 * PIECE) {
    const bytes = randomBytes(size);
    const { meta, hashes } = await prepareFile(fileOf(bytes));
    const download = new Download(meta, new MemorySink(size));
    await download.setManifest(hashes);
    const link = new FakeLink('rogue');
    const errors: P2PError[] = [];
    const fetcher = new PieceFetcher(link.asPeerLink(), download, {
      onPiece: () => {},
      onComplete: () => {},
      onError: (e) => errors.push(e),
    });
    fetcher.start();
    expect(fetcher.handleControl({ t: 'have', all: true })).to.equal(true);
    await until(() => link.controlsSent.length > 0, 1000, 'the first request');
    expect(link.controlsSent[0]).to.deep.equal({ t: 'request', pieces: range(0, meta.pieceCount) });
    return { bytes, download, link, errors, fetcher };
  }

  const frame = (kind: FrameKind, index: number, offset: number, payload: Uint8Array) =>
    encodeFrame(kind, index, offset, payload).buffer;

  it('drops a source that sends a piece it was not asked for', async () => {
    const { bytes, link, errors, fetcher, download } = await fetcherWithManifest();
    fetcher.handleData(frame(FrameKind.Piece, 1, 0, bytes.subarray(PIECE, PIECE + 100)));
    expectFailed(link, 'bad-request');
    expect(errors.map((e) => e.code)).to.deep.equal(['bad-request']);
    expect(download.claim('other', 10), 'its pieces go back to the pool').to.deep.equal(
      range(0, 3),
    );
  });

  it('drops a source that sends a piece index beyond the file', async () => {
    const { link, fetcher } = await fetcherWithManifest();
    fetcher.handleData(frame(FrameKind.Piece, 7, 0, new Uint8Array(10)));
    expectFailed(link, 'bad-request');
  });

  it('drops a source that skips ahead within a piece', async () => {
    const { bytes, link, fetcher } = await fetcherWithManifest();
    fetcher.handleData(frame(FrameKind.Piece, 0, 0, bytes.subarray(0, 1000)));
    expect(link.isOpen).to.equal(true);
    fetcher.handleData(frame(FrameKind.Piece, 0, 2000, bytes.subarray(2000, 3000)));
    expectFailed(link, 'bad-request');
  });

  it('drops a source whose first frame of a piece does not start at 0', async () => {
    const { bytes, link, fetcher } = await fetcherWithManifest();
    fetcher.handleData(frame(FrameKind.Piece, 0, 100, bytes.subarray(100, 200)));
    expectFailed(link, 'bad-request');
  });

  it('drops a source that overruns a piece', async () => {
    const { link, fetcher } = await fetcherWithManifest(PIECE + 10);
    fetcher.handleData(frame(FrameKind.Piece, 0, 0, new Uint8Array(PIECE - 5)));
    fetcher.handleData(frame(FrameKind.Piece, 0, PIECE - 5, new Uint8Array(10)));
    expectFailed(link, 'bad-request');
  });

  it('drops a source that sends a malformed frame', async () => {
    const { link, fetcher } = await fetcherWithManifest();
    const bad = new Uint8Array(frame(FrameKind.Piece, 0, 0, new Uint8Array(10)));
    bad[1] = PROTOCOL_VERSION + 1;
    fetcher.handleData(bad.buffer);
    expectFailed(link, 'bad-request');
  });

  it('drops a source that sends a manifest nobody asked for', async () => {
    const { link, fetcher } = await fetcherWithManifest();
    fetcher.handleData(frame(FrameKind.Manifest, 0, 0, new Uint8Array(32)));
    expectFailed(link, 'bad-request');
  });

  it('ignores frames after it stopped', async () => {
    const { link, fetcher, download } = await fetcherWithManifest();
    fetcher.stop();
    fetcher.handleData(frame(FrameKind.Piece, 9, 0, new Uint8Array(1)));
    expect(link.failure).to.equal(null);
    expect(download.claim('other', 10)).to.deep.equal([0, 1, 2]);
  });
});

describe('PieceSender against a misbehaving recipient', () => {
  function sender(source: PieceSource) {
    const link = new FakeLink('greedy');
    const s = new PieceSender(link.asPeerLink(), source, { onSent: () => {}, onDone: () => {} });
    return { link, s };
  }

  it('drops a recipient that requests a piece that does not exist', () => {
    const { link, s } = sender(stalledSource(4));
    expect(s.handle({ t: 'request', pieces: [0, 4] })).to.equal(true);
    expectFailed(link, 'bad-request');
  });

  it('drops a recipient that requests a piece this seed does not have', () => {
    const { link, s } = sender(stalledSource(4, (i) => i !== 2));
    s.handle({ t: 'request', pieces: [0, 1] });
    expect(link.isOpen).to.equal(true);
    s.handle({ t: 'request', pieces: [2] });
    expectFailed(link, 'bad-request');
  });

  it(`allows ${MAX_QUEUED_PIECES} queued pieces and refuses a flood beyond`, () => {
    const { link, s } = sender(stalledSource(4 * MAX_QUEUED_PIECES));
    const perRequest = MAX_REQUEST_PIECES;
    for (let at = 0; at <= MAX_QUEUED_PIECES; at += perRequest) {
      s.handle({ t: 'request', pieces: range(at, perRequest) });
      if (at + perRequest <= MAX_QUEUED_PIECES)
        expect(link.isOpen, `after ${at + perRequest}`).to.equal(true);
    }
    expectFailed(link, 'limit-exceeded');
  });

  it('counts a repeated request once', () => {
    const { link, s } = sender(stalledSource(4 * MAX_QUEUED_PIECES));
    for (let i = 0; i < 8; i++) s.handle({ t: 'request', pieces: range(0, MAX_REQUEST_PIECES) });
    expect(link.isOpen).to.equal(true);
  });

  it('serves what was not cancelled, including the piece it was reading', async () => {
    const bytes = randomBytes(4 * PIECE);
    const { meta, hashes } = await prepareFile(fileOf(bytes));
    const { link, s } = sender(new MemorySource(meta, hashes, bytes));
    const peer = new FakeLink('sharer');
    link.peer = peer;
    const got = new Set<number>();
    peer.onData = (data) => got.add(new DataView(data).getUint32(4));
    s.handle({ t: 'request', pieces: [0, 1, 2, 3] });
    s.handle({ t: 'cancel', pieces: [2, 3] });
    await until(() => got.has(1), 2000, 'pieces 0 and 1');
    await new Promise((r) => setTimeout(r, 50));
    expect([...got].sort()).to.deep.equal([0, 1]);
    expect(link.failure).to.equal(null);
  });

  it('serves nothing after a cancel of everything', async () => {
    const bytes = randomBytes(3 * PIECE);
    const { meta, hashes } = await prepareFile(fileOf(bytes));
    const { link, s } = sender(new MemorySource(meta, hashes, bytes));
    s.handle({ t: 'request', pieces: [0, 1, 2] });
    s.handle({ t: 'cancel', pieces: [] });
    await new Promise((r) => setTimeout(r, 50));
    expect(link.frames).to.equal(0);
    s.handle({ t: 'request', pieces: [2] });
    const frames = Math.ceil(PIECE / link.framePayload);
    await until(() => link.frames === frames, 2000, 'piece 2 after the cancel');
    expect(link.failure).to.equal(null);
  });

  it('defers a piece another recipient has from it, serves it asked again, and forgets what it never sent', () => {
    const source = stalledSource(8);
    const ledger = new UploadLedger();
    const make = (name: string) => {
      const link = new FakeLink(name);
      const s = new PieceSender(
        link.asPeerLink(),
        source,
        { onSent: () => {}, onDone: () => {} },
        undefined,
        ledger,
      );
      return { link, s };
    };
    const a = make('a');
    const b = make('b');
    a.s.handle({ t: 'request', pieces: [0, 1, 2] });
    b.s.handle({ t: 'request', pieces: [1, 2, 3] });
    expect(b.link.controlsSent).to.deep.equal([{ t: 'later', pieces: [1, 2] }]);
    expect(ledger.elsewhere(3, a.s), 'piece 3 is queued for b').to.equal(true);
    b.s.handle({ t: 'request', pieces: [1], again: true });
    expect(b.link.controlsSent, 'asked again, it is queued').to.have.length(1);
    expect(ledger.elsewhere(1, b.s)).to.equal(true);
    // a cancels piece 2 and leaves before anything was read: nothing of it is anywhere.
    a.s.handle({ t: 'cancel', pieces: [2] });
    expect(ledger.elsewhere(2, b.s)).to.equal(false);
    a.s.stop();
    expect(ledger.elsewhere(0, b.s)).to.equal(false);
    expect(ledger.elsewhere(1, a.s), 'b still has piece 1 queued').to.equal(true);
    const c = make('c');
    c.s.handle({ t: 'request', pieces: [0, 2, 1] });
    expect(c.link.controlsSent).to.deep.equal([{ t: 'later', pieces: [1] }]);
    expect([a.link, b.link, c.link].map((l) => l.failure)).to.deep.equal([null, null, null]);
  });

  it('reports the recipient’s final hash', () => {
    const hashes: string[] = [];
    const link = new FakeLink('r');
    const s = new PieceSender(link.asPeerLink(), stalledSource(1), {
      onSent: () => {},
      onDone: (sha) => hashes.push(sha),
    });
    expect(s.handle({ t: 'done', sha256: 'c'.repeat(64) })).to.equal(true);
    expect(hashes).to.deep.equal(['c'.repeat(64)]);
    expect(s.handle({ t: 'ping', n: 1 })).to.equal(false);
  });
});
