/**
 * What a room shares: the file's metadata (sealed with the link key and stored by the service as
 * an opaque blob) and its manifest (32 bytes per piece: the whole-file SHA-256's chaining value at
 * the end of each piece, the last entry being the digest itself; see transfer/manifest.ts),
 * fetched from a peer over the data channel and checked against the sealed metadata.
 */
import * as v from 'valibot';
import { MediaInfoSchema } from './media.js';
import { PROTOCOL_VERSION } from './version.js';

export const HASH_BYTES = 32;
/**
 * Pieces of small files: a piece is what must arrive whole before anything is verified and
 * written, so a download's first bytes (and a video's first frames) come after 64 KiB, not
 * 256 KiB, on a connection still in slow start. Files over 128 MiB get larger pieces.
 */
export const MIN_PIECE_SIZE = 64 * 1024;
export const MAX_PIECE_SIZE = 16 * 1024 * 1024;
/** Piece size grows with the file so a manifest stays at a few thousand entries. */
export const TARGET_PIECE_COUNT = 2048;

const hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));

export const FileMetaSchema = v.pipe(
  v.strictObject({
    v: v.literal(PROTOCOL_VERSION),
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(255)),
    size: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)),
    type: v.pipe(v.string(), v.maxLength(255)),
    lastModified: v.pipe(v.number(), v.integer(), v.minValue(0)),
    pieceSize: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(MIN_PIECE_SIZE),
      v.maxValue(MAX_PIECE_SIZE),
      v.check((n) => (n & (n - 1)) === 0, 'piece size must be a power of two'),
    ),
    pieceCount: v.pipe(v.number(), v.integer(), v.minValue(0)),
    /** SHA-256 of the manifest, lowercase hex. */
    manifestSha256: hex64,
    /** SHA-256 of the whole file, lowercase hex (also the manifest's last entry). */
    sha256: hex64,
    /** The media container the file's first bytes show; absent for anything else. */
    media: v.optional(MediaInfoSchema),
  }),
  v.check(
    (m) => m.pieceCount === Math.ceil(m.size / m.pieceSize),
    'piece count does not match size and piece size',
  ),
);
export type FileMeta = v.InferOutput<typeof FileMetaSchema>;

export function choosePieceSize(size: number): number {
  let piece = MIN_PIECE_SIZE;
  while (piece < MAX_PIECE_SIZE && size / piece > TARGET_PIECE_COUNT) piece *= 2;
  return piece;
}

export function pieceLength(meta: Pick<FileMeta, 'size' | 'pieceSize'>, index: number): number {
  const start = index * meta.pieceSize;
  return Math.max(0, Math.min(meta.pieceSize, meta.size - start));
}

export function manifestBytes(meta: Pick<FileMeta, 'pieceCount'>): number {
  return meta.pieceCount * HASH_BYTES;
}
