/** prepareFile: piece hashes, the manifest hash and the whole-file hash, checked independently. */
import { expect } from '@open-wc/testing';
import * as v from 'valibot';
import { toHex } from '../../src/protocol/ids.js';
import {
  choosePieceSize,
  FileMetaSchema,
  HASH_BYTES,
  MAX_PIECE_SIZE,
  MIN_PIECE_SIZE,
  pieceLength,
  TARGET_PIECE_COUNT,
} from '../../src/protocol/meta.js';
import { prepareFile, readPiece } from '../../src/transfer/manifest.js';
import { PROTOCOL_VERSION } from '../../src/protocol/version.js';
import { fileOf, PIECE, randomBytes, sha256Hex } from './helpers.js';

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
    expect(toHex(hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)), `piece ${i}`).to.equal(
      await sha256Hex(piece),
    );
  }
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
