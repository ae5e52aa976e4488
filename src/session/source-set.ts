/**
 * The sources one download fetches from at once: asks the service for sources (or waits in the
 * room's queue), opens a PeerLink and a PieceFetcher per source, gives each a request window
 * sized to its speed, tells the service which sources gave a verified piece (once each) and
 * replaces one that vanished or misbehaved (reporting a corrupt one), and frees every slot once
 * the file is complete. It settles when every piece is verified, or
 * when nobody is left who could serve what is missing.
 */
import type { RoomKeys } from '../crypto/keys.js';
import { P2PError, toP2PError } from '../errors.js';
import type { SignalIn, SourcesReply, SwarmStats } from '../../protocol/signalling.js';
import type { SignalClient } from '../signal/signal-client.js';
import type { Download } from '../transfer/download.js';
import { openSource, type Source } from './fetch-source.js';
import {
  RECONNECT_AFTER_MS,
  RECONNECT_TIMEOUT_MS,
  lostError,
  retries,
} from './reconnect-policy.js';
import { dropStale, openLinks, prefers, relayedLinks, trading, windowFor } from './source-pool.js';

export { RECONNECT_AFTER_MS, RECONNECT_TIMEOUT_MS } from './reconnect-policy.js';

/** Sources fetched from at once (the service may also cap it). */
export const MAX_SOURCES = 4;
/** How often a recipient with fewer sources than it may have asks whether more are free. */
const TOP_UP_MS = 1500;
/** Longest wait before asking again after the service said the room is busy. */
const MAX_ASK_DELAY_MS = 5_000;

export interface SourceSetOptions {
  roomId: string;
  client: SignalClient;
  keys: RoomKeys;
  ice: RTCConfiguration;
  download: Download;
  maxSources?: number;
  /**
   * Sessions of links this download ended, kept across its attempts (see PeerLink's `retired`):
   * a retry that reaches the same source at once must not fail on the last attempt's late answer.
   */
  retired?: Set<string>;
  /**
   * A connection made ahead for the first link (see PeerLink's `pc`); closed if no link takes
   * it.
   */
  pc?: RTCPeerConnection;
  /** A piece from `peer` was verified. */
  onPiece: (peer: string) => void;
  /** A link opened (the first one ends "connecting"). */
  onOpen: (peer: string) => void;
  /** A source was lost and gets its one more attempt (`open` says whether others are left). */
  onRetry?: (peer: string) => void;
  /** Queued at `position` (1 = next); null once a source was assigned. */
  onQueue: (position: number | null) => void;
}

export class SourceSet {
  private readonly sources = new Map<string, Source>();
  /** Sources that failed this download: never asked for again. */
  private readonly failed = new Set<string>();
  /**
   * Sources a verified piece came from, told to the service once each: with the seed's own word
   * that the link opened, that takes a recipient seed off probation.
   */
  private readonly vouched = new Set<string>();
  /**
   * Sources that had their second attempt, with why the first ended when it was a lost connection
   * (what the download reports if the second attempt fails too).
   */
  private readonly reconnected = new Map<string, P2PError | null>();
  /** Second attempts waiting for their pause to end, by source. */
  private readonly reconnecting = new Map<string, ReturnType<typeof setTimeout>>();
  private lastError: P2PError | null = null;
  /** A question the service refused as too many, to ask again. */
  private retryAsk: ReturnType<typeof setTimeout> | undefined;
  private settled = false;
  private asking = false;
  private askAgain = false;
  private queued = false;
  private readonly retired: Set<string>;
  /** The connection made ahead, until a link takes it. */
  private spare: RTCPeerConnection | null;
  /** Whether others in the room are fetching too (then no source gets the whole file at once). */
  private crowded = false;
  private resolve!: () => void;
  private reject!: (error: P2PError) => void;
  readonly done: Promise<void>;
  private readonly unlisten: () => void;
  private readonly topUp: ReturnType<typeof setInterval>;

  constructor(private readonly opts: SourceSetOptions) {
    this.retired = opts.retired ?? new Set();
    this.spare = opts.pc ?? null;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const { client } = opts;
    const onAssigned = (e: Event) => {
      const { sources } = (e as CustomEvent<{ sources: string[] }>).detail;
      this.setQueued(null);
      for (const peer of sources) this.connect(peer);
      // Sources the service named but we cannot use must not leave us waiting forever.
      if (this.sources.size === 0) void this.ask();
    };
    const onSwarm = (e: Event) => {
      const { downloading, queued } = (e as CustomEvent<SwarmStats>).detail;
      this.crowded = downloading + queued > 1;
      // Others are fetching too: take pieces in an order of our own, so that we fetch different
      // pieces from the sharer and have something to trade. Not once pieces arrived in order:
      // keeping that order lets the whole-file hash keep up.
      const download = this.opts.download;
      if (this.crowded && download.bytes === 0 && !download.shuffled) download.shuffle();
    };
    const onQueue = (e: Event) => {
      if (this.queued) this.opts.onQueue((e as CustomEvent<{ position: number }>).detail.position);
    };
    // The service has its shared state back: a question it refused meanwhile is asked now.
    const onService = () => {
      if (client.unavailable || this.retryAsk === undefined) return;
      clearTimeout(this.retryAsk);
      this.retryAsk = undefined;
      void this.ask();
    };
    // A re-joined connection is a new peer id: a queue place was the old one's, so ask again.
    const onRejoined = () => {
      if (this.queued) void this.ask();
    };
    client.addEventListener('rejoined', onRejoined);
    client.addEventListener('assigned', onAssigned);
    client.addEventListener('queue', onQueue);
    client.addEventListener('swarm', onSwarm);
    client.addEventListener('service', onService);
    // Seeds that joined after we asked (recipients finishing) can take some of the load.
    this.topUp = setInterval(() => {
      const max = this.opts.maxSources ?? MAX_SOURCES;
      if (!this.queued && this.sources.size > 0 && this.sources.size < max) void this.ask();
    }, TOP_UP_MS);
    this.unlisten = () => {
      clearInterval(this.topUp);
      client.removeEventListener('assigned', onAssigned);
      client.removeEventListener('queue', onQueue);
      client.removeEventListener('swarm', onSwarm);
      client.removeEventListener('service', onService);
      client.removeEventListener('rejoined', onRejoined);
    };
  }

  /** Whether the open links run through a relay, all of them; undefined until one is known. */
  get relayed(): boolean | undefined {
    return relayedLinks(this.sources);
  }

  /** Sources with an open link. */
  get open(): number {
    return openLinks(this.sources);
  }

  /**
   * Starts asking for sources (or takes `first`, the answer to a question asked for this set
   * already, with nothing excluded); `done` settles with the outcome.
   */
  start(first?: Promise<SourcesReply>): Promise<void> {
    void this.ask(first);
    return this.done;
  }

  /** Whether envelopes from `peer` are for one of these links; delivers them if so. */
  receive({ from, envelope }: SignalIn): boolean {
    const source = this.sources.get(from);
    if (!source) return false;
    source.link.receive(envelope);
    return true;
  }

  /** The service says `peer` left: a link still connecting will never open. */
  peerLeft(peer: string): void {
    const pause = this.reconnecting.get(peer);
    if (pause !== undefined) {
      clearTimeout(pause);
      this.reconnecting.delete(peer);
      this.failed.add(peer);
      this.free(peer);
      void this.ask();
      return;
    }
    const source = this.sources.get(peer);
    if (source && !source.link.isOpen) {
      source.link.fail(new P2PError('peer-vanished', { reason: 'left' }));
    }
  }

  /** An envelope for `peer` was not relayed: its link cannot open (or go on). */
  relayFailed(peer: string, error: P2PError): void {
    this.sources.get(peer)?.link.fail(error);
  }

  /** Fails the download's fetching: every link closes, every slot is freed. */
  stop(error: P2PError): void {
    const wasSettled = this.settle();
    this.closeAll((source) => source.link.fail(error));
    if (!wasSettled) this.reject(error);
  }

  /** After the saved file passed its final check: every source hears so, and is let go. */
  finish(sha256: string): void {
    this.settle();
    this.closeAll((source) => {
      source.link.sendControl({ t: 'done', sha256 });
      source.link.close();
    });
  }

  /** Every piece is verified: fetching is over (the links stay until `finish`). */
  private complete(): void {
    if (!this.settle()) this.resolve();
  }

  /** Marks the set settled; returns whether it already was. */
  private settle(): boolean {
    const was = this.settled;
    this.settled = true;
    this.unlisten();
    for (const [peer, pause] of this.reconnecting) {
      clearTimeout(pause);
      this.free(peer);
    }
    this.reconnecting.clear();
    clearTimeout(this.retryAsk);
    if (this.queued) this.setQueued(null);
    this.spare?.close();
    this.spare = null;
    return was;
  }

  private closeAll(close: (source: Source) => void): void {
    for (const source of [...this.sources.values()]) {
      source.fetcher.stop();
      close(source);
      this.free(source.peerId);
    }
    this.sources.clear();
  }

  private async ask(first?: Promise<SourcesReply>): Promise<void> {
    if (this.settled) return;
    if (this.asking) {
      this.askAgain = true;
      return;
    }
    this.asking = true;
    try {
      const max = this.opts.maxSources ?? MAX_SOURCES;
      if (this.sources.size >= max) return;
      const reply = await (first ??
        this.opts.client.sources({
          exclude: [...this.sources.keys(), ...this.reconnecting.keys(), ...this.failed].slice(
            0,
            64,
          ),
          max,
        }));
      if (this.settled) return;
      for (const peer of reply.sources) this.connect(peer);
      if (reply.position !== undefined && this.sources.size === 0) this.setQueued(reply.position);
      else if (reply.sources.length > 0) this.setQueued(null);
    } catch (err) {
      const error = toP2PError(err);
      if (error.code === 'rate-limited' || error.code === 'service-unavailable') {
        // The room is busy (its members together asked too much), or the service lost its shared
        // state for a moment: ask again when it says.
        this.askLater(error.params.retryAfterMs ?? RECONNECT_AFTER_MS);
        return;
      }
      // With sources still working (or one about to try again), a refusal to add more is no
      // failure. A top-up asked just before a source was lost is answered after it.
      if (this.sources.size === 0 && this.reconnecting.size === 0 && !this.queued) {
        this.stop(error.code === 'no-sources' && this.lastError ? this.lastError : error);
      }
    } finally {
      this.asking = false;
      if (this.askAgain && !this.settled) {
        this.askAgain = false;
        void this.ask();
      }
    }
  }

  private askLater(ms: number): void {
    if (this.retryAsk !== undefined) return;
    this.retryAsk = setTimeout(
      () => {
        this.retryAsk = undefined;
        void this.ask();
      },
      Math.min(Math.max(ms, 100), MAX_ASK_DELAY_MS),
    );
  }

  private setQueued(position: number | null): void {
    this.queued = position !== null;
    this.opts.onQueue(position);
  }

  private connect(peer: string): void {
    const { client, download } = this.opts;
    if (
      this.settled ||
      this.sources.has(peer) ||
      this.reconnecting.has(peer) ||
      this.failed.has(peer) ||
      peer === client.peerId
    ) {
      return;
    }
    const source = openSource(peer, {
      roomId: this.opts.roomId,
      client,
      keys: this.opts.keys,
      ice: this.opts.ice,
      download,
      retired: this.retired,
      pc: this.spare ?? undefined,
      connectTimeoutMs: this.reconnected.get(peer) ? RECONNECT_TIMEOUT_MS : undefined,
      windowBytes: (self) => windowFor(this.sources, this.crowded, self),
      prefer: (self, i) => prefers(this.sources, self, i),
      trading: (self) => trading(this.sources, self),
      onOpen: () => {
        dropStale(this.sources, source);
        this.opts.onOpen(peer);
      },
      onPiece: () => {
        this.vouch(peer);
        this.opts.onPiece(peer);
      },
      onComplete: () => this.complete(),
      onClose: (self, error) => this.lost(self, error),
    });
    this.spare = null;
    this.sources.set(peer, source);
    source.link.start().catch((err: unknown) => source.link.fail(toP2PError(err)));
  }

  /** A source's link closed before the file was complete: replace it. */
  private lost(source: Source, error: P2PError | null): void {
    if (this.settled || this.sources.get(source.peerId) !== source) return;
    this.sources.delete(source.peerId);
    source.fetcher.stop();
    const reason = error ?? new P2PError('peer-vanished', { reason: 'closed' });
    this.lastError = lostError(this.reconnected.get(source.peerId), reason);
    if (retries(this.reconnected.has(source.peerId), source, reason)) {
      this.reconnected.set(source.peerId, reason.code === 'peer-vanished' ? reason : null);
      this.opts.onRetry?.(source.peerId);
      this.reconnecting.set(
        source.peerId,
        setTimeout(() => {
          this.reconnecting.delete(source.peerId);
          this.connect(source.peerId);
        }, RECONNECT_AFTER_MS),
      );
      return;
    }
    this.failed.add(source.peerId);
    if (reason.code === 'integrity' || reason.code === 'bad-request') {
      this.opts.client
        .report({
          peerId: source.peerId,
          reason: reason.code === 'integrity' ? 'corrupt' : 'misbehaved',
        })
        .catch(() => {});
    } else {
      this.free(source.peerId);
    }
    // What it owed went back to the pool; the others may take it now.
    for (const other of this.sources.values()) other.fetcher.poke();
    void this.ask();
  }

  private vouch(peer: string): void {
    if (this.vouched.has(peer)) return;
    this.vouched.add(peer);
    this.opts.client.report({ peerId: peer, reason: 'good' }).catch(() => {
      // Only a vouch: the seed stays on probation, nothing more.
    });
  }

  private free(peer: string): void {
    this.opts.client.release(peer).catch(() => {
      // The service forgets a source that left by itself; nothing more to free.
    });
  }
}
