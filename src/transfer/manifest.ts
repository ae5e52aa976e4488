/**
 * Cutting a file into pieces and reading them back: the sharer hashes each piece (SHA-256, Web
 * Crypto) and the whole file (incremental SHA-256, @stablelib/sha256) in one pass, reading ahead
 * so the disk and the hash overlap. The result is the metadata that gets sealed and the manifest
 * peers serve; `PieceReader` serves the pieces afterwards.
 */
import { SHA256 } from '@stablelib/sha256';
import { P2PError } from '../protocol/errors.js';
import { toHex } from '../protocol/ids.js';
import { choosePieceSize, HASH_BYTES, type FileMeta } from '../protocol/meta.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';

export interface Prepared {
  meta: FileMeta;
  /** Concatenated piece hashes: HASH_BYTES per piece. */
  hashes: Uint8Array<ArrayBuffer>;
}

/** Bytes read from the file at once while pieces are read in order. */
export const READ_SPAN_BYTES = 2 * 1024 * 1024;
/**
 * Spans kept (at most 16 MiB), so several recipients going through the file at different places
 * each keep theirs; one evicted early costs a re-read, never a wrong byte.
 */
const SPANS_KEPT = 8;

/** Reads pieces `[first, first + count)` in one go. */
async function readPieces(
  file: Blob,
  pieceSize: number,
  first: number,
  count: number,
): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(
      await file
        .slice(first * pieceSize, Math.min(file.size, (first + count) * pieceSize))
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

export function readPiece(
  file: Blob,
  pieceSize: number,
  index: number,
): Promise<Uint8Array<ArrayBuffer>> {
  return readPieces(file, pieceSize, index, 1);
}

interface Span {
  first: number;
  count: number;
  data: Promise<Uint8Array<ArrayBuffer>>;
}

/**
 * Reads the pieces of one file. Every `Blob.slice().arrayBuffer()` is a round trip to the
 * browser's file reader costing a millisecond or more, so a piece that continues an earlier read
 * starts a span of READ_SPAN_BYTES and the next pieces come from memory. A piece out of order is
 * read alone: random access (a seek, a swarm's scattered requests) reads nothing extra.
 */
export class PieceReader {
  /** Most recently used first. */
  private spans: Span[] = [];
  private readonly spanPieces: number;
  private readonly pieceCount: number;

  constructor(
    private readonly file: Blob,
    private readonly pieceSize: number,
    spanBytes = READ_SPAN_BYTES,
  ) {
    this.spanPieces = Math.max(1, Math.floor(spanBytes / pieceSize));
    this.pieceCount = Math.ceil(file.size / pieceSize);
  }

  async read(index: number): Promise<Uint8Array<ArrayBuffer>> {
    let at = this.spans.findIndex((s) => index >= s.first && index < s.first + s.count);
    let span: Span;
    if (at >= 0) {
      span = this.spans[at]!;
    } else {
      const inOrder = this.spans.some((s) => s.first + s.count === index);
      const count = inOrder ? Math.min(this.spanPieces, this.pieceCount - index) : 1;
      span = { first: index, count, data: readPieces(this.file, this.pieceSize, index, count) };
      this.spans.unshift(span);
      this.spans.length = Math.min(this.spans.length, SPANS_KEPT);
      at = 0;
      // A failed read is not kept: asking again reads again.
      span.data.catch(() => {
        this.spans = this.spans.filter((s) => s !== span);
      });
    }
    if (at > 0) this.spans.unshift(...this.spans.splice(at, 1));
    const data = await span.data;
    const start = (index - span.first) * this.pieceSize;
    // A file that shrank since it was shared yields a short piece, which the sender refuses.
    return data.subarray(Math.min(start, data.byteLength), start + this.pieceSize);
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
  const whole = new SHA256();
  const reader = new PieceReader(file, pieceSize);
  let next = pieceCount > 0 ? reader.read(0) : null;
  for (let i = 0; i < pieceCount; i++) {
    signal?.throwIfAborted();
    const piece = await next!;
    next = i + 1 < pieceCount ? reader.read(i + 1) : null;
    next?.catch(() => {});
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
