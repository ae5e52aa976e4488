/**
 * Cutting a file into pieces: the sharer hashes each piece (SHA-256, Web Crypto) and the whole
 * file (incremental SHA-256, sha256.ts) in one pass, reading one piece ahead so the disk and
 * the hash overlap. The result is the metadata that gets sealed and the manifest peers serve.
 */
import { P2PError } from '../protocol/errors.js';
import { toHex } from '../protocol/ids.js';
import { choosePieceSize, HASH_BYTES, type FileMeta } from '../protocol/meta.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { Sha256 } from './sha256.js';

export interface Prepared {
  meta: FileMeta;
  /** Concatenated piece hashes: HASH_BYTES per piece. */
  hashes: Uint8Array<ArrayBuffer>;
}

export async function readPiece(
  file: Blob,
  pieceSize: number,
  index: number,
): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(
      await file
        .slice(index * pieceSize, Math.min(file.size, (index + 1) * pieceSize))
        .arrayBuffer(),
    );
  } catch (cause) {
    throw new P2PError(
      'storage-error',
      'The file could not be read any more (was it moved, changed or deleted?).',
      { cause },
    );
  }
}

export async function digest(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

export async function prepareFile(
  file: File,
  onProgress: (hashedBytes: number) => void = () => {},
  signal?: AbortSignal,
): Promise<Prepared> {
  const pieceSize = choosePieceSize(file.size);
  const pieceCount = Math.ceil(file.size / pieceSize);
  const hashes = new Uint8Array(pieceCount * HASH_BYTES);
  const whole = new Sha256();
  let next = pieceCount > 0 ? readPiece(file, pieceSize, 0) : null;
  for (let i = 0; i < pieceCount; i++) {
    signal?.throwIfAborted();
    const piece = await next!;
    next = i + 1 < pieceCount ? readPiece(file, pieceSize, i + 1) : null;
    const pieceHash = digest(piece);
    whole.update(piece);
    hashes.set(await pieceHash, i * HASH_BYTES);
    onProgress(i * pieceSize + piece.byteLength);
  }
  const meta: FileMeta = {
    v: PROTOCOL_VERSION,
    name: file.name || 'file',
    size: file.size,
    type: file.type.slice(0, 255),
    lastModified: Math.max(0, Math.floor(file.lastModified || 0)),
    pieceSize,
    pieceCount,
    manifestSha256: toHex(await digest(hashes)),
    sha256: toHex(whole.digest()),
  };
  return { meta, hashes };
}

export function pieceHash(hashes: Uint8Array, index: number): Uint8Array {
  return hashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
