/**
 * Pulls pieces from one source over one PeerLink into a shared Download: fetches and checks the
 * manifest if the download has none yet, keeps a window of requested pieces so the channel never
 * idles, reassembles each piece from its frames (they arrive in order on the ordered channel) and
 * hands it over for verification. A source that sends what was not asked for, or one corrupt
 * piece, is dropped: the channel is authenticated and checksummed, so a bad piece is the
 * source's doing, never the network's.
 */
import { P2PError } from '../errors.js';
import {
  decodeFrame,
  FrameKind,
  MAX_REQUEST_PIECES,
  unpackHave,
  type Control,
} from '../../protocol/frames.js';
import { manifestBytes, pieceLength } from '../../protocol/meta.js';
import type { PeerLink } from '../rtc/peer-link.js';
import { realClock, type Clock } from './clock.js';
import type { Download, PieceParts } from './download.js';
import { TEST_HOOKS, trace } from './faults.js';

/**
 * How long a recipient that has part-way sources waits before asking a source `again` for a piece
 * it deferred: the recipient that got it may be one of them, and pass it on meanwhile.
 */
export const GIVEN_WAIT_MS = 4000;

/**
 * How long a recipient with no part-way source yet waits before asking `again` for a piece the
 * source deferred. The recipient that got the piece is most likely about to become a seed (seeding
 * is on by default), and the service names new seeds at the next top-up (every 1.5 s): asking at
 * once, when recipients start together, had the sharer send both of them the whole file, in the
 * same order, so they had nothing to trade.
 */
export const DEFERRED_GRACE_MS = 2500;

/** Bytes requested and not yet received that keep one source busy. */
export const REQUEST_WINDOW_BYTES = 24 * 1024 * 1024;
const MIN_WINDOW_PIECES = 4;
/**
 * While pieces are in flight, a request goes out once an eighth of the window is free: with the
 * default window, 24 pieces a request instead of one (a window of 8 pieces or less, as swarm
 * sources get, still asks piece by piece).
 */
export const REQUEST_BATCHES = 8;

/**
 * A piece arriving in several frames. Its frames are kept as they arrived, not copied into one
 * buffer: verified and written part by part. A buffer per piece doubled the ArrayBuffer memory
 * waiting for the garbage collector (the recipient's RSS rose by 60 MiB between collections on a
 * 1 GiB download); see bench/NOTES.md, "Receiver memory".
 */
interface Assembly {
  index: number;
  length: number;
  parts: Uint8Array<ArrayBuffer>[];
  received: number;
}

export interface FetcherEvents {
  /**
   * Bytes to keep requested from this source; REQUEST_WINDOW_BYTES when absent. With several
   * sources, a smaller window per source lets faster ones take more of the file.
   */
  windowBytes?: () => number;
  /** Pieces to ask this source for before any other (those no other source offers, say). */
  prefer?: (index: number) => boolean;
  /** Whether to ask this source for preferred pieces only (none of the others), for now. */
  preferOnly?: () => boolean;
  /**
   * Whether other sources of this download have only part of the file: pieces this source
   * deferred may reach them, so they are asked of it `again` only after GIVEN_WAIT_MS (without
   * such sources, after DEFERRED_GRACE_MS, in case one appears).
   */
  trading?: () => boolean;
  /** A piece from this source was verified. */
  onPiece: (index: number, bytes: number) => void;
  /** Every piece is verified (by this source or another). */
  onComplete: () => void;
  onError: (error: P2PError) => void;
}

export class PieceFetcher {
  private requested: number[] = [];
  private current: Assembly | null = null;
  private manifest: Uint8Array<ArrayBuffer> | null = null;
  private manifestReceived = 0;
  /** This source's manifest, received whole and being checked (pieces wait for the check). */
  private manifestCheck: Promise<boolean> | null = null;
  private stopped = false;
  private requesting = false;
  private completed = false;
  /** What the source offers: unknown until its `have`, null for everything, else one flag per piece. */
  private offer: Uint8Array | null | undefined = undefined;
  /**
   * When the source answered `later` for each piece (another recipient has it from it), 0 for
   * never: asked of it again only once nothing else it offers is left, and then with `again`.
   */
  private given: Float64Array | null = null;
  /** Ends the wait to fill again when the earliest deferred piece may be asked for again. */
  private ripening: AbortController | null = null;

  constructor(
    private readonly link: PeerLink,
    private readonly download: Download,
    private readonly events: FetcherEvents,
    private readonly clock: Clock = realClock,
  ) {}

  private get peer(): string {
    return this.link.remoteId;
  }

  start(): void {
    if (this.download.hashes) {
      void this.fill();
      return;
    }
    this.manifest = new Uint8Array(manifestBytes(this.download.meta));
    this.link.sendControl({ t: 'manifest' });
  }

  /** Whether the source said it has the whole file. */
  get whole(): boolean {
    return this.offer === null;
  }

  /** Whether the source offers piece `index` (false until it said what it has). */
  offers(index: number): boolean {
    return this.offer === null || this.offer?.[index] === 1;
  }

  /** Takes the source's `have` and `got` messages; false for anything else. */
  handleControl(msg: Control): boolean {
    if (msg.t === 'have') {
      if (msg.all) this.offer = null;
      else {
        const flags =
          msg.bits === undefined ? null : unpackHave(msg.bits, this.download.meta.pieceCount);
        if (!flags) {
          this.fail(new P2PError('bad-request', { reason: 'malformed' }));
          return true;
        }
        this.offer = flags;
      }
    } else if (msg.t === 'later') {
      const count = this.download.meta.pieceCount;
      if (msg.pieces.some((i) => i >= count)) {
        this.fail(new P2PError('bad-request', { reason: 'out-of-place' }));
        return true;
      }
      const given = (this.given ??= new Float64Array(count));
      const now = this.clock.now();
      for (const i of msg.pieces) {
        given[i] = now;
        // Not queued by the source: no frames of it will come. (One no longer requested, after
        // a cancel in the end game, say, is only noted.)
        const at = this.requested.indexOf(i);
        if (at < 0) continue;
        this.requested.splice(at, 1);
        this.download.release(this.peer, i);
      }
    } else if (msg.t === 'got') {
      const offer = this.offer;
      if (offer === undefined || msg.pieces.some((i) => i >= this.download.meta.pieceCount)) {
        this.fail(new P2PError('bad-request', { reason: 'out-of-place' }));
        return true;
      }
      if (offer) for (const i of msg.pieces) offer[i] = 1;
    } else {
      return false;
    }
    this.poke();
    return true;
  }

  /**
   * Asks for more if the window has room: another source gave pieces back, say. Pieces are asked
   * for while the manifest is still on its way (it comes first on the ordered channel, and each
   * piece waits for its check), so a fresh link does not wait a round trip for it.
   */
  poke(): void {
    if (this.download.hashes || this.manifest || this.manifestCheck) void this.fill();
  }

  /** Stops fetching and gives unfinished pieces back to the download. */
  stop(): void {
    this.stopped = true;
    this.ripening?.abort();
    this.requested = [];
    this.current = null;
    this.download.release(this.peer);
  }

  handleData(buf: ArrayBuffer): void {
    if (this.stopped) return;
    const frame = decodeFrame(buf);
    if (!frame) return this.fail(new P2PError('bad-request', { reason: 'malformed' }));
    if (frame.kind === FrameKind.Manifest) return this.handleManifest(frame.offset, frame.payload);
    const expected = this.current?.index ?? this.requested[0];
    if (frame.index !== expected) {
      return this.fail(new P2PError('bad-request', { reason: 'out-of-place', piece: frame.index }));
    }
    if (!this.current) {
      this.requested.shift();
      const length = pieceLength(this.download.meta, frame.index);
      this.current = { index: frame.index, length, parts: [], received: 0 };
    }
    const piece = this.current;
    if (
      frame.offset !== piece.received ||
      piece.received + frame.payload.byteLength > piece.length
    ) {
      return this.fail(new P2PError('bad-request', { reason: 'out-of-place', piece: piece.index }));
    }
    // Used where it arrived, a view past the frame header: no buffer to allocate, no copy.
    piece.parts.push(frame.payload);
    piece.received += frame.payload.byteLength;
    if (piece.received === piece.length) {
      this.current = null;
      void this.deliver(piece.index, piece.parts);
    }
  }

  private handleManifest(offset: number, payload: Uint8Array): void {
    const manifest = this.manifest;
    if (
      !manifest ||
      offset !== this.manifestReceived ||
      offset + payload.byteLength > manifest.byteLength
    ) {
      return this.fail(new P2PError('bad-request', { reason: 'out-of-place' }));
    }
    manifest.set(payload, offset);
    this.manifestReceived += payload.byteLength;
    if (this.manifestReceived < manifest.byteLength) return;
    this.manifest = null;
    const check = (this.manifestCheck = this.download.setManifest(manifest));
    void check.then((ok) => {
      if (this.stopped) return;
      if (!ok) {
        this.fail(new P2PError('integrity', { reason: 'manifest' }));
        return;
      }
      void this.fill();
    });
  }

  private async deliver(index: number, parts: PieceParts): Promise<void> {
    try {
      // A piece that came on the manifest's heels waits for the manifest's check (a failed one
      // stops this fetcher); one that came before the manifest was whole is refused by `accept`.
      if (!this.download.hashes && this.manifestCheck && !(await this.manifestCheck)) return;
      if (this.stopped) return;
      const result = await this.download.accept(this.peer, index, parts);
      if (this.stopped) return;
      if (result === 'corrupt') {
        if (TEST_HOOKS) trace('corrupt', this.peer, [index]);
        this.fail(new P2PError('integrity', { reason: 'piece', piece: index }));
        return;
      }
      if (result === 'ok') {
        if (TEST_HOOKS) trace('verified', this.peer, [index]);
        this.events.onPiece(index, pieceLength(this.download.meta, index));
      }
      if (this.download.complete) return this.complete();
      await this.fill();
    } catch (err) {
      this.fail(
        err instanceof P2PError
          ? err
          : new P2PError('storage-error', { reason: 'write' }, { cause: err }),
      );
    }
  }

  /** Tops up the request window, after the disk has caught up. */
  private async fill(): Promise<void> {
    if (this.requesting || this.stopped) return;
    this.requesting = true;
    try {
      await this.download.settle();
      if (this.stopped) return;
      if (this.download.complete) return this.complete();
      const meta = this.download.meta;
      const windowPieces = Math.max(
        MIN_WINDOW_PIECES,
        Math.ceil((this.events.windowBytes?.() ?? REQUEST_WINDOW_BYTES) / meta.pieceSize),
      );
      const busy = this.requested.length + (this.current ? 1 : 0);
      const want = Math.min(MAX_REQUEST_PIECES, windowPieces - busy);
      // The window is topped up a batch at a time, not a piece at a time: every request is a
      // send (a blocking call into the browser's network thread) and a parse at the source.
      const batch = busy > 0 ? Math.ceil(windowPieces / REQUEST_BATCHES) : 1;
      if (want < batch || this.offer === undefined) return;
      const offer = this.offer;
      const allowed = offer === null ? undefined : (i: number) => offer[i] === 1;
      const given = this.given;
      const prefer = this.events.prefer ?? (() => true);
      // A deferred piece is asked for again once it had time to reach a part-way source of ours
      // (or, with none yet, for the recipient that got it to become one).
      const now = this.clock.now();
      const wait = given ? (this.events.trading?.() ? GIVEN_WAIT_MS : DEFERRED_GRACE_MS) : 0;
      let ripeAt = Infinity;
      const ripe = (i: number) => {
        const at = given![i]!;
        if (at === 0 || now - at >= wait) return true;
        ripeAt = Math.min(ripeAt, at + wait);
        return false;
      };
      const pieces = this.download.claim(
        this.peer,
        want,
        given ? (i) => (allowed?.(i) ?? true) && ripe(i) : allowed,
        given ? [prefer, (i) => given[i] === 0] : [prefer],
        this.events.preferOnly?.() ?? false,
      );
      if (pieces.length === 0 && ripeAt < Infinity && !this.ripening) {
        const ripening = (this.ripening = new AbortController());
        void this.clock.sleep(ripeAt - now + 1, ripening.signal).then(() => {
          if (ripening.signal.aborted) return;
          this.ripening = null;
          this.poke();
        });
      }
      // Pieces the source deferred before are asked for again only now, and it must send them.
      const fresh = given ? pieces.filter((i) => given[i] === 0) : pieces;
      let again = given ? pieces.filter((i) => given[i] !== 0) : [];
      // Idle with nothing left to claim: help finish pieces a slower source still owes.
      if (pieces.length === 0 && busy === 0) {
        again = this.download.claimSecond(this.peer, want, allowed);
      }
      if (fresh.length > 0) {
        this.requested.push(...fresh);
        this.link.sendControl({ t: 'request', pieces: fresh });
      }
      if (again.length > 0) {
        this.requested.push(...again);
        this.link.sendControl({ t: 'request', pieces: again, again: true });
      }
      if (TEST_HOOKS && fresh.length + again.length > 0) {
        trace('request', this.peer, [...fresh, ...again]);
      }
    } catch (err) {
      this.fail(
        err instanceof P2PError
          ? err
          : new P2PError('storage-error', { reason: 'write' }, { cause: err }),
      );
    } finally {
      this.requesting = false;
    }
  }

  private complete(): void {
    if (this.completed) return;
    this.completed = true;
    this.ripening?.abort();
    this.events.onComplete();
  }

  private fail(error: P2PError): void {
    if (this.stopped) return;
    this.stop();
    this.link.fail(error);
    this.events.onError(error);
  }
}
