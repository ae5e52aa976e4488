/** A whole file on disk as the pieces a PeerServer serves, read as recipients ask for them. */
import { PieceReader, type Prepared } from '../transfer/manifest.js';
import type { PieceSource } from '../transfer/piece-sender.js';

/** A whole file on disk (the sharer's, or a seed's verified copy) as pieces. */
export class FileSource implements PieceSource {
  private readonly reader: PieceReader;
  constructor(
    file: Blob,
    private readonly prepared: Prepared,
    readonly original: boolean,
  ) {
    this.reader = new PieceReader(file, prepared.meta.pieceSize);
  }
  get meta() {
    return this.prepared.meta;
  }
  get hashes() {
    return this.prepared.hashes;
  }
  readonly complete = true;
  haveFlags(): Uint8Array {
    return new Uint8Array(this.prepared.meta.pieceCount).fill(1);
  }
  has(index: number): boolean {
    return index < this.prepared.meta.pieceCount;
  }
  read(index: number) {
    return this.reader.read(index);
  }
}
