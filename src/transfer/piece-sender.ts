/**
 * Serves pieces to one peer over one PeerLink: answers `manifest` and `request` messages, reads
 * each piece from its source one piece ahead, cuts it into frames that fit the channel's message
 * size and waits on `bufferedAmount` so the send queue stays bounded. Anything out of protocol
 * (an index that does not exist, an endless request queue, the same piece asked for again and
 * again) drops the peer.
 */
import { P2PError } from '../errors.js';
import {
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameEncoder,
  FrameKind,
  MAX_REQUEST_PIECES,
  packHave,
  type Control,
} from '../../protocol/frames.js';
import { pieceLength, type FileMeta } from '../../protocol/meta.js';
import { HIGH_WATER, type PeerLink } from '../rtc/peer-link.js';
import { CORRUPT_FIRST_PIECES, TEST_HOOKS } from './faults.js';
import type { UploadPacer } from './pacer.js';

export interface PieceSource {
  readonly meta: FileMeta;
  readonly hashes: Uint8Array;
  /** Whether this is the sharer's own file (a test build may corrupt what a seed serves). */
  readonly original: boolean;
  /** Whether every piece can be served; a recipient part-way through has only some. */
  readonly complete: boolean;
  /** One flag byte per piece, non-zero where `has` is true (read when a link opens). */
  haveFlags(): Uint8Array;
  has(index: number): boolean;
  read(index: number): Promise<Uint8Array<ArrayBuffer>>;
}

/** Most pieces a peer may have queued with us at once. */
export const MAX_QUEUED_PIECES = 1024;
/**
 * Times one link may be sent (or deferred) the same piece. An honest recipient asks again only
 * for a piece it lost (cancelled in flight, say) or was told to ask `later`; one that asks for
 * ever drains the sharer's upload.
 */
export const MAX_SENDS_PER_PIECE = 4;

/**
 * What one source's senders queued or sent, across all its recipients, by recipient (so a
 * recipient that reconnects is not told to wait for pieces it was sent before). A sender answers
 * `later` for a piece another recipient already has (or is getting) from this source: the
 * source's upload goes to pieces nobody has yet, and recipients trade the rest among themselves.
 */
export class UploadLedger {
  private readonly holders = new Map<number, Set<unknown>>();

  add(index: number, recipient: unknown): void {
    let set = this.holders.get(index);
    if (!set) this.holders.set(index, (set = new Set()));
    set.add(recipient);
  }

  /** A piece queued for `recipient` was not sent after all (cancelled, or its link closed). */
  remove(index: number, recipient: unknown): void {
    const set = this.holders.get(index);
    if (set?.delete(recipient) && set.size === 0) this.holders.delete(index);
  }

  /** Whether a recipient other than `recipient` has (or is getting) piece `index` from us. */
  elsewhere(index: number, recipient: unknown): boolean {
    const set = this.holders.get(index);
    return set !== undefined && (set.size > 1 || !set.has(recipient));
  }
}

export interface SenderEvents {
  /** Bytes handed to the channel (for the sharer's per-recipient progress). */
  onSent: (bytes: number) => void;
  /** The peer reported it verified the whole file. */
  onDone: (sha256: string) => void;
}

export class PieceSender {
  private queue: number[] = [];
  private queued = new Set<number>();
  private pumping = false;
  private stopped = false;
  private sentBytes = 0;
  private manifestSent = false;
  private readonly frames = new FrameEncoder();
  /** Whether the recipient knows this source has everything. */
  private announced = false;
  private corrupted = 0;
  /** How often each piece was sent whole (or deferred with `later`), by index. */
  private readonly sends = new Map<number, number>();

  constructor(
    private readonly link: PeerLink,
    private readonly source: PieceSource,
    private readonly events: SenderEvents,
    /** The tab's upload limit, shared with its other senders. */
    private readonly pacer?: UploadPacer,
    /** What this source's other senders gave out (none: every request is served). */
    private readonly ledger?: UploadLedger,
    /** Who this sender serves, in the ledger (by default, this sender alone). */
    private readonly recipient: unknown = null,
  ) {}

  private get holder(): unknown {
    return this.recipient ?? this;
  }

  /** Bytes of pieces handed to the channel so far. */
  get sent(): number {
    return this.sentBytes;
  }

  /** Tells the recipient what this source can serve; the first thing it says. */
  start(): void {
    this.announced = this.source.complete;
    this.link.sendControl(
      this.source.complete
        ? { t: 'have', all: true }
        : { t: 'have', bits: packHave(this.source.haveFlags()) },
    );
  }

  /** A part-way source has more to offer: the recipient hears of it (all of it, once complete). */
  announce(pieces: readonly number[]): void {
    if (this.stopped || !this.link.isOpen || this.announced) return;
    if (this.source.complete) {
      this.announced = true;
      this.link.sendControl({ t: 'have', all: true });
      return;
    }
    for (let i = 0; i < pieces.length; i += MAX_REQUEST_PIECES) {
      this.link.sendControl({ t: 'got', pieces: pieces.slice(i, i + MAX_REQUEST_PIECES) });
    }
  }

  /** Handles a control message; returns false when it is not the sender's business. */
  handle(msg: Control): boolean {
    switch (msg.t) {
      case 'manifest':
        this.sendManifest();
        return true;
      case 'request': {
        const later: number[] = [];
        for (const index of msg.pieces) {
          if (index >= this.source.meta.pieceCount || !this.source.has(index)) {
            this.link.fail(new P2PError('bad-request', { reason: 'out-of-place', piece: index }));
            return true;
          }
          if (this.queued.has(index)) continue;
          const sends = this.sends.get(index) ?? 0;
          if (sends >= MAX_SENDS_PER_PIECE) {
            this.link.fail(
              new P2PError('limit-exceeded', { reason: 'repeated-piece', piece: index }),
            );
            return true;
          }
          if (!msg.again && this.ledger?.elsewhere(index, this.holder)) {
            // Counted as a send: one who asks for ever without `again` is cut off the same way.
            this.sends.set(index, sends + 1);
            later.push(index);
            continue;
          }
          if (this.queue.length >= MAX_QUEUED_PIECES) {
            this.link.fail(new P2PError('limit-exceeded', { reason: 'too-many-pieces' }));
            return true;
          }
          this.queued.add(index);
          this.queue.push(index);
          this.ledger?.add(index, this.holder);
        }
        if (later.length > 0) this.link.sendControl({ t: 'later', pieces: later });
        void this.pump();
        return true;
      }
      case 'cancel': {
        const drop = msg.pieces.length ? new Set(msg.pieces) : new Set(this.queued);
        this.queue = this.queue.filter((i) => !drop.has(i));
        for (const i of drop) {
          if (this.queued.delete(i)) this.ledger?.remove(i, this.holder);
        }
        return true;
      }
      case 'done':
        this.events.onDone(msg.sha256);
        return true;
      default:
        return false;
    }
  }

  stop(): void {
    this.stopped = true;
    for (const i of this.queued) this.ledger?.remove(i, this.holder);
    this.queue = [];
    this.queued.clear();
  }

  private sendManifest(): void {
    if (this.manifestSent) {
      this.link.fail(new P2PError('bad-request', { reason: 'out-of-place' }));
      return;
    }
    this.manifestSent = true;
    const hashes = this.source.hashes;
    const payload = this.link.framePayload;
    for (let off = 0; off < hashes.byteLength; off += payload) {
      this.link.send(encodeFrame(FrameKind.Manifest, 0, off, hashes.subarray(off, off + payload)));
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let next: { index: number; data: Promise<Uint8Array<ArrayBuffer>> } | null = null;
      while (!this.stopped && this.link.isOpen) {
        const index = this.queue.shift();
        if (index === undefined) break;
        const data = await (next?.index === index ? next.data : this.source.read(index));
        const ahead = this.queue[0];
        next = ahead === undefined ? null : { index: ahead, data: this.source.read(ahead) };
        next?.data.catch(() => {});
        if (!this.queued.delete(index)) continue; // cancelled while reading
        await this.sendPiece(index, data);
      }
    } catch (err) {
      this.link.fail(
        err instanceof P2PError
          ? err
          : new P2PError('storage-error', { reason: 'read' }, { cause: err }),
      );
    } finally {
      this.pumping = false;
    }
  }

  private async sendPiece(index: number, data: Uint8Array<ArrayBuffer>): Promise<void> {
    if (data.byteLength !== pieceLength(this.source.meta, index)) {
      throw new P2PError('storage-error', { reason: 'changed' });
    }
    if (
      TEST_HOOKS &&
      this.corrupted < CORRUPT_FIRST_PIECES &&
      !this.source.original &&
      data.byteLength > 0
    ) {
      this.corrupted++;
      data = data.slice();
      data[0]! ^= 0xff;
    }
    const payload = this.link.framePayload;
    // Wait before a frame would take the queue past HIGH_WATER, not after it did.
    const limit = HIGH_WATER - FRAME_HEADER_BYTES - payload;
    for (let off = 0; off < data.byteLength; off += payload) {
      if (this.link.bufferedAmount > limit) await this.link.drain();
      const paced = this.pacer?.reserve(Math.min(payload, data.byteLength - off));
      if (paced) await paced;
      if (this.stopped || !this.link.isOpen) {
        this.ledger?.remove(index, this.holder);
        return;
      }
      this.link.send(
        this.frames.encode(FrameKind.Piece, index, off, data.subarray(off, off + payload)),
      );
    }
    this.sends.set(index, (this.sends.get(index) ?? 0) + 1);
    this.sentBytes += data.byteLength;
    this.events.onSent(this.sentBytes);
  }
}
