/**
 * prepareFile: the manifest's chaining values, its hash and the whole-file hash, checked
 * independently (each entry against Web Crypto's SHA-256 of the file up to that piece); and
 * PieceVerifier, which checks pieces against a manifest in any order.
 */
import { expect } from '@open-wc/testing';
import { SHA256 } from '@stablelib/sha256';
import * as v from 'valibot';
import { toHex } from '../../protocol/ids.js';
import {
  choosePieceSize,
  FileMetaSchema,
  HASH_BYTES,
  MAX_PIECE_SIZE,
  MIN_PIECE_SIZE,
  pieceLength,
  TARGET_PIECE_COUNT,
} from '../../protocol/meta.js';
import {
  EMPTY_SHA256,
  PieceReader,
  PieceVerifier,
  prepareFile,
  readPiece,
} from '../../src/transfer/manifest.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { fileOf, PIECE, randomBytes, sha256Hex } from './helpers.js';

/** The SHA-256 digest of `bytesHashed` bytes whose chaining value is `entry`. */
function finishFrom(entry: Uint8Array, bytesHashed: number): Uint8Array {
  const view = new DataView(entry.buffer, entry.byteOffset, 32);
  const state = new Int32Array(8).map((_, w) => view.getInt32(w * 4));
  return new SHA256()
    .restoreState({ state, buffer: undefined, bufferLength: 0, bytesHashed })
    .digest();
}

async function expectPrepared(size: number, expectedPieces: number): Promise<void> {
  const bytes = randomBytes(size);
  const progress: number[] = [];
  const { meta, hashes } = await prepareFile(fileOf(bytes, 'data.bin'), (n) => progress.push(n));

  const parsed = v.safeParse(FileMetaSchema, meta);
  expect(parsed.success, JSON.stringify(parsed.issues)).to.equal(true);
  expect(meta.v).to.equal(PROTOCOL_VERSION);
  expect(meta.name).to.equal('data.bin');
  expect(meta.size).to.equal(size);
  expect(meta.pieceSize).to.equal(PIECE);
  expect(meta.pieceCount).to.equal(expectedPieces);
  expect(hashes.byteLength).to.equal(expectedPieces * HASH_BYTES);

  expect(meta.sha256).to.equal(await sha256Hex(bytes));
  expect(meta.manifestSha256).to.equal(await sha256Hex(hashes));
  let covered = 0;
  for (let i = 0; i < expectedPieces; i++) {
    const piece = bytes.slice(i * PIECE, Math.min(size, (i + 1) * PIECE));
    expect(pieceLength(meta, i)).to.equal(piece.byteLength);
    covered += piece.byteLength;
    // Entry i, finished as a digest of the bytes so far, is the SHA-256 of the file up to the
    // end of piece i (the last entry is that digest already).
    const entry = hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
    const upTo = Math.min(size, (i + 1) * PIECE);
    const asDigest = i === expectedPieces - 1 ? entry : finishFrom(entry, upTo);
    expect(toHex(asDigest), `entry ${i}`).to.equal(await sha256Hex(bytes.slice(0, upTo)));
  }
  if (expectedPieces === 0) expect(meta.sha256).to.equal(EMPTY_SHA256);
  expect(covered).to.equal(size);
  expect(progress.length).to.equal(expectedPieces);
  if (expectedPieces) expect(progress[progress.length - 1]).to.equal(size);
}

describe('prepareFile', () => {
  it('handles an empty file', () => expectPrepared(0, 0));
  it('handles a 1-byte file', () => expectPrepared(1, 1));
  it('handles exactly one piece', () => expectPrepared(PIECE, 1));
  it('handles one piece and one byte', () => expectPrepared(PIECE + 1, 2));
  it('handles several pieces with a short last one', () => expectPrepared(3 * PIECE + 777, 4));

  it('names an unnamed file and keeps its type', async () => {
    const { meta } = await prepareFile(new File([new Uint8Array(3)], '', { type: 'text/plain' }));
    expect(meta.name).to.equal('file');
    expect(meta.type).to.equal('text/plain');
    expect(v.safeParse(FileMetaSchema, meta).success).to.equal(true);
  });

  it('stops when aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    let caught: unknown = null;
    try {
      await prepareFile(fileOf(randomBytes(10)), undefined, abort.signal);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(DOMException);
  });

  it('reads any piece back', async () => {
    const bytes = randomBytes(2 * PIECE + 5);
    const file = fileOf(bytes);
    expect(Array.from(await readPiece(file, PIECE, 2))).to.deep.equal(
      Array.from(bytes.slice(2 * PIECE)),
    );
    expect(await sha256Hex(await readPiece(file, PIECE, 1))).to.equal(
      await sha256Hex(bytes.slice(PIECE, 2 * PIECE)),
    );
  });
});

describe('PieceVerifier', () => {
  it('accepts every piece, in any order, and nothing else', async () => {
    const bytes = randomBytes(4 * PIECE + 999);
    const { meta, hashes } = await prepareFile(fileOf(bytes));
    const verifier = new PieceVerifier(meta, hashes);
    const piece = (i: number) =>
      bytes.slice(i * PIECE, Math.min(bytes.byteLength, (i + 1) * PIECE));
    for (const i of [3, 0, 4, 2, 1, 4])
      expect(verifier.verify(i, piece(i)), `piece ${i}`).to.equal(true);
    for (let i = 0; i < meta.pieceCount; i++) {
      const flipped = piece(i);
      flipped[(i * 7919) % flipped.byteLength] ^= 0x10;
      expect(verifier.verify(i, flipped), `piece ${i} flipped`).to.equal(false);
      expect(verifier.verify(i, piece(i).subarray(1)), `piece ${i} short`).to.equal(false);
    }
    // A right piece at the wrong index, and indexes outside the file.
    expect(verifier.verify(1, piece(2))).to.equal(false);
    expect(verifier.verify(2, piece(1))).to.equal(false);
    expect(verifier.verify(-1, piece(0))).to.equal(false);
    expect(verifier.verify(meta.pieceCount, piece(0))).to.equal(false);
    // The last piece checks the file's own SHA-256: a manifest with another last entry fails.
    const other = hashes.slice();
    other[other.byteLength - 1] ^= 1;
    expect(new PieceVerifier(meta, other).verify(4, piece(4))).to.equal(false);
    expect(new PieceVerifier(meta, other).verify(3, piece(3))).to.equal(true);
  });
});

/** A file that counts the reads made of it, and fails the first `failures` of them. */
class CountingBlob extends Blob {
  reads: Array<[number, number]> = [];
  constructor(
    bytes: Uint8Array<ArrayBuffer>,
    private failures = 0,
  ) {
    super([bytes]);
  }
  override slice(start = 0, end = this.size): Blob {
    this.reads.push([start, end]);
    const part = super.slice(start, end);
    if (this.failures-- <= 0) return part;
    return new (class extends Blob {
      override arrayBuffer(): Promise<ArrayBuffer> {
        return Promise.reject(new DOMException('gone', 'NotReadableError'));
      }
    })([part]);
  }
}

describe('PieceReader', () => {
  const piece = 1000;
  const bytes = randomBytes(10 * piece + 123);
  const expected = (i: number) => Array.from(bytes.subarray(i * piece, (i + 1) * piece));

  it('reads pieces in order a span at a time, each piece exactly', async () => {
    const file = new CountingBlob(bytes);
    const reader = new PieceReader(file, piece, 4 * piece);
    // One ahead, as the sender and prepareFile read.
    let next = reader.read(0);
    for (let i = 0; i < 11; i++) {
      const got = await next;
      if (i + 1 < 11) next = reader.read(i + 1);
      expect(Array.from(got), `piece ${i}`).to.deep.equal(expected(i));
    }
    // Piece 0 alone (nothing came before it), then spans of four: 1-4, 5-8, 9-10.
    expect(file.reads).to.deep.equal([
      [0, piece],
      [piece, 5 * piece],
      [5 * piece, 9 * piece],
      [9 * piece, bytes.byteLength],
    ]);
  });

  it('reads pieces out of order alone, so random access reads nothing extra', async () => {
    const file = new CountingBlob(bytes);
    const reader = new PieceReader(file, piece, 4 * piece);
    const order = [7, 2, 9, 0, 5];
    for (const i of order)
      expect(Array.from(await reader.read(i)), `piece ${i}`).to.deep.equal(expected(i));
    expect(file.reads).to.deep.equal(
      order.map((i) => [i * piece, Math.min(bytes.byteLength, (i + 1) * piece)]),
    );
  });

  it('keeps separate spans for readers at different places', async () => {
    const file = new CountingBlob(bytes);
    const reader = new PieceReader(file, piece, 4 * piece);
    // Two downloads going through the file side by side.
    for (const i of [0, 6, 1, 7, 2, 8, 3, 9, 4, 10]) {
      expect(Array.from(await reader.read(i)), `piece ${i}`).to.deep.equal(expected(i));
    }
    // Each alone at first, then a span each: neither evicts the other's.
    expect(file.reads).to.deep.equal([
      [0, piece],
      [6 * piece, 7 * piece],
      [piece, 5 * piece],
      [7 * piece, bytes.byteLength],
    ]);
  });

  it('reads a failed span again when asked again, and reports the failure as storage-error', async () => {
    const file = new CountingBlob(bytes, 1);
    const reader = new PieceReader(file, piece, 4 * piece);
    let caught: unknown = null;
    try {
      await reader.read(0);
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).to.equal('storage-error');
    expect(Array.from(await reader.read(0))).to.deep.equal(expected(0));
    expect(file.reads.length).to.equal(2);
  });
});

describe('choosePieceSize and FileMetaSchema', () => {
  it('grows the piece size so the manifest stays near its target length', () => {
    expect(choosePieceSize(0)).to.equal(MIN_PIECE_SIZE);
    expect(choosePieceSize(TARGET_PIECE_COUNT * MIN_PIECE_SIZE)).to.equal(MIN_PIECE_SIZE);
    expect(choosePieceSize(TARGET_PIECE_COUNT * MIN_PIECE_SIZE + 1)).to.equal(2 * MIN_PIECE_SIZE);
    expect(choosePieceSize(Number.MAX_SAFE_INTEGER)).to.equal(MAX_PIECE_SIZE);
    for (const size of [1, 1e9, 5e10, 1e12]) {
      const piece = choosePieceSize(size);
      const meta = {
        v: PROTOCOL_VERSION,
        name: 'f',
        size,
        type: '',
        lastModified: 0,
        pieceSize: piece,
        pieceCount: Math.ceil(size / piece),
        manifestSha256: '0'.repeat(64),
        sha256: '0'.repeat(64),
      };
      expect(v.safeParse(FileMetaSchema, meta).success, `size ${size}`).to.equal(true);
    }
  });

  it('refuses metadata whose piece count or size does not add up', () => {
    const good = {
      v: PROTOCOL_VERSION,
      name: 'f',
      size: PIECE + 1,
      type: '',
      lastModified: 0,
      pieceSize: PIECE,
      pieceCount: 2,
      manifestSha256: 'a'.repeat(64),
      sha256: 'b'.repeat(64),
    };
    expect(v.safeParse(FileMetaSchema, good).success).to.equal(true);
    for (const bad of [
      { pieceCount: 1 },
      { pieceCount: 3 },
      { pieceSize: PIECE + 1 },
      { pieceSize: MIN_PIECE_SIZE / 2 },
      { pieceSize: MAX_PIECE_SIZE * 2 },
      { size: -1 },
      { name: '' },
      { sha256: 'B'.repeat(64) },
      { v: PROTOCOL_VERSION + 1 },
    ]) {
      expect(
        v.safeParse(FileMetaSchema, { ...good, ...bad }).success,
        JSON.stringify(bad),
      ).to.equal(false);
    }
  });
});
