/**
 * A recipient's serving of the file to later recipients: from the first verified piece it keeps
 * (part-way), then the saved file, through a PeerServer, and what the service hears of it. It
 * follows the user's on/off choice, and stops for good if the service cannot be reached: serving
 * is a favour to others, never a reason for the download to fail.
 */
import type { RoomKeys } from '../crypto/keys.js';
import { P2PError } from '../errors.js';
import type { SignalIn } from '../../protocol/signalling.js';
import type { Download, PieceParts } from '../transfer/download.js';
import { UploadPacer } from '../transfer/pacer.js';
import { PeerServer } from './peer-server.js';
import type { RoomSignal, SeedingHolder } from './room-signal.js';
import { SwarmSource } from './swarm-source.js';
import type { ProgressDetail, SeedingView } from './types.js';

export interface SeedingOptions {
  roomId: string;
  signal: RoomSignal;
  /** Whether to serve at all, until `setOn` says otherwise. */
  on: boolean;
  /** Most bytes per second uploaded to all recipients together; 0 for no limit. */
  uploadLimit: number;
  /** The room's keys: known once the file's details are open, before any piece arrives. */
  keys: () => RoomKeys | null;
  /** The session's ICE configuration (see Ice). */
  ice: RTCConfiguration;
  /** What `view()` shows changed: once per microtask at most. */
  onChange: () => void;
  onProgress: (detail: ProgressDetail) => void;
}

export class Seeding implements SeedingHolder {
  private on: boolean;
  /** Serves what this page has to the recipients the service sends; null while it serves none. */
  private server: PeerServer | null = null;
  /** What this page can serve others: kept pieces while downloading, then the saved file. */
  private source: SwarmSource | null = null;
  private readonly pacer: UploadPacer;
  private starting = false;
  private changeQueued = false;

  constructor(private readonly opts: SeedingOptions) {
    this.on = opts.on;
    this.pacer = new UploadPacer(opts.uploadLimit);
  }

  /** Whether the whole file is saved (and so served from disk). */
  private get saved(): boolean {
    return this.source?.complete ?? false;
  }

  view(): SeedingView {
    return {
      on: this.on,
      serving: this.server?.serving ?? 0,
      uploaded: this.server?.uploaded ?? 0,
    };
  }

  setOn(on: boolean): void {
    if (this.on === on) return;
    this.on = on;
    if (on && (this.saved || (this.source?.count ?? 0) > 0)) void this.start();
    if (!on) this.stop();
    this.changed();
  }

  /**
   * A piece was verified: keep it to serve others while the download goes on, and start serving
   * with the first one.
   */
  offer(download: Download, index: number, parts: PieceParts): void {
    if (!this.on || !download.hashes) return;
    const source = (this.source ??= new SwarmSource(download));
    if (!source.keep(index, parts)) return;
    if (this.server) this.server.announce([index]);
    else void this.start();
  }

  /** The file is saved and verified: from now on every piece is served from it. */
  whole(download: Download, file: Blob): void {
    (this.source ??= new SwarmSource(download)).whole(file);
  }

  /**
   * After the saved file is reported: serves it whole and tells the service so, or, with seeding
   * off, stops and leaves the room.
   */
  serveWhole(): void {
    if (!this.on) this.stop();
    else if (!this.server) void this.start();
    else {
      this.server.announce([]);
      this.opts.signal.client?.seed({ have: 'all', seeding: true }).catch(() => {});
    }
  }

  /** Closes every connection it serves (the page is going away). */
  close(): void {
    this.server?.close(new P2PError('cancelled', { reason: 'closed' }));
    this.server = null;
  }

  handleSignal(msg: SignalIn): void {
    this.server?.handleSignal(msg);
  }

  peerLeft(peerId: string): void {
    this.server?.peerLeft(peerId);
  }

  relayFailed(peerId: string, error: P2PError): void {
    this.server?.relayFailed(peerId, error);
  }

  roomClosed(): void {
    if (this.server) this.stop(false);
  }

  rejoined(): void {
    // A new connection is a new peer id: serve under it, and be in the pool again.
    if (!this.server) return;
    this.server.close(new P2PError('peer-vanished', { reason: 'reconnected' }));
    this.server = null;
    void this.start();
  }

  lost(): void {
    if (this.server) {
      this.stop(false);
      this.changed();
    }
  }

  /** Serves what this page has to whoever the service sends, and tells the service so. */
  private async start(): Promise<void> {
    const keys = this.opts.keys();
    const source = this.source;
    if (!keys || !source || this.server || this.starting) return;
    this.starting = true;
    try {
      const { client } = await this.opts.signal.connect();
      if (!this.on || this.server) return;
      this.server = new PeerServer({
        roomId: this.opts.roomId,
        localId: client.peerId,
        page: client.page,
        keys,
        ice: this.opts.ice,
        source,
        pacer: this.pacer,
        relay: (to, env) => client.signal(to, env),
        onChange: () => this.changed(),
        onProgress: this.opts.onProgress,
        onRefused: (peer) =>
          void client.report({ peerId: peer, reason: 'refused' }).catch(() => {}),
        onOpened: (peer) => void client.report({ peerId: peer, reason: 'opened' }).catch(() => {}),
      });
      await client.seed({ have: source.complete ? 'all' : 'some', seeding: true });
      this.changed();
    } catch {
      // Seeding is a favour to others: if the service cannot be reached, this page just stops.
      this.server?.close(new P2PError('peer-vanished', { reason: 'stopped-sharing' }));
      this.server = null;
      if (this.saved) this.stop(false);
      this.on = false;
      this.changed();
    } finally {
      this.starting = false;
    }
  }

  /**
   * Stops serving. With the file saved, the connection to the service closes too: `tell` first
   * lets the service count the finish and take this page off the pool. Part-way, the download
   * keeps its connection and the service hears that this page serves no more.
   */
  private stop(tell = true): void {
    this.server?.close(new P2PError('peer-vanished', { reason: 'stopped-sharing' }));
    this.server = null;
    const signal = this.opts.signal;
    const client = signal.client;
    if (!client) return;
    const done = this.saved;
    const have = done ? 'all' : (this.source?.count ?? 0) > 0 ? 'some' : 'none';
    if (!done) {
      if (tell) client.seed({ have, seeding: false }).catch(() => {});
      return;
    }
    signal.close(tell ? { have, seeding: false } : undefined);
  }

  /** Coalesces the server's per-piece changes into one `onChange`. */
  private changed(): void {
    if (this.changeQueued) return;
    this.changeQueued = true;
    queueMicrotask(() => {
      this.changeQueued = false;
      this.opts.onChange();
    });
  }
}
