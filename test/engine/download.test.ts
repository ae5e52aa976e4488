/**
 * Download: pieces are verified before they reach the sink, written at their offsets, never
 * handed out twice, and the whole file is checked at the end, whatever order pieces came in.
 */
import { expect } from '@open-wc/testing';
import type { P2PError } from '../../src/errors.js';
import type { FileMeta } from '../../protocol/meta.js';
import { Download, MAX_BACKLOG_BYTES } from '../../src/transfer/download.js';
import { prepareFile } from '../../src/transfer/manifest.js';
import { fileOf, MemorySink, PIECE, randomBytes, sha256Hex, tick, until } from './helpers.js';

interface Fixture {
  bytes: Uint8Array<ArrayBuffer>;
  meta: FileMeta;
  hashes: Uint8Array<ArrayBuffer>;
  sink: MemorySink;
  download: Download;
}

async function fixture(size: number): Promise<Fixture> {
  const bytes = randomBytes(size);
  const { meta, hashes } = await prepareFile(fileOf(bytes));
  const sink = new MemorySink(size);
  const download = new Download(meta, sink);
  expect(await download.setManifest(hashes.slice())).to.equal(true);
  return { bytes, meta, hashes, sink, download };
}

function piece(f: Fixture, index: number): Uint8Array<ArrayBuffer> {
  return f.bytes.slice(index * PIECE, Math.min(f.bytes.byteLength, (index + 1) * PIECE));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('Download', () => {
  it('writes verified pieces at their offsets and finishes with the right file', async () => {
    const f = await fixture(3 * PIECE + 100);
    expect(f.download.claim('p', 10)).to.deep.equal([0, 1, 2, 3]);
    for (let i = 0; i < 4; i++) expect(await f.download.accept('p', i, piece(f, i))).to.equal('ok');
    expect(f.download.complete).to.equal(true);
    expect(f.download.bytes).to.equal(f.bytes.byteLength);
    const { file, sha256 } = await f.download.finish();
    expect(f.sink.writes).to.deep.equal([
      { offset: 0, length: PIECE },
      { offset: PIECE, length: PIECE },
      { offset: 2 * PIECE, length: PIECE },
      { offset: 3 * PIECE, length: 100 },
    ]);
    expect(sha256).to.equal(f.meta.sha256);
    expect(await sha256Hex(file)).to.equal(await sha256Hex(f.bytes));
  });

  it('claims only what a source offers, preferred pieces first, in its own order once shuffled', async () => {
    const f = await fixture(6 * PIECE);
    const offers = (i: number) => i !== 5;
    const prefer = (i: number) => i === 4;
    expect(f.download.claim('a', 2, offers, [prefer])).to.deep.equal([4, 0]);
    // With a "random" source that always says 0, Fisher-Yates yields the order 1 2 3 4 5 0.
    f.download.shuffle(() => 0);
    expect(f.download.shuffled).to.equal(true);
    expect(f.download.claim('b', 3, offers)).to.deep.equal([1, 2, 3]);
    expect(f.download.claim('c', 10)).to.deep.equal([5]);
    expect(f.download.claim('d', 10), 'nothing is handed out twice').to.deep.equal([]);
  });

  it('claims nothing but preferred pieces when asked to', async () => {
    const f = await fixture(4 * PIECE);
    const prefer = (i: number) => i % 2 === 1;
    expect(f.download.claim('whole', 10, undefined, [prefer], true)).to.deep.equal([1, 3]);
    expect(f.download.claim('part', 10)).to.deep.equal([0, 2]);
  });

  it('claims by tiers: pieces every test holds for first, then fewer tests, then any', async () => {
    const f = await fixture(8 * PIECE);
    const odd = (i: number) => i % 2 === 1;
    const low = (i: number) => i < 4;
    expect(f.download.claim('a', 3, undefined, [odd, low])).to.deep.equal([1, 3, 5]);
    expect(f.download.claim('b', 3, undefined, [odd, low])).to.deep.equal([7, 0, 2]);
    // Only the first tier's pieces: here the odd ones, all of them claimed already.
    expect(f.download.claim('c', 3, undefined, [odd, low], true)).to.deep.equal([]);
    expect(f.download.claim('c', 3, (i) => i !== 4, [odd, low])).to.deep.equal([6]);
  });

  it('gives a second source pieces still in flight only at the very end', async () => {
    const f = await fixture(3 * PIECE);
    expect(f.download.claim('slow', 2)).to.deep.equal([0, 1]);
    expect(f.download.claimSecond('fast', 5), 'piece 2 is still unclaimed').to.deep.equal([]);
    expect(f.download.claim('fast', 5)).to.deep.equal([2]);
    expect(await f.download.accept('fast', 2, piece(f, 2))).to.equal('ok');
    // Only pieces the slow source owes are left: the idle fast one may take them too, once.
    expect(f.download.claimSecond('fast', 5)).to.deep.equal([0, 1]);
    expect(f.download.claimSecond('other', 5), 'at most two copies in flight').to.deep.equal([]);
    expect(await f.download.accept('fast', 0, piece(f, 0))).to.equal('ok');
    expect(await f.download.accept('slow', 0, piece(f, 0))).to.equal('duplicate');
    expect(f.download.duplicateBytes).to.equal(PIECE);
    // The slow source vanishes: what it owed stays with the fast one, not back in the pool.
    f.download.release('slow');
    expect(f.download.isClaimedBy('fast', 1)).to.equal(true);
    expect(f.download.claim('other', 5)).to.deep.equal([]);
    expect(await f.download.accept('fast', 1, piece(f, 1))).to.equal('ok');
    expect(f.download.complete).to.equal(true);
  });

  it('completes an empty file without pieces', async () => {
    const bytes = new Uint8Array(0);
    const { meta } = await prepareFile(fileOf(bytes));
    const download = new Download(meta, new MemorySink(0));
    expect(download.hashes).to.not.equal(null);
    expect(download.complete).to.equal(true);
    expect(download.claim('p', 4)).to.deep.equal([]);
    const { file, sha256 } = await download.finish();
    expect(file.size).to.equal(0);
    expect(sha256).to.equal(await sha256Hex(bytes));
  });

  it('rejects a corrupt piece: not written, not counted, claimable again', async () => {
    const f = await fixture(2 * PIECE + 10);
    expect(f.download.claim('p', 1)).to.deep.equal([0]);
    const bad = piece(f, 0);
    bad[12345] ^= 0x40;
    expect(await f.download.accept('p', 0, bad)).to.equal('corrupt');
    const short = piece(f, 0)
      .subarray(0, PIECE - 1)
      .slice();
    expect(await f.download.accept('p', 0, short)).to.equal('corrupt');
    await tick(5);
    expect(f.sink.writes).to.deep.equal([]);
    expect(f.download.bytes).to.equal(0);
    expect(f.download.missing).to.equal(3);
    expect(f.download.isClaimedBy('p', 0)).to.equal(false);
    expect(f.download.claim('q', 1)).to.deep.equal([0]);
    expect(await f.download.accept('q', 0, piece(f, 0))).to.equal('ok');
    expect(f.download.missing).to.equal(2);
  });

  it('takes a piece in the parts it arrived in: checked across them, written part by part', async () => {
    const f = await fixture(2 * PIECE + 10);
    f.download.claim('p', 3);
    const cut = (p: Uint8Array<ArrayBuffer>, at: number[]) =>
      [0, ...at].map((from, k) => p.subarray(from, [...at, p.byteLength][k]));
    expect(await f.download.accept('p', 0, cut(piece(f, 0), [1, 4000, 50_000]))).to.equal('ok');
    // A flipped byte in any part, or a part missing, fails the piece.
    const bad = piece(f, 1);
    bad[PIECE - 1] ^= 1;
    expect(await f.download.accept('p', 1, cut(bad, [PIECE / 2]))).to.equal('corrupt');
    expect(await f.download.accept('p', 1, cut(piece(f, 1), [PIECE / 2]).slice(1))).to.equal(
      'corrupt',
    );
    f.download.claim('p', 1);
    expect(await f.download.accept('p', 1, cut(piece(f, 1), [PIECE / 2]))).to.equal('ok');
    expect(await f.download.accept('p', 2, [piece(f, 2)])).to.equal('ok');
    const { sha256 } = await f.download.finish();
    expect(f.sink.bytes).to.deep.equal(f.bytes);
    expect(sha256).to.equal(await sha256Hex(f.bytes));
    expect(f.sink.writes.map((w) => w.offset)).to.deep.equal([
      0,
      1,
      4000,
      50_000,
      PIECE,
      PIECE + PIECE / 2,
      2 * PIECE,
    ]);
  });

  it('rejects a piece that is right for another index', async () => {
    const f = await fixture(2 * PIECE);
    f.download.claim('p', 2);
    expect(await f.download.accept('p', 1, piece(f, 0))).to.equal('corrupt');
    expect(f.download.missing).to.equal(2);
  });

  it('ignores duplicates, even when two sources race with the same piece', async () => {
    const f = await fixture(PIECE + 5);
    f.download.claim('p', 2);
    const [a, b] = await Promise.all([
      f.download.accept('p', 1, piece(f, 1)),
      f.download.accept('q', 1, piece(f, 1)),
    ]);
    expect([a, b].sort()).to.deep.equal(['duplicate', 'ok']);
    expect(await f.download.accept('p', 1, piece(f, 1))).to.equal('duplicate');
    expect(f.download.bytes).to.equal(5);
    await f.download.accept('p', 0, piece(f, 0));
    await f.download.finish();
    expect(f.sink.writes.filter((w) => w.offset === PIECE)).to.have.length(1);
  });

  it('gets the whole-file SHA-256 right when pieces arrive out of order', async () => {
    const f = await fixture(5 * PIECE + 3);
    for (const i of [3, 0, 5, 1, 4, 2])
      expect(await f.download.accept('p', i, piece(f, i))).to.equal('ok');
    const { file, sha256 } = await f.download.finish();
    expect(sha256).to.equal(await sha256Hex(f.bytes));
    expect(await sha256Hex(file)).to.equal(sha256);
  });

  it('refuses a manifest whose last entry is not the sealed SHA-256 of the file', async () => {
    // A sharer that seals one file's SHA-256 and serves another file with its own manifest.
    const f = await fixture(2 * PIECE);
    const other = await prepareFile(fileOf(randomBytes(2 * PIECE)));
    const meta = { ...other.meta, sha256: f.meta.sha256 };
    const download = new Download(meta, new MemorySink(2 * PIECE));
    expect(await download.setManifest(other.hashes.slice())).to.equal(false);
    expect(download.hashes).to.equal(null);
  });

  it('refuses to finish an empty file whose sealed SHA-256 is not that of no bytes', async () => {
    const { meta } = await prepareFile(fileOf(new Uint8Array(0)));
    const honest = new Download(meta, new MemorySink(0));
    expect((await honest.finish()).sha256).to.equal(meta.sha256);
    const lying = new Download({ ...meta, sha256: 'ab'.repeat(32) }, new MemorySink(0));
    const err = await rejection(lying.finish());
    expect((err as P2PError).code).to.equal('integrity');
  });

  it('refuses a manifest that does not match the metadata', async () => {
    const bytes = randomBytes(2 * PIECE);
    const { meta, hashes } = await prepareFile(fileOf(bytes));
    const download = new Download(meta, new MemorySink(bytes.byteLength));
    expect(await download.setManifest(hashes.slice(0, 32))).to.equal(false);
    expect(await download.setManifest(new Uint8Array(96))).to.equal(false);
    const flipped = hashes.slice();
    flipped[40] ^= 1;
    expect(await download.setManifest(flipped)).to.equal(false);
    expect(download.hashes).to.equal(null);
    const err = await rejection(download.accept('p', 0, bytes.slice(0, PIECE)));
    expect((err as P2PError).code).to.equal('integrity');
    expect(await download.setManifest(hashes.slice())).to.equal(true);
    expect(await download.accept('p', 0, bytes.slice(0, PIECE))).to.equal('ok');
  });

  it('never hands out a piece twice, and release gives a peer’s pieces back', async () => {
    const f = await fixture(6 * PIECE);
    const a = f.download.claim('a', 2);
    const b = f.download.claim('b', 3);
    const c = f.download.claim('c', 10);
    expect(a).to.deep.equal([0, 1]);
    expect(b).to.deep.equal([2, 3, 4]);
    expect(c).to.deep.equal([5]);
    expect(f.download.claim('d', 10)).to.deep.equal([]);
    expect(f.download.isClaimedBy('b', 3)).to.equal(true);

    f.download.release('b', 3);
    expect(f.download.isClaimedBy('b', 3)).to.equal(false);
    expect(f.download.isClaimedBy('b', 2)).to.equal(true);
    expect(f.download.claim('d', 10)).to.deep.equal([3]);

    f.download.release('a');
    expect(f.download.claim('d', 10)).to.deep.equal([0, 1]);
    expect(f.download.isClaimedBy('b', 4)).to.equal(true);

    await f.download.accept('c', 5, piece(f, 5));
    f.download.release('c');
    expect(f.download.claim('e', 10), 'a verified piece is not missing').to.deep.equal([]);
  });

  it('holds settle() while unwritten bytes exceed the backlog limit', async () => {
    const count = MAX_BACKLOG_BYTES / PIECE + 2;
    const f = await fixture(count * PIECE);
    let open!: () => void;
    f.sink.gate = new Promise<void>((resolve) => (open = resolve));
    for (let i = 0; i < count; i++)
      expect(await f.download.accept('p', i, piece(f, i))).to.equal('ok');
    expect(f.download.backlog).to.equal(count * PIECE);
    let settled = false;
    const settling = f.download.settle().then(() => (settled = true));
    await tick(30);
    expect(settled, 'the disk has not caught up').to.equal(false);
    expect(f.sink.writes).to.have.length(0);
    open();
    await settling;
    expect(f.download.backlog).to.be.at.most(MAX_BACKLOG_BYTES);
    expect(f.sink.writes.length).to.be.greaterThan(1);
    const { sha256 } = await f.download.finish();
    expect(sha256).to.equal(f.meta.sha256);
  });

  it('surfaces a failed write from accept, settle and finish', async () => {
    const f = await fixture(3 * PIECE);
    const diskFull = new DOMException('disk full', 'QuotaExceededError');
    f.sink.failNext = diskFull;
    expect(await f.download.accept('p', 0, piece(f, 0))).to.equal('ok');
    await until(() => f.sink.failNext === null, 1000, 'the failing write');
    await tick(5);
    expect(await rejection(f.download.settle())).to.equal(diskFull);
    expect(await rejection(f.download.accept('p', 1, piece(f, 1)))).to.equal(diskFull);

    const g = await fixture(2 * PIECE);
    await g.download.accept('p', 0, piece(g, 0));
    g.sink.failNext = new Error('write failed');
    await g.download.accept('p', 1, piece(g, 1));
    expect(g.download.complete).to.equal(true);
    expect(((await rejection(g.download.finish())) as Error).message).to.equal('write failed');
  });

  it('does not count a piece whose write failed, and stays failed so the session starts over', async () => {
    // A real sink keeps nothing after a failed write, so ReceiveSession replaces the sink and the
    // Download on storage errors; this one must neither count the lost piece nor carry on.
    const f = await fixture(2 * PIECE);
    f.sink.failNext = new Error('write failed');
    await f.download.accept('p', 0, piece(f, 0));
    await until(() => f.sink.failNext === null, 1000, 'the failing write');
    await tick(5);
    await rejection(f.download.settle());
    expect(f.download.missing, 'the unwritten piece is still missing').to.equal(2);
    expect(f.download.bytes, 'progress does not count it').to.equal(0);
    await rejection(f.download.accept('p', 0, piece(f, 0)));
    await rejection(f.download.settle());
  });
});
