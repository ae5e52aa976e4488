/**
 * The sharer's side of one room: prepare the file (piece hashes), seal its metadata under a fresh
 * link key, create the room, join it as the sharer, and answer every recipient's offer with a
 * PeerLink whose pieces a PieceSender serves. It owns the per-recipient views the element shows.
 */
import {
  derivePasswordAuth,
  deriveRoomKeys,
  passwordBytes,
  requireSubtle,
  type RoomKeys,
} from '../crypto/keys.js';
import { formatLink } from '../crypto/link.js';
import { sealJson } from '../crypto/seal.js';
import { P2PError, toP2PError, type ErrorBody } from '../protocol/errors.js';
import { randomId } from '../protocol/ids.js';
import type { SignalIn } from '../protocol/signalling.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { PeerLink } from '../rtc/peer-link.js';
import { SignalClient } from '../signal/signal-client.js';
import { RestClient } from '../signal/rest.js';
import { prepareFile, readPiece, type Prepared } from '../transfer/manifest.js';
import { PieceSender, type PieceSource } from '../transfer/piece-sender.js';
import { RateMeter } from './rate.js';
import type {
  FileInfo,
  PeerView,
  SessionOptions,
  ShareOptions,
  ShareSessionApi,
  ShareState,
} from './types.js';

/** Associated data for the sealed metadata blob. */
export const META_AAD = `p2p-share/v${PROTOCOL_VERSION}/meta`;
/** Recipients connected at once; more are refused until one finishes (the swarm issue adds a queue). */
export const MAX_PEERS = 16;
/** How long after a refused connection the same peer's envelopes stay refused. */
const REOPEN_AFTER_MS = 3000;

interface PeerEntry {
  link: PeerLink;
  /** When the connection was refused as tampered (0: it was not). */
  tamperedAt: number;
  sender: PieceSender | null;
  view: PeerView;
  rate: RateMeter;
}

class FileSource implements PieceSource {
  constructor(
    private readonly file: File,
    private readonly prepared: Prepared,
  ) {}
  get meta() {
    return this.prepared.meta;
  }
  get hashes() {
    return this.prepared.hashes;
  }
  has(index: number): boolean {
    return index < this.prepared.meta.pieceCount;
  }
  read(index: number) {
    return readPiece(this.file, this.prepared.meta.pieceSize, index);
  }
}

export class ShareSession extends EventTarget implements ShareSessionApi {
  state: ShareState = { phase: 'idle' };
  private readonly rest: RestClient;
  private signal: SignalClient | null = null;
  private keys: RoomKeys | null = null;
  private source: FileSource | null = null;
  private roomId = '';
  private sharerToken = '';
  private iceServers: RTCIceServer[] = [];
  /** Recipients the element shows, by peer id: the latest attempt of each. */
  private readonly peers = new Map<string, PeerEntry>();
  /** Attempts that have not shown a genuine offer yet. */
  private readonly pending = new Map<string, PeerEntry>();
  private abort = new AbortController();
  private notifyQueued = false;

  constructor(private readonly opts: SessionOptions) {
    super();
    this.rest = new RestClient(opts.server);
  }

  async share(file: File, page: string, options: ShareOptions = {}): Promise<string> {
    if (this.state.phase === 'preparing' || this.state.phase === 'sharing') {
      throw new P2PError('bad-request', 'Already sharing a file; stop sharing it first.');
    }
    const info: FileInfo = { name: file.name, size: file.size, type: file.type };
    this.abort = new AbortController();
    const signal = this.abort.signal;
    try {
      requireSubtle();
      this.setState({ phase: 'preparing', file: info, hashed: 0 });
      const prepared = await prepareFile(
        file,
        (hashed) => {
          if (this.state.phase === 'preparing') this.setState({ ...this.state, hashed }, true);
        },
        signal,
      );
      const key = randomId();
      const password = options.password || undefined;
      const [keys, ice, passwordAuth] = await Promise.all([
        deriveRoomKeys(key, password ? passwordBytes(password) : undefined),
        this.rest.getIce(),
        password ? derivePasswordAuth(key, password) : undefined,
      ]);
      const created = await this.rest.createRoom(
        await sealJson(keys.meta, prepared.meta, META_AAD),
        passwordAuth,
      );
      signal.throwIfAborted();
      this.keys = keys;
      this.iceServers = ice.iceServers;
      this.roomId = created.roomId;
      this.sharerToken = created.sharerToken;
      this.source = new FileSource(file, prepared);
      const client = await SignalClient.connect(this.opts.server);
      this.signal = client;
      signal.throwIfAborted();
      client.addEventListener('signal', (e) =>
        this.handleSignal((e as CustomEvent<SignalIn>).detail),
      );
      client.addEventListener('peer-left', (e) => {
        const entry = this.peers.get((e as CustomEvent<{ peerId: string }>).detail.peerId);
        if (entry && !entry.link.isOpen) {
          entry.link.fail(new P2PError('peer-vanished', 'The recipient left before connecting.'));
        }
      });
      client.addEventListener('room-closed', () =>
        this.fatal(
          new P2PError(
            'room-closed',
            'This share expired on the service. Share the file again for a new link.',
          ),
        ),
      );
      client.addEventListener('lost', (e) => this.fatal((e as CustomEvent<P2PError>).detail));
      await client.join({
        v: PROTOCOL_VERSION,
        roomId: created.roomId,
        role: 'sharer',
        sharerToken: created.sharerToken,
      });
      const link = formatLink(page, { roomId: created.roomId, key });
      this.setState({ phase: 'sharing', file: info, link, peers: [] });
      return link;
    } catch (err) {
      if (signal.aborted) throw new P2PError('cancelled', 'Sharing was stopped.');
      const error = toP2PError(err);
      this.fatal(error, info);
      throw error;
    }
  }

  async stop(): Promise<void> {
    const file = 'file' in this.state ? this.state.file : undefined;
    this.abort.abort();
    this.closePeers(new P2PError('room-closed', 'The sharer stopped sharing this file.'));
    this.signal?.close();
    this.signal = null;
    const roomId = this.roomId;
    const token = this.sharerToken;
    this.roomId = '';
    if (file) this.setState({ phase: 'stopped', file });
    else this.setState({ phase: 'idle' });
    if (roomId) await this.rest.deleteRoom(roomId, token).catch(() => {});
  }

  dispose(): void {
    void this.stop();
  }

  private handleSignal({ from, envelope }: SignalIn): void {
    if (this.state.phase !== 'sharing' || !this.keys || !this.source || !this.signal) return;
    const shown = this.peers.get(from);
    if (shown && !shown.link.isClosed) {
      shown.link.receive(envelope);
      return;
    }
    // After a refused connection, the rest of its envelopes are refused with it, not one by one.
    if (shown?.tamperedAt && performance.now() - shown.tamperedAt < REOPEN_AFTER_MS) return;
    let pending = this.pending.get(from);
    if (!pending || pending.link.isClosed) {
      const active = [...this.peers.values()].filter((p) => !p.link.isClosed);
      if (active.length >= MAX_PEERS) return;
      pending = this.createPeer(from, this.keys, this.source, this.signal);
      this.pending.set(from, pending);
    }
    pending.link.receive(envelope);
  }

  /**
   * A connection attempt from `peerId`. It joins the list the element shows once its offer opens
   * (stale envelopes of an earlier attempt start nothing), or when it is refused as tampered.
   */
  private createPeer(
    peerId: string,
    keys: RoomKeys,
    source: FileSource,
    client: SignalClient,
  ): PeerEntry {
    const total = source.meta.size;
    const view: PeerView = { peerId, status: 'connecting', bytes: 0, total, speed: 0 };
    const entry: PeerEntry = {
      link: null as unknown as PeerLink,
      tamperedAt: 0,
      sender: null,
      view,
      rate: new RateMeter(),
    };
    const show = () => {
      if (this.pending.get(peerId) === entry) this.pending.delete(peerId);
      this.peers.set(peerId, entry);
      this.notify();
    };
    entry.link = new PeerLink({
      role: 'answerer',
      roomId: this.roomId,
      localId: client.peerId,
      remoteId: peerId,
      keys,
      iceServers: this.iceServers,
      relay: (env) => client.signal(peerId, env),
      onOffer: show,
      onOpen: () => {
        entry.sender = new PieceSender(entry.link, source, {
          onSent: (bytes) => {
            const confirmed = Math.max(0, Math.min(total, bytes - entry.link.bufferedAmount));
            entry.rate.add(confirmed);
            this.updatePeer(entry, {
              status: 'transferring',
              bytes: confirmed,
              speed: entry.rate.rate,
            });
            this.emit('progress', { bytes: confirmed, total, peer: peerId });
          },
          onDone: () => {
            this.updatePeer(entry, { status: 'done', bytes: total, speed: 0 });
            this.emit('progress', { bytes: total, total, peer: peerId });
          },
        });
        this.updatePeer(entry, { status: 'transferring' });
      },
      onControl: (msg) => {
        if (!entry.sender?.handle(msg)) {
          entry.link.fail(
            new P2PError('bad-request', 'The recipient sent a message out of place.'),
          );
        }
      },
      onData: () =>
        entry.link.fail(new P2PError('bad-request', 'The recipient sent data it should not send.')),
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
        if (entry.view.status === 'done') return;
        this.updatePeer(entry, {
          status: 'failed',
          speed: 0,
          error: describe(error ?? new P2PError('peer-vanished', 'The recipient left.')),
        });
      },
    });
    return entry;
  }

  private updatePeer(entry: PeerEntry, patch: Partial<PeerView>): void {
    Object.assign(entry.view, patch);
    this.notify();
  }

  /** Coalesces per-piece updates into one `statechange` per frame's worth of work. */
  private notify(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      if (this.state.phase !== 'sharing') return;
      this.setState({ ...this.state, peers: [...this.peers.values()].map((p) => ({ ...p.view })) });
    });
  }

  private closePeers(reason: P2PError): void {
    for (const entry of [...this.peers.values(), ...this.pending.values()]) {
      entry.sender?.stop();
      entry.link.fail(reason);
    }
    this.peers.clear();
    this.pending.clear();
  }

  private fatal(error: P2PError, file?: FileInfo): void {
    this.closePeers(error);
    this.signal?.close();
    this.signal = null;
    const known = file ?? ('file' in this.state ? this.state.file : undefined);
    this.setState(
      known
        ? { phase: 'error', file: known, error: describe(error) }
        : { phase: 'error', error: describe(error) },
    );
    this.emit('error', describe(error));
  }

  private setState(state: ShareState, quiet = false): void {
    this.state = state;
    if (!quiet || !this.throttled()) this.dispatchEvent(new Event('statechange'));
  }

  private lastQuiet = 0;
  private throttled(): boolean {
    const now = performance.now();
    if (now - this.lastQuiet < 100) return true;
    this.lastQuiet = now;
    return false;
  }

  private emit<T>(type: string, detail: T): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

export function describe(error: P2PError): ErrorBody {
  return { code: error.code, message: error.message };
}
