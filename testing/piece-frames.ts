/**
 * Piece frames a recipient's data channels delivered (kind 1: index, offset, payload;
 * protocol/frames.ts), as the outage e2e tests and the engine tests log them, counted: which
 * pieces arrived whole, and which frames brought a piece that had already arrived whole.
 */

export type Frame = [index: number, offset: number, bytes: number, channel: number];

export interface PieceCount {
  /** Pieces that arrived whole. */
  whole: number;
  /** Frames of pieces that had already arrived whole: verified bytes sent again. */
  again: number;
  /** Frames of pieces that arrived in part and were asked for afresh (in flight at a cut). */
  partial: number;
}

/**
 * Walks the frames in arrival order: a piece is whole once its frames since its last offset-0
 * frame cover it (the piece size is the largest end any frame reached).
 */
export function countPieces(frames: Frame[], size: number): PieceCount {
  const pieceSize = Math.max(...frames.map(([, offset, bytes]) => offset + bytes));
  const pieces = Math.ceil(size / pieceSize);
  const covered = new Map<number, number>();
  const whole = new Set<number>();
  let again = 0;
  let partial = 0;
  for (const [index, offset, bytes] of frames) {
    if (whole.has(index)) {
      again += 1;
      continue;
    }
    if (offset === 0 && covered.get(index)) partial += 1;
    const sum = (offset === 0 ? 0 : (covered.get(index) ?? 0)) + bytes;
    covered.set(index, sum);
    if (sum >= (index === pieces - 1 ? size - index * pieceSize : pieceSize)) whole.add(index);
  }
  return { whole: whole.size, again, partial };
}
