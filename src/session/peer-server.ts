/**
 * Serving a file to the recipients that connect: answers each recipient's offer with a PeerLink
 * whose piece requests a PieceSender serves, and keeps the per-recipient views a widget shows.
 * The sharer runs one from the moment it shares; a recipient runs one once it has the whole file
 * and keeps seeding. It knows nothing of rooms or the service beyond relaying envelopes.
 */
import { errorData, P2PError } from '../errors.js';
import type { SignalIn } from '../../protocol/signalling.js';
import { fromOfferer, PeerLink } from '../rtc/peer-link.js';
import { openEnvelope, sealRefusal, type SealingEnds } from '../rtc/sealed-signalling.js';
import { PieceSender, UploadLedger } from '../transfer/piece-sender.js';
import { Admission, REFUSE_UNSEALED_MS } from './admission.js';
import { whenIdle } from './idle.js';
import {
  CONNECT_EVERY_MS,
  EVICT_AFTER_MS,
  MAX_CHECKING,
  MAX_FAILED_ROWS,
  MAX_HELD,
  MAX_PEERS,
  SETUP_EXTRA,
  type PeerServerOptions,
} from './peer-server-options.js';
import { PROGRESS_MS, RateMeter } from './rate.js';
import type { PeerView } from './types.js';

export {
  EVICT_AFTER_MS,
  MAX_FAILED_ROWS,
  MAX_PEERS,
  SETUP_EXTRA,
  type PeerServerOptions,
} from './peer-server-options.js';

interface PeerEntry {
  link: PeerLink;
  /** This page's peer id when the link was made: a reconnect changes it. */
  localId: string;
  /** When the link was made, for choosing the oldest one still being set up. */
  startedAt: number;
  sender: PieceSender | null;
  view: PeerView;
  rate: RateMeter;
  /** Bytes this entry's sender handed to the channel (part of the upload total). */
  sent: number;
  /** When this recipient's progress was last reported. */
  progressAt: number;
}

export class PeerServer {
  /** Recipients to show, by peer id: the latest attempt of each whose offer opened. */
  private readonly peers = new Map<string, PeerEntry>();
  /** Attempts whose link holds the peer's offer but has not shown it genuine yet. */
  private readonly pending = new Map<string, PeerEntry>();
  /** Strangers whose first envelope is being opened, with what they sent since (in order). */
  private readonly checking = new Map<string, string[]>();
  /** Failed rows in the order they failed, the oldest first (at most MAX_FAILED_ROWS). */
  private readonly failedRows = new Set<string>();
  private readonly admission: Admission;
  private closed = false;
  /** Upload total of links that are gone (live ones are summed on demand). */
  private uploadedBefore = 0;
  /** Which pieces went to whom, so each piece leaves this peer about once (see UploadLedger). */
  private readonly ledger = new UploadLedger();
  /** A connection made ahead for the next recipient's link (see PeerLink's `pc`). */
  private spare: RTCPeerConnection | null = null;

  constructor(private readonly opts: PeerServerOptions) {
    this.admission = new Admission({
      connectBurst: this.capacity,
      connectEveryMs: CONNECT_EVERY_MS,
      noticeBurst: SETUP_EXTRA,
      noticeEveryMs: CONNECT_EVERY_MS,
    });
  }

  /**
   * Makes the first recipient's connection ahead, once the page is idle: a page's first
   * RTCPeerConnection costs the browser 6–15 ms to set up WebRTC, which would otherwise come
   * between that recipient's offer and our answer.
   */
  prepare(): void {
    whenIdle(() => {
      if (this.closed || this.spare) return;
      try {
        this.spare = new RTCPeerConnection(this.opts.ice);
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

  /** This page's peer id at the service for links made from now on (it changes on reconnect). */
  set localId(peerId: string) {
    this.opts.localId = peerId;
  }

  views(): PeerView[] {
    return [...this.peers.values()].map((p) => ({ ...p.view, relayed: p.link.relayed }));
  }

  /**
   * Hands an envelope from `from` to its link. A stranger's first envelope is opened and checked
   * before anything is made for it, and only a genuine offer, within the peer's and this
   * server's budgets, gets a connection.
   */
  handleSignal({ from, envelope }: SignalIn): void {
    // Only those who fetch from us offer; anything else is not for a link this server runs.
    if (this.closed || !fromOfferer(envelope)) return;
    const live = this.liveEntry(from);
    // An offer to this page's new peer id (after a reconnect) is a new connection, even from a
    // peer whose link to the old id is still open.
    if (live?.localId === this.opts.localId) {
      live.link.receive(envelope);
      return;
    }
    if (this.admission.isRefused(from)) return;
    const held = this.checking.get(from);
    if (held) {
      if (held.length < MAX_HELD) held.push(envelope);
      return;
    }
    if (this.checking.size >= MAX_CHECKING) return;
    this.checking.set(from, []);
    void this.check(from, envelope);
  }

  /** The source has new pieces (or all of them): every recipient served hears of it. */
  announce(pieces: readonly number[]): void {
    for (const entry of this.peers.values()) entry.sender?.announce(pieces);
  }

  /** The service says `peerId` left: a link that never opened will not. */
  peerLeft(peerId: string): void {
    this.admission.forget(peerId);
    const entry = this.liveEntry(peerId);
    if (entry && !entry.link.isOpen) {
      entry.link.fail(new P2PError('peer-vanished', { reason: 'left' }));
    }
  }

  /** An envelope for `peerId` was not relayed: its link cannot open (or go on). */
  relayFailed(peerId: string, error: P2PError): void {
    this.liveEntry(peerId)?.link.fail(error);
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
    this.checking.clear();
  }

  /** Connections this server may hold at once: the recipients it serves and a few being set up. */
  private get capacity(): number {
    return (this.opts.maxPeers ?? MAX_PEERS) + SETUP_EXTRA;
  }

  /** `peerId`'s link that is not closed, if there is one (a new attempt's first). */
  private liveEntry(peerId: string): PeerEntry | undefined {
    for (const entry of [this.pending.get(peerId), this.peers.get(peerId)]) {
      if (entry && !entry.link.isClosed) return entry;
    }
    return undefined;
  }

  private *liveEntries(): Generator<PeerEntry> {
    for (const entry of this.pending.values()) if (!entry.link.isClosed) yield entry;
    for (const [peerId, entry] of this.peers) {
      if (!entry.link.isClosed && this.pending.get(peerId) !== entry) yield entry;
    }
  }

  /**
   * Opens a stranger's first envelope. One that does not open refuses its sender for a while
   * (and tells it so, within a budget, for an honest peer behind a relay that altered it); a
   * genuine offer gets a connection if there is room; anything else (candidates trailing a
   * connection that ended) starts nothing, and what came after it is looked at in turn.
   */
  private async check(peerId: string, first: string): Promise<void> {
    const ends = this.ends(peerId);
    const opened = await openEnvelope(ends, 'offerer', first).catch(() => null);
    const held = this.checking.get(peerId) ?? [];
    this.checking.delete(peerId);
    if (this.closed) return;
    if (!opened) {
      this.admission.refuse(peerId, REFUSE_UNSEALED_MS);
      if (this.admission.mayNotify()) {
        void sealRefusal(ends, 'tampered')
          .then((refusal) => this.opts.relay(peerId, refusal))
          .catch(() => {});
      }
      return;
    }
    if (opened.k !== 'offer') {
      for (const envelope of held) this.handleSignal({ from: peerId, envelope });
      return;
    }
    const entry = this.admit(peerId);
    if (!entry) {
      this.settleRefused(peerId);
      return;
    }
    for (const envelope of [first, ...held]) entry.link.receive(envelope);
  }

  /**
   * A link for `peerId`'s genuine offer if the budgets allow it: fewer than `maxPeers` open, a
   * token from the peer's rate and from this server's, and a free place among `capacity` (or
   * one taken from the oldest connection still being set up, past EVICT_AFTER_MS).
   */
  private admit(peerId: string): PeerEntry | null {
    const now = performance.now();
    let open = 0;
    let live = 0;
    let oldest: PeerEntry | null = null;
    for (const entry of this.liveEntries()) {
      live++;
      if (entry.link.isOpen) open++;
      else if (!oldest || entry.startedAt < oldest.startedAt) oldest = entry;
    }
    if (open >= (this.opts.maxPeers ?? MAX_PEERS)) return null;
    const full = live >= this.capacity;
    if (full && (!oldest || now - oldest.startedAt < EVICT_AFTER_MS)) return null;
    if (!this.admission.takeConnection(peerId)) return null;
    if (full) oldest?.link.fail(new P2PError('connection-failed', { reason: 'timeout' }));
    const entry = this.createPeer(peerId);
    this.pending.set(peerId, entry);
    return entry;
  }

  /** A row left waiting by a connection that handed over to a refused one is failed now. */
  private settleRefused(peerId: string): void {
    const shown = this.peers.get(peerId);
    if (shown?.link.isClosed && shown.view.status === 'connecting') {
      this.fail(shown, new P2PError('connection-failed', { reason: 'timeout' }));
    }
  }

  private ends(peerId: string): SealingEnds {
    const { roomId, localId, keys } = this.opts;
    return { role: 'answerer', roomId, localId, remoteId: peerId, keys };
  }

  private takeSpare(): RTCPeerConnection | undefined {
    const pc = this.spare ?? undefined;
    this.spare = null;
    return pc;
  }

  /**
   * A connection attempt from `peerId`, made for an offer that opened. It joins the list shown
   * once its link finds the offer genuine for itself (its session and order check out).
   */
  private createPeer(peerId: string): PeerEntry {
    const { source, keys } = this.opts;
    const total = source.meta.size;
    const view: PeerView = { peerId, status: 'connecting', bytes: 0, total, speed: 0 };
    const entry: PeerEntry = {
      link: null as unknown as PeerLink,
      localId: this.opts.localId,
      startedAt: performance.now(),
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
      this.failedRows.delete(peerId);
      this.peers.set(peerId, entry);
      this.opts.onChange();
    };
    entry.link = new PeerLink({
      role: 'answerer',
      roomId: this.opts.roomId,
      localId: this.opts.localId,
      page: this.opts.page,
      remoteId: peerId,
      keys,
      ice: this.opts.ice,
      pc: this.takeSpare(),
      ...(this.opts.connectTimeoutMs ? { connectTimeoutMs: this.opts.connectTimeoutMs } : {}),
      ...(this.opts.heartbeatMs ? { heartbeatMs: this.opts.heartbeatMs } : {}),
      relay: (env) => this.opts.relay(peerId, env),
      onOffer: show,
      // The old link is closed by now: the new offer is a stranger's first again.
      onSuperseded: (envelope) => this.handleSignal({ from: peerId, envelope }),
      onOpen: () => {
        // The same recipient under a new peer id (see dropStale in source-pool.ts): one row for
        // it, the new link's.
        const page = entry.link.remotePage;
        for (const [id, other] of this.peers) {
          if (page && other !== entry && other.link.remotePage === page) {
            this.uploadedBefore += other.sent;
            this.peers.delete(id);
            this.failedRows.delete(id);
            other.link.close();
          }
        }
        this.opts.onOpened?.(peerId);
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
      onClose: (error) => this.closed || this.linkClosed(peerId, entry, error),
    });
    return entry;
  }

  /** `entry`'s link closed: count it against its peer if it failed, and update its row. */
  private linkClosed(peerId: string, entry: PeerEntry, error: P2PError | null): void {
    entry.sender?.stop();
    if (this.pending.get(peerId) === entry) this.pending.delete(peerId);
    if (error && STRIKING.has(error.code) && this.admission.strike(peerId)) {
      this.opts.onRefused?.(peerId);
    }
    if (this.peers.get(peerId) !== entry) return;
    if (entry.view.status === 'done') {
      this.opts.onChange();
      return;
    }
    if (entry.link.superseded) {
      // Not a failure: the recipient is already connecting again, and shows once it has.
      this.update(entry, { status: 'connecting', speed: 0 });
      return;
    }
    this.fail(entry, error ?? new P2PError('peer-vanished', { reason: 'closed' }));
  }

  /** Shows `entry` as failed, keeping only the latest MAX_FAILED_ROWS failed rows. */
  private fail(entry: PeerEntry, error: P2PError): void {
    const { peerId } = entry.view;
    this.failedRows.delete(peerId);
    this.failedRows.add(peerId);
    for (const oldest of this.failedRows) {
      if (this.failedRows.size <= MAX_FAILED_ROWS) break;
      this.failedRows.delete(oldest);
      const row = this.peers.get(oldest);
      if (row?.view.status !== 'failed') continue;
      this.uploadedBefore += row.sent;
      this.peers.delete(oldest);
    }
    this.update(entry, { status: 'failed', speed: 0, error: errorData(error) });
  }

  private update(entry: PeerEntry, patch: Partial<PeerView>): void {
    Object.assign(entry.view, patch);
    this.opts.onChange();
  }
}

/** The failures a peer is counted for: not reaching us, or breaking the rules. */
const STRIKING = new Set(['connection-failed', 'tampered', 'bad-request']);
