/**
 * The state of one file being received, shared by every source it is fetched from and kept across
 * retries: which pieces are verified, which are in flight from whom, and the verified manifest.
 * Pieces are checked against the manifest before they are written; nothing unverified reaches the
 * disk, and once every piece is verified the file has the SHA-256 the manifest ends with.
 */
import { P2PError } from '../errors.js';
import { toHex } from '../../protocol/ids.js';
import { manifestBytes, pieceLength, type FileMeta } from '../../protocol/meta.js';
import { digest, EMPTY_SHA256, pieceHash, PieceVerifier } from './manifest.js';

/** Where verified bytes go (a disk sink). */
export interface PieceSink {
  write(offset: number, data: Uint8Array): Promise<void>;
  finish(): Promise<File>;
}

/** Verified bytes not yet handed to the sink; past this, fetchers stop requesting. */
export const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

export type AcceptResult = 'ok' | 'corrupt' | 'duplicate';

/**
 * A received piece's bytes in order: whole, or in the parts (frames) it arrived in, which are
 * used where they arrived rather than copied into one buffer first.
 */
export type PieceParts = readonly Uint8Array<ArrayBuffer>[];

/** The bytes of `parts` in one buffer (the part itself when there is only one). */
export function joinParts(parts: PieceParts): Uint8Array<ArrayBuffer> {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(partsLength(parts));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Bytes in `parts`. */
export function partsLength(parts: PieceParts): number {
  let n = 0;
  for (const part of parts) n += part.byteLength;
  return n;
}

export class Download {
  hashes: Uint8Array<ArrayBuffer> | null = null;
  private verifier: PieceVerifier | null = null;
  private readonly have: Uint8Array;
  private haveCount = 0;
  /** Verified bytes. */
  bytes = 0;
  /** Bytes accepted but not yet written. */
  backlog = 0;
  private readonly inFlight = new Map<number, string>();
  /** End game: a second source asked for a piece that is in flight with a slow one. */
  private readonly seconded = new Map<number, string>();
  /** Bytes of pieces that arrived after another source had delivered them (end-game waste). */
  duplicateBytes = 0;
  /**
   * The order pieces are claimed in: null for first to last (the whole-file hash keeps up, and
   * media can play); in a crowded swarm, a random order of its own, so recipients fetch
   * different pieces from the sharer and have something to trade (see `shuffle`).
   */
  private order: Uint32Array | null = null;
  /** Every claiming position before this one is verified: where a claim's scan starts. */
  private settled = 0;
  /** Sees each piece as it is verified (a part-way seed keeps some to serve). */
  onVerified: ((index: number, parts: PieceParts) => void) | null = null;
  private writes: Promise<void> = Promise.resolve();
  private writeError: unknown = null;

  constructor(
    readonly meta: FileMeta,
    private readonly sink: PieceSink,
  ) {
    this.have = new Uint8Array(meta.pieceCount);
    if (manifestBytes(meta) === 0) this.adopt(new Uint8Array(0));
  }

  private adopt(hashes: Uint8Array<ArrayBuffer>): void {
    this.hashes = hashes;
    this.verifier = new PieceVerifier(this.meta, hashes);
  }

  get complete(): boolean {
    return this.hashes !== null && this.haveCount === this.meta.pieceCount;
  }

  get missing(): number {
    return this.meta.pieceCount - this.haveCount;
  }

  /**
   * Adopts a manifest if it matches the sealed metadata: its SHA-256, and its last entry (the
   * file's SHA-256). False means the peer (or, for the last entry, the sharer) lied.
   */
  async setManifest(bytes: Uint8Array<ArrayBuffer>): Promise<boolean> {
    if (this.hashes) return true;
    const count = this.meta.pieceCount;
    if (bytes.byteLength !== manifestBytes(this.meta) || count === 0) return false;
    if (toHex(await digest(bytes)) !== this.meta.manifestSha256) return false;
    if (toHex(pieceHash(bytes, count - 1)) !== this.meta.sha256) return false;
    if (this.hashes) return true;
    this.adopt(bytes);
    return true;
  }

  /** Claims pieces in a random order from now on (Fisher-Yates, with `random` in [0, 1)). */
  shuffle(random: () => number = Math.random): void {
    const order = new Uint32Array(this.meta.pieceCount).map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    this.order = order;
    this.settled = 0;
  }

  get shuffled(): boolean {
    return this.order !== null;
  }

  /**
   * Picks up to `count` missing pieces no one is fetching for `peer`, in claiming order: only
   * pieces `allowed` (what the source offers); first those every predicate of `prefer` holds
   * for, then those all but the last hold for, and so on down to any allowed piece (or, with
   * `preferredOnly`, down to those the first predicate holds for, and no others).
   */
  claim(
    peer: string,
    count: number,
    allowed?: (index: number) => boolean,
    prefer: readonly ((index: number) => boolean)[] = [],
    preferredOnly = false,
  ): number[] {
    const out: number[] = [];
    const n = this.meta.pieceCount;
    const order = this.order;
    // A scan from the first piece each time cost O(pieces) per claim, O(pieces²) per file.
    while (this.settled < n && this.have[order ? order[this.settled]! : this.settled]) {
      this.settled++;
    }
    const pass = (tests: readonly ((index: number) => boolean)[]) => {
      for (let k = this.settled; k < n && out.length < count; k++) {
        const i = order ? order[k]! : k;
        if (this.have[i] || this.inFlight.has(i)) continue;
        if ((allowed && !allowed(i)) || !tests.every((test) => test(i))) continue;
        this.inFlight.set(i, peer);
        out.push(i);
      }
    };
    const last = preferredOnly && prefer.length > 0 ? 1 : 0;
    for (let k = prefer.length; k >= last && out.length < count; k--) pass(prefer.slice(0, k));
    return out;
  }

  /**
   * End game: when nothing is left to claim, a source that would idle asks for up to `count`
   * pieces still in flight with other sources (oldest claims first, each at most twice), so one
   * slow source cannot hold back the finish. Whichever copy arrives first is kept.
   */
  claimSecond(peer: string, count: number, allowed?: (index: number) => boolean): number[] {
    const out: number[] = [];
    // Not before the end: while any piece is unclaimed, another source will take it, and a
    // second copy of a piece in flight is upload wasted.
    for (let i = 0; i < this.meta.pieceCount; i++) {
      if (!this.have[i] && !this.inFlight.has(i)) return out;
    }
    for (const [i, owner] of this.inFlight) {
      if (out.length >= count) break;
      if (owner !== peer && !this.seconded.has(i) && !this.have[i] && (!allowed || allowed(i))) {
        this.seconded.set(i, peer);
        out.push(i);
      }
    }
    return out;
  }

  /** Returns a peer's unfinished pieces to the pool (it vanished, was slow, or was cancelled). */
  release(peer: string, index?: number): void {
    for (const [i, owner] of this.inFlight) {
      if (owner !== peer || (index !== undefined && index !== i)) continue;
      // A second claim on the piece becomes the only one.
      const second = this.seconded.get(i);
      this.seconded.delete(i);
      if (second === undefined) this.inFlight.delete(i);
      else this.inFlight.set(i, second);
    }
    for (const [i, owner] of this.seconded) {
      if (owner === peer && (index === undefined || index === i)) this.seconded.delete(i);
    }
  }

  isClaimedBy(peer: string, index: number): boolean {
    return this.inFlight.get(index) === peer || this.seconded.get(index) === peer;
  }

  /** Whether piece `index` is verified. */
  has(index: number): boolean {
    return this.have[index] === 1;
  }

  /**
   * Verifies a received piece (whole, or its parts in order) and queues it for the disk. Resolves
   * once it is verified (the write happens in order behind it); rejects when an earlier write
   * failed.
   */
  async accept(
    peer: string,
    index: number,
    data: Uint8Array<ArrayBuffer> | PieceParts,
  ): Promise<AcceptResult> {
    this.throwWriteError();
    const verifier = this.verifier;
    if (!verifier) throw new P2PError('integrity', { reason: 'manifest' });
    const parts = data instanceof Uint8Array ? [data] : data;
    const length = partsLength(parts);
    if (this.have[index]) {
      this.release(peer, index);
      this.duplicateBytes += length;
      return 'duplicate';
    }
    const ok = length === pieceLength(this.meta, index) && verifier.verify(index, parts);
    this.release(peer, index);
    if (!ok) return 'corrupt';
    if (this.have[index]) {
      this.duplicateBytes += length;
      return 'duplicate';
    }
    this.have[index] = 1;
    this.haveCount++;
    this.bytes += length;
    this.onVerified?.(index, parts);
    this.backlog += length;
    this.writes = this.writes.then(async () => {
      try {
        let offset = index * this.meta.pieceSize;
        for (const part of parts) {
          await this.sink.write(offset, part);
          offset += part.byteLength;
        }
      } catch (err) {
        // Not on disk, so not had: progress must not count it.
        this.have[index] = 0;
        this.haveCount--;
        this.settled = 0;
        this.bytes -= length;
        this.writeError ??= err;
      } finally {
        this.backlog -= length;
      }
    });
    return 'ok';
  }

  /**
   * A failed write ends the download: a sink keeps nothing after a failure, so the session
   * starts over with a new sink and a new Download.
   */
  private throwWriteError(): void {
    if (this.writeError !== null) throw this.writeError;
  }

  /** Resolves when the backlog is back under its limit. */
  async settle(): Promise<void> {
    while (this.backlog > MAX_BACKLOG_BYTES) await this.writes;
    this.throwWriteError();
  }

  /**
   * Flushes to disk and closes the file. Every piece was verified against the manifest, whose
   * last entry is the sealed SHA-256 of the file: the file saved is the file shared.
   */
  async finish(): Promise<{ file: File; sha256: string }> {
    if (!this.complete) throw new Error('finish() before every piece arrived');
    await this.writes;
    this.throwWriteError();
    if (!this.complete) throw new P2PError('storage-error', { reason: 'write' });
    const file = await this.sink.finish();
    // An empty file has no piece to check: its SHA-256 is known.
    if (
      file.size !== this.meta.size ||
      (this.meta.size === 0 && this.meta.sha256 !== EMPTY_SHA256)
    ) {
      throw new P2PError('integrity', { reason: 'size' });
    }
    return { file, sha256: this.meta.sha256 };
  }
}
