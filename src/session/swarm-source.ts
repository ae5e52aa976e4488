/**
 * What a recipient serves to others: while it downloads, the verified pieces it keeps in a
 * bounded memory cache (so part-way recipients already help, as in BitTorrent); once the file is
 * saved, the whole file from disk. Its have-set only grows, so a piece once announced can always
 * be served.
 */
import { readPiece } from '../transfer/manifest.js';
import { joinParts, partsLength, type Download, type PieceParts } from '../transfer/download.js';
import type { PieceSource } from '../transfer/piece-sender.js';

/** Verified pieces a part-way recipient keeps in memory to serve; past this it serves no more until done. */
export const PARTIAL_CACHE_BYTES = 16 * 1024 * 1024;

export class SwarmSource implements PieceSource {
  readonly original = false;
  private file: Blob | null = null;
  private readonly cache = new Map<number, Uint8Array<ArrayBuffer>>();
  private cachedBytes = 0;

  constructor(
    private readonly download: Download,
    private readonly capBytes = PARTIAL_CACHE_BYTES,
  ) {}

  get meta() {
    return this.download.meta;
  }

  get hashes(): Uint8Array {
    return this.download.hashes ?? new Uint8Array(0);
  }

  get complete(): boolean {
    return this.file !== null;
  }

  /** Pieces it can serve right now. */
  get count(): number {
    return this.file ? this.meta.pieceCount : this.cache.size;
  }

  has(index: number): boolean {
    return this.file ? index < this.meta.pieceCount : this.cache.has(index);
  }

  haveFlags(): Uint8Array {
    const flags = new Uint8Array(this.meta.pieceCount);
    if (this.file) flags.fill(1);
    else for (const index of this.cache.keys()) flags[index] = 1;
    return flags;
  }

  /**
   * Keeps a verified piece (its parts in order) to serve; false when the cache is full (nothing
   * new to announce). Only a piece kept is copied into one buffer.
   */
  keep(index: number, parts: PieceParts): boolean {
    if (this.file || this.cache.has(index)) return false;
    const length = partsLength(parts);
    if (this.cachedBytes + length > this.capBytes) return false;
    this.cache.set(index, joinParts(parts));
    this.cachedBytes += length;
    return true;
  }

  /** The saved, verified file: every piece is served from disk from now on. */
  whole(file: Blob): void {
    this.file = file;
    this.cache.clear();
    this.cachedBytes = 0;
  }

  read(index: number): Promise<Uint8Array<ArrayBuffer>> {
    const cached = this.cache.get(index);
    if (cached) return Promise.resolve(cached);
    if (!this.file) return Promise.reject(new Error(`piece ${index} is not held here`));
    return readPiece(this.file, this.meta.pieceSize, index);
  }
}
