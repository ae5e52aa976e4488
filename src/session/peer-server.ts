/**
 * Serving a file to the recipients that connect: answers each recipient's offer with a PeerLink
 * whose piece requests a PieceSender serves, and keeps the per-recipient views a widget shows.
 * The sharer runs one from the moment it shares; a recipient runs one once it has the whole file
 * and keeps seeding. It knows nothing of rooms or the service beyond relaying envelopes.
 */
import type { RoomKeys } from '../crypto/keys.js';
import { errorData, P2PError } from '../errors.js';
import type { SignalIn } from '../../protocol/signalling.js';
import { fromOfferer, PeerLink } from '../rtc/peer-link.js';
import { PieceReader, type Prepared } from '../transfer/manifest.js';
import type { UploadPacer } from '../transfer/pacer.js';
import { PieceSender, UploadLedger, type PieceSource } from '../transfer/piece-sender.js';
import { whenIdle } from './idle.js';
import { PROGRESS_MS, RateMeter } from './rate.js';
import type { PeerView, ProgressDetail } from './types.js';

/** Recipients served at once; more are refused until one finishes (the service's queue waits). */
export const MAX_PEERS = 16;
/** How long after a refused connection the same peer's envelopes stay refused. */
const REOPEN_AFTER_MS = 3000;

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

export interface PeerServerOptions {
  roomId: string;
  localId: string;
  keys: RoomKeys;
  iceServers: RTCIceServer[];
  source: PieceSource;
  pacer?: UploadPacer;
  /** Relays a sealed envelope to `to` through the service. */
  relay: (to: string, envelope: string) => void | Promise<void>;
  /** The views or the upload total changed (coalesce before rendering). */
  onChange: () => void;
  onProgress: (detail: ProgressDetail) => void;
  /** Recipients served at once (default MAX_PEERS). */
  maxPeers?: number;
}

interface PeerEntry {
  link: PeerLink;
  /** When the connection was refused as tampered (0: it was not). */
  tamperedAt: number;
  sender: PieceSender | null;
  view: PeerView;
  rate: RateMeter;
  /** Bytes this entry's sender handed to the channel (part of the upload total). */
  sent: number;
  /** When this recipient's progress was last reported. */
  progressAt: number;
}

export class PeerServer {
  /** Recipients to show, by peer id: the latest attempt of each. */
  private readonly peers = new Map<string, PeerEntry>();
  /** Attempts that have not shown a genuine offer yet. */
  private readonly pending = new Map<string, PeerEntry>();
  private closed = false;
  /** Upload total of links that are gone (live ones are summed on demand). */
  private uploadedBefore = 0;
  /** Which pieces went to whom, so each piece leaves this peer about once (see UploadLedger). */
  private readonly ledger = new UploadLedger();
  /** A connection made ahead for the next recipient's link (see PeerLink's `pc`). */
  private spare: RTCPeerConnection | null = null;

  constructor(private readonly opts: PeerServerOptions) {}

  /**
   * Makes the first recipient's connection ahead, once the page is idle: a page's first
   * RTCPeerConnection costs the browser 6–15 ms to set up WebRTC, which would otherwise come
   * between that recipient's offer and our answer.
   */
  prepare(): void {
    whenIdle(() => {
      if (this.closed || this.spare) return;
      try {
        this.spare = new RTCPeerConnection({ iceServers: this.opts.iceServers });
      } catch {
        // No WebRTC here: the first offer's link reports it.
      }
    });
  }

  /** Bytes uploaded to every recipient together. */
  get uploaded(): number {
    let live = 0;
    for (const entry of this.peers.values()) live += entry.sent;
    return this.uploadedBefore + live;
  }

  /** Recipients connected or connecting right now. */
  get serving(): number {
    let n = 0;
    for (const entry of this.peers.values()) if (!entry.link.isClosed) n++;
    return n;
  }

  views(): PeerView[] {
    return [...this.peers.values()].map((p) => ({ ...p.view }));
  }

  /** Hands an envelope from `from` to its link, starting one for a new offer. */
  handleSignal({ from, envelope }: SignalIn): void {
    // Only those who fetch from us offer; anything else is not for a link this server runs.
    if (this.closed || !fromOfferer(envelope)) return;
    const shown = this.peers.get(from);
    if (shown && !shown.link.isClosed) {
      shown.link.receive(envelope);
      return;
    }
    // After a refused connection, the rest of its envelopes are refused with it, not one by one.
    if (shown?.tamperedAt && performance.now() - shown.tamperedAt < REOPEN_AFTER_MS) return;
    let pending = this.pending.get(from);
    if (!pending || pending.link.isClosed) {
      if (this.serving >= (this.opts.maxPeers ?? MAX_PEERS)) return;
      pending = this.createPeer(from);
      this.pending.set(from, pending);
    }
    pending.link.receive(envelope);
  }

  /** Whether envelopes from `peerId` belong to a link this server runs. */
  knows(peerId: string): boolean {
    return this.peers.has(peerId) || this.pending.has(peerId);
  }

  /** The source has new pieces (or all of them): every recipient served hears of it. */
  announce(pieces: readonly number[]): void {
    for (const entry of this.peers.values()) entry.sender?.announce(pieces);
  }

  /** The service says `peerId` left: a link that never opened will not. */
  peerLeft(peerId: string): void {
    const entry = this.peers.get(peerId) ?? this.pending.get(peerId);
    if (entry && !entry.link.isOpen) {
      entry.link.fail(new P2PError('peer-vanished', { reason: 'left' }));
    }
  }

  /** An envelope for `peerId` was not relayed: its link cannot open (or go on). */
  relayFailed(peerId: string, error: P2PError): void {
    const entry = this.pending.get(peerId) ?? this.peers.get(peerId);
    if (entry && !entry.link.isClosed) entry.link.fail(error);
  }

  /** Closes every link; the server serves nobody afterwards. */
  close(reason: P2PError): void {
    this.closed = true;
    this.spare?.close();
    this.spare = null;
    for (const entry of [...this.peers.values(), ...this.pending.values()]) {
      entry.sender?.stop();
      entry.link.fail(reason);
    }
    this.uploadedBefore = this.uploaded;
    this.peers.clear();
    this.pending.clear();
  }

  /**
   * `peerId` started a new connection while its last one still stood here (it lost that one
   * before we noticed): the new one takes over, whatever the limit, since it replaces one.
   */
  private takeOver(peerId: string, envelope: string): void {
    if (this.closed) return;
    let next = this.pending.get(peerId);
    if (!next || next.link.isClosed) {
      next = this.createPeer(peerId);
      this.pending.set(peerId, next);
    }
    next.link.receive(envelope);
  }

  private takeSpare(): RTCPeerConnection | undefined {
    const pc = this.spare ?? undefined;
    this.spare = null;
    return pc;
  }

  /**
   * A connection attempt from `peerId`. It joins the list shown once its offer opens (stale
   * envelopes of an earlier attempt start nothing), or when it is refused as tampered.
   */
  private createPeer(peerId: string): PeerEntry {
    const { source, keys } = this.opts;
    const total = source.meta.size;
    const view: PeerView = { peerId, status: 'connecting', bytes: 0, total, speed: 0 };
    const entry: PeerEntry = {
      link: null as unknown as PeerLink,
      tamperedAt: 0,
      sender: null,
      view,
      rate: new RateMeter(),
      sent: 0,
      progressAt: -Infinity,
    };
    const show = () => {
      if (this.pending.get(peerId) === entry) this.pending.delete(peerId);
      const earlier = this.peers.get(peerId);
      if (earlier && earlier !== entry) this.uploadedBefore += earlier.sent;
      this.peers.set(peerId, entry);
      this.opts.onChange();
    };
    entry.link = new PeerLink({
      role: 'answerer',
      roomId: this.opts.roomId,
      localId: this.opts.localId,
      remoteId: peerId,
      keys,
      iceServers: this.opts.iceServers,
      pc: this.takeSpare(),
      relay: (env) => this.opts.relay(peerId, env),
      onOffer: show,
      onSuperseded: (envelope) => this.takeOver(peerId, envelope),
      onOpen: () => {
        entry.sender = new PieceSender(
          entry.link,
          source,
          {
            onSent: (bytes) => {
              entry.sent = bytes;
              const confirmed = Math.max(0, Math.min(total, bytes - entry.link.bufferedAmount));
              entry.rate.add(confirmed);
              this.update(entry, {
                status: 'transferring',
                bytes: confirmed,
                speed: entry.rate.rate,
              });
              // At most one event per PROGRESS_MS per recipient; its end comes with `done`.
              const now = performance.now();
              if (now - entry.progressAt < PROGRESS_MS) return;
              entry.progressAt = now;
              this.opts.onProgress({ bytes: confirmed, total, peer: peerId });
            },
            onDone: () => {
              this.update(entry, { status: 'done', bytes: total, speed: 0 });
              this.opts.onProgress({ bytes: total, total, peer: peerId });
            },
          },
          this.opts.pacer,
          this.ledger,
          peerId,
        );
        entry.sender.start();
        this.update(entry, { status: 'transferring' });
      },
      onControl: (msg) => {
        if (!entry.sender?.handle(msg)) {
          entry.link.fail(new P2PError('bad-request', { reason: 'out-of-place' }));
        }
      },
      onData: () => entry.link.fail(new P2PError('bad-request', { reason: 'out-of-place' })),
      onClose: (error) => {
        entry.sender?.stop();
        if (error?.code === 'tampered') {
          entry.tamperedAt = performance.now();
          show();
        }
        if (this.peers.get(peerId) !== entry) {
          if (this.pending.get(peerId) === entry) this.pending.delete(peerId);
          return;
        }
        if (entry.view.status === 'done' || this.closed) {
          this.opts.onChange();
          return;
        }
        if (entry.link.superseded) {
          // Not a failure: the recipient is already connecting again, and shows once it has.
          this.update(entry, { status: 'connecting', speed: 0 });
          return;
        }
        this.update(entry, {
          status: 'failed',
          speed: 0,
          error: errorData(error ?? new P2PError('peer-vanished', { reason: 'closed' })),
        });
      },
    });
    return entry;
  }

  private update(entry: PeerEntry, patch: Partial<PeerView>): void {
    Object.assign(entry.view, patch);
    this.opts.onChange();
  }
}
