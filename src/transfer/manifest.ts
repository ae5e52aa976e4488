/**
 * Cutting a file into pieces and reading them back. The sharer runs one incremental SHA-256
 * (@stablelib/sha256) over the file, reading ahead so the disk and the hash overlap, and keeps
 * the hash's chaining value at the end of every piece: that list is the manifest. Entry i is the
 * eight 32-bit state words (big-endian) after pieces 0..i; the last entry is the file's SHA-256
 * itself. Piece i is checked by resuming the hash from entry i - 1 and hashing the piece, so a
 * recipient hashes each byte once, in any order, and every piece verified means the whole file
 * has the SHA-256 the last entry names (pieces are whole 64-byte blocks of the hash).
 * `PieceReader` serves the pieces afterwards.
 */
import { SHA256 } from '@stablelib/sha256';
import { P2PError } from '../errors.js';
import { toHex } from '../../protocol/ids.js';
import { choosePieceSize, HASH_BYTES, type FileMeta } from '../../protocol/meta.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';

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
    throw new P2PError('storage-error', { reason: 'read' }, { cause });
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

/** The SHA-256 of no bytes. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Writes SHA-256 state words into `out` at `at`, big-endian (as a digest would be). */
function putState(state: Int32Array, out: Uint8Array, at: number): void {
  const view = new DataView(out.buffer, out.byteOffset + at, HASH_BYTES);
  for (let w = 0; w < 8; w++) view.setInt32(w * 4, state[w]!);
}

export async function prepareFile(
  file: File,
  onProgress: (hashedBytes: number) => void = () => {},
  signal?: AbortSignal,
): Promise<Prepared> {
  const pieceSize = choosePieceSize(file.size);
  const pieceCount = Math.ceil(file.size / pieceSize);
  const hashes = new Uint8Array(pieceCount * HASH_BYTES);
  const hash = new SHA256();
  const reader = new PieceReader(file, pieceSize);
  let next = pieceCount > 0 ? reader.read(0) : null;
  for (let i = 0; i < pieceCount; i++) {
    signal?.throwIfAborted();
    const piece = await next!;
    next = i + 1 < pieceCount ? reader.read(i + 1) : null;
    next?.catch(() => {});
    hash.update(piece);
    if (i + 1 < pieceCount) putState(hash.saveState().state, hashes, i * HASH_BYTES);
    onProgress(i * pieceSize + piece.byteLength);
  }
  const sha256 = hash.digest();
  if (pieceCount > 0) hashes.set(sha256, (pieceCount - 1) * HASH_BYTES);
  const meta: FileMeta = {
    v: PROTOCOL_VERSION,
    name: file.name || 'file',
    size: file.size,
    type: file.type.slice(0, 255),
    lastModified: Math.max(0, Math.floor(file.lastModified || 0)),
    pieceSize,
    pieceCount,
    manifestSha256: toHex(await digest(hashes)),
    sha256: toHex(sha256),
  };
  return { meta, hashes };
}

export function pieceHash(hashes: Uint8Array, index: number): Uint8Array {
  return hashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
}

/** Bytes `warmUpHash` hashes: enough for the engine to compile the SHA-256 (see there). */
export const WARM_UP_BYTES = 256 * 1024;

/**
 * Runs the SHA-256 over a few hundred KiB of zeros, in small updates, so the JavaScript engine
 * compiles it before a download needs it. A recipient's first piece used to be checked by cold
 * code: 44 ms for 64 KiB in Chromium (a quarter of the time from the click to the first verified
 * piece), against about 1 ms once compiled. Meant for idle time before a download (while the
 * file's details are on screen); it takes about 20 ms.
 */
export function warmUpHash(bytes = WARM_UP_BYTES): void {
  const hash = new SHA256();
  const block = new Uint8Array(8 * 1024);
  for (let done = 0; done < bytes; done += block.byteLength) hash.update(block);
  hash.saveState();
  hash.digest();
}

/**
 * Checks pieces against a manifest (see the top of this file). One hasher, reset for each
 * piece; a check is synchronous, about a millisecond per 128 KiB.
 */
export class PieceVerifier {
  private readonly hash = new SHA256();
  private readonly state = new Int32Array(8);
  private readonly check = new Uint8Array(HASH_BYTES);

  constructor(
    private readonly meta: Pick<FileMeta, 'pieceSize' | 'pieceCount'>,
    private readonly hashes: Uint8Array,
  ) {}

  /** Checks piece `index`, given whole or as its parts in order (the frames it arrived in). */
  verify(index: number, data: Uint8Array | readonly Uint8Array[]): boolean {
    const { pieceSize, pieceCount } = this.meta;
    if (index < 0 || index >= pieceCount) return false;
    const hash = this.hash.reset();
    if (index > 0) {
      const view = new DataView(
        this.hashes.buffer,
        this.hashes.byteOffset + (index - 1) * HASH_BYTES,
        HASH_BYTES,
      );
      for (let w = 0; w < 8; w++) this.state[w] = view.getInt32(w * 4);
      hash.restoreState({
        state: this.state,
        buffer: undefined,
        bufferLength: 0,
        bytesHashed: index * pieceSize,
      });
    }
    if (data instanceof Uint8Array) hash.update(data);
    else for (const part of data) hash.update(part);
    if (index === pieceCount - 1) hash.finish(this.check);
    else putState(hash.saveState().state, this.check, 0);
    return equalBytes(this.check, pieceHash(this.hashes, index));
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
