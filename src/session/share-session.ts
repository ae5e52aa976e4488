/**
 * The sharer's side of one room: prepare the file (piece hashes), seal its metadata under a fresh
 * link key, create the room, join it as the sharer, and serve every recipient that connects
 * through a PeerServer. It turns the server's per-recipient views and the service's swarm counts
 * into the state the element shows.
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
import { errorData, P2PError, toP2PError } from '../errors.js';
import { META_AAD } from '../../protocol/sealing.js';
import { randomId } from '../../protocol/ids.js';
import type { RoomClosed, SignalIn, SwarmStats } from '../../protocol/signalling.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { SignalClient } from '../signal/signal-client.js';
import { RestClient } from '../signal/rest.js';
import { sniffMedia, SNIFF_BYTES } from '../media/sniff.js';
import { prepareFile } from '../transfer/manifest.js';
import { UploadPacer } from '../transfer/pacer.js';
import { FileSource } from './file-source.js';
import { Ice } from './ice.js';
import { PeerServer } from './peer-server.js';
import type {
  FileInfo,
  SessionOptions,
  ShareOptions,
  ShareSessionApi,
  ShareState,
} from './types.js';

/**
 * Shortest time between two updates of the sharer's view while pieces go out. Each one
 * re-renders the widget; once per piece (tens a second) that was a measurable share of the
 * sharer's CPU in the throughput benchmark.
 */
const NOTIFY_MS = 250;

export class ShareSession extends EventTarget implements ShareSessionApi {
  state: ShareState = { phase: 'idle' };
  private readonly rest: RestClient;
  private signal: SignalClient | null = null;
  private server: PeerServer | null = null;
  private swarm: SwarmStats | null = null;
  private readonly pacer: UploadPacer;
  private readonly ice: Ice;
  private roomId = '';
  private sharerToken = '';
  private abort = new AbortController();
  private notifyQueued = false;
  private lastAnnounce = -Infinity;
  private announceTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: SessionOptions) {
    super();
    this.rest = new RestClient(opts.server);
    this.pacer = new UploadPacer(opts.uploadLimit ?? 0);
    this.ice = new Ice(this.rest, opts.relayOnly);
  }

  async share(file: File, page: string, options: ShareOptions = {}): Promise<string> {
    if (this.state.phase === 'preparing' || this.state.phase === 'sharing') {
      throw new P2PError('bad-request', { reason: 'already-sharing' });
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
      // Whether recipients may play it while it arrives is told by its first bytes.
      const media = sniffMedia(new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer()));
      if (media) prepared.meta.media = media;
      const key = randomId();
      const password = options.password || undefined;
      const [keys, passwordAuth] = await Promise.all([
        deriveRoomKeys(key, password ? passwordBytes(password) : undefined),
        password ? derivePasswordAuth(key, password) : undefined,
      ]);
      const sealed = await sealJson(keys.meta, prepared.meta, META_AAD);
      const created = await this.rest.createRoom(sealed, passwordAuth);
      signal.throwIfAborted();
      this.roomId = created.roomId;
      this.sharerToken = created.sharerToken;
      this.swarm = null;
      const client = await SignalClient.connect(this.opts.server);
      this.signal = client;
      signal.throwIfAborted();
      client.addEventListener('signal', (e) => {
        if (this.state.phase === 'sharing' && this.server) {
          // A reconnect is a new peer id, known from the connection on: a recipient may reach
          // it (through another service process) before the re-join is answered.
          this.server.localId = client.peerId;
          this.server.handleSignal((e as CustomEvent<SignalIn>).detail);
        }
      });
      client.addEventListener('peer-left', (e) =>
        this.server?.peerLeft((e as CustomEvent<{ peerId: string }>).detail.peerId),
      );
      client.addEventListener('signal-failed', (e) => {
        const { to, error } = (e as CustomEvent<{ to: string; error: P2PError }>).detail;
        this.server?.relayFailed(to, error);
      });
      client.addEventListener('swarm', (e) => {
        this.swarm = (e as CustomEvent<SwarmStats>).detail;
        this.notify();
      });
      client.addEventListener('service', () => {
        if (this.state.phase === 'sharing') {
          this.setState({ ...this.state, unavailable: client.unavailable });
        }
      });
      client.addEventListener('room-closed', (e) => {
        const { reason } = (e as CustomEvent<RoomClosed>).detail;
        this.fatal(new P2PError('room-closed', { reason }));
      });
      client.addEventListener('lost', (e) => this.fatal((e as CustomEvent<P2PError>).detail));
      // A service that restarted lost the room (kept in memory); the room is made again under
      // the same id before the re-join, so the links given out lead to it again. Links that
      // are open go on; new ones know this page by its new peer id (see 'signal' above).
      client.restore = () => this.rest.createRoom(sealed, passwordAuth, created);
      const { peerId } = await client.join({
        v: PROTOCOL_VERSION,
        roomId: created.roomId,
        role: 'sharer',
        sharerToken: created.sharerToken,
      });
      // TURN credentials are for members: the ICE servers are fetched once joined.
      await this.ice.load(() => this.signal?.ticket);
      signal.throwIfAborted();
      this.server = this.createServer(keys, new FileSource(file, prepared, true), {
        client,
        peerId,
      });
      this.server.prepare();
      const link = formatLink(page, { roomId: created.roomId, key });
      this.setState({
        phase: 'sharing',
        file: info,
        link,
        peers: [],
        uploaded: 0,
        swarm: this.swarm,
      });
      return link;
    } catch (err) {
      if (signal.aborted) throw new P2PError('cancelled', { reason: 'stopped' });
      const error = toP2PError(err);
      this.fatal(error, info);
      throw error;
    }
  }

  async stop(): Promise<void> {
    const file = 'file' in this.state ? this.state.file : undefined;
    this.abort.abort();
    this.closePeers(new P2PError('room-closed', { reason: 'stopped' }));
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

  private createServer(
    keys: RoomKeys,
    source: FileSource,
    { client, peerId }: { client: SignalClient; peerId: string },
  ): PeerServer {
    return new PeerServer({
      roomId: this.roomId,
      localId: peerId,
      page: client.page,
      keys,
      ice: this.ice.config,
      source,
      pacer: this.pacer,
      relay: (to, env) => client.signal(to, env),
      onChange: () => this.notify(),
      onProgress: (detail) => this.emit('progress', detail),
      // Told to the service so it can keep the peer away; a service that takes reports from
      // downloaders only refuses it, and this page's own refusal stands either way.
      onRefused: (peer) => void client.report({ peerId: peer, reason: 'refused' }).catch(() => {}),
      // The page's own word keeps the slot: without it, the service frees it at the timeout.
      onOpened: (peer) => void client.report({ peerId: peer, reason: 'opened' }).catch(() => {}),
    });
  }

  /**
   * Folds per-piece changes into the state at once (one microtask for a burst), but tells the
   * listeners (the element, which re-renders) at most once per NOTIFY_MS: the first change after
   * a quiet spell at once, the latest when the interval is up.
   */
  private notify(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      if (this.state.phase !== 'sharing' || !this.server) return;
      this.state = {
        ...this.state,
        peers: this.server.views(),
        uploaded: this.server.uploaded,
        swarm: this.swarm,
      };
      this.announce();
    });
  }

  private announce(): void {
    if (this.announceTimer !== null) return;
    const fire = () => {
      this.announceTimer = null;
      this.lastAnnounce = performance.now();
      this.dispatchEvent(new Event('statechange'));
    };
    const wait = this.lastAnnounce + NOTIFY_MS - performance.now();
    if (wait > 0) this.announceTimer = setTimeout(fire, wait);
    else fire();
  }

  private closePeers(reason: P2PError): void {
    this.ice.close();
    this.server?.close(reason);
    this.server = null;
  }

  private fatal(error: P2PError, file?: FileInfo): void {
    this.closePeers(error);
    this.signal?.close();
    this.signal = null;
    const known = file ?? ('file' in this.state ? this.state.file : undefined);
    this.setState(
      known
        ? { phase: 'error', file: known, error: errorData(error) }
        : { phase: 'error', error: errorData(error) },
    );
    this.emit('error', errorData(error));
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
