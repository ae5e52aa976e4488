/**
 * A recipient's side of one room: read and open the sealed metadata over REST (no socket yet);
 * on download, open the disk sink (first, while the click still counts as a user gesture), join,
 * ask the service for a source, offer, and pull pieces until the whole file is verified and
 * saved. The Download survives failures, so a retry fetches only what is missing.
 */
import * as v from 'valibot';
import {
  derivePasswordAuth,
  deriveRoomKeys,
  passwordBytes,
  requireSubtle,
  type RoomKeys,
} from '../crypto/keys.js';
import type { LinkSecret } from '../crypto/link.js';
import { openJson } from '../crypto/seal.js';
import { P2PError, toP2PError } from '../protocol/errors.js';
import { FileMetaSchema, type FileMeta } from '../protocol/meta.js';
import type { PasswordReply, SignalIn } from '../protocol/signalling.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { PeerLink } from '../rtc/peer-link.js';
import { SignalClient } from '../signal/signal-client.js';
import { RestClient } from '../signal/rest.js';
import { openSink, type Sink, type SinkPreference } from '../sinks/index.js';
import { Download } from '../transfer/download.js';
import { PieceFetcher } from '../transfer/piece-fetcher.js';
import { RateMeter } from './rate.js';
import { describe, META_AAD } from './share-session.js';
import type {
  CompleteDetail,
  FileInfo,
  ReceiveSessionApi,
  ReceiveState,
  SessionOptions,
} from './types.js';

export interface ReceiveSessionOptions extends SessionOptions {
  secret: LinkSecret;
  saveTo?: SinkPreference;
}

/** Failures after which `download()` may simply be called again. */
const RETRYABLE = new Set([
  'server-unreachable',
  'no-sources',
  'peer-vanished',
  'connection-failed',
  'cancelled',
  'tampered',
  'integrity',
  'bad-request',
  'storage-error',
  'storage-full',
  'limit-exceeded',
  'internal',
]);

interface Attempt {
  link: PeerLink;
  fetcher: PieceFetcher;
  settle: (error: P2PError | null) => void;
}

export class ReceiveSession extends EventTarget implements ReceiveSessionApi {
  state: ReceiveState = { phase: 'loading' };
  private readonly rest: RestClient;
  private meta: FileMeta | null = null;
  private keys: RoomKeys | null = null;
  private sink: Sink | null = null;
  private download_: Download | null = null;
  private signal: SignalClient | null = null;
  private iceServers: RTCIceServer[] | null = null;
  private attempt: Attempt | null = null;
  private running: Promise<CompleteDetail> | null = null;
  private result: CompleteDetail | null = null;
  private readonly rate = new RateMeter();
  private lastProgress = 0;
  /** For a password room: the proof it was unlocked with (never the password) and its token. */
  private passwordAuth: string | null = null;
  private token: PasswordReply | null = null;

  constructor(private readonly opts: ReceiveSessionOptions) {
    super();
    this.rest = new RestClient(opts.server);
  }

  private get file(): FileInfo | undefined {
    const m = this.meta;
    return m ? { name: m.name, size: m.size, type: m.type } : undefined;
  }

  async load(): Promise<FileInfo | null> {
    try {
      requireSubtle();
      this.setState({ phase: 'loading' });
      const [room, keys] = await Promise.all([
        this.rest.getRoom(this.opts.secret.roomId),
        deriveRoomKeys(this.opts.secret.key),
      ]);
      if (room.passwordRequired) {
        this.setState({ phase: 'locked' });
        return null;
      }
      return await this.openMeta(room.meta, keys);
    } catch (err) {
      throw this.failed(toP2PError(err));
    }
  }

  async unlock(password: string): Promise<FileInfo> {
    try {
      requireSubtle();
      const { roomId, key } = this.opts.secret;
      const auth = await derivePasswordAuth(key, password);
      const token = await this.rest.unlock(roomId, auth);
      this.passwordAuth = auth;
      this.token = token;
      const [room, keys] = await Promise.all([
        this.rest.getRoom(roomId, token.token),
        deriveRoomKeys(key, passwordBytes(password)),
      ]);
      return await this.openMeta(room.meta, keys);
    } catch (err) {
      const error = toP2PError(err);
      if (error.code !== 'bad-password' && error.code !== 'rate-limited') throw this.failed(error);
      this.setState({ phase: 'locked', error: describe(error) });
      this.dispatchEvent(new CustomEvent('error', { detail: describe(error) }));
      throw error;
    }
  }

  private async openMeta(sealed: string | undefined, keys: RoomKeys): Promise<FileInfo> {
    if (sealed === undefined) {
      throw new P2PError('protocol-mismatch', 'The sharing service did not send the file details.');
    }
    const parsed = v.safeParse(FileMetaSchema, await openJson(keys.meta, sealed, META_AAD));
    if (!parsed.success) {
      throw new P2PError(
        'protocol-mismatch',
        'This share was made by an incompatible version of p2p-share.',
      );
    }
    this.keys = keys;
    this.meta = parsed.output;
    const file = this.file!;
    this.setState({ phase: 'ready', file });
    // Fetch the code a download needs while the user reads the details (no connection yet).
    SignalClient.preload();
    return file;
  }

  /** The room token for joining, renewed (with the remembered proof) when it is about to expire. */
  private async joinToken(): Promise<string | undefined> {
    if (!this.passwordAuth) return undefined;
    if (!this.token || this.token.expiresAt - Date.now() < 30_000) {
      this.token = await this.rest.unlock(this.opts.secret.roomId, this.passwordAuth);
    }
    return this.token.token;
  }

  download(): Promise<CompleteDetail> {
    if (this.result) return Promise.resolve(this.result);
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  cancel(): void {
    if (!this.running) return;
    this.attempt?.settle(
      new P2PError(
        'cancelled',
        'You cancelled the download. What arrived is kept: resume to fetch the rest.',
      ),
    );
  }

  dispose(): void {
    this.attempt?.settle(new P2PError('cancelled', 'The download was closed.'));
    this.signal?.close();
    this.signal = null;
    if (!this.result) void this.sink?.abort().catch(() => {});
  }

  private async run(): Promise<CompleteDetail> {
    const meta = this.meta;
    const keys = this.keys;
    if (!meta || !keys) throw new P2PError('bad-request', 'The file details are not loaded yet.');
    const file = this.file!;
    // Joining and the ICE servers are fetched while the disk is prepared, not after it.
    const joining = this.connectSignal();
    const ice = this.iceServers
      ? Promise.resolve({ iceServers: this.iceServers })
      : this.rest.getIce();
    joining.catch(() => {});
    ice.catch(() => {});
    try {
      // No await before the sink opens: a save picker needs the click's user activation.
      this.sink ??= await openSink({
        name: meta.name,
        size: meta.size,
        roomId: this.opts.secret.roomId,
        prefer: this.opts.saveTo ?? 'auto',
      });
      const download = (this.download_ ??= new Download(meta, this.sink));
      this.setState({ phase: 'connecting', file, bytes: download.bytes });
      const client = await joining;
      this.iceServers ??= (await ice).iceServers;
      const { sources } = await client.sources({});
      const source = sources[0];
      if (!source) throw new P2PError('no-sources', 'Nobody is sharing this file right now.');
      await this.fetchFrom(source, client, keys, download);
      this.setState({ phase: 'saving', file });
      const { file: saved, sha256 } = await download.finish();
      await this.sink.save(saved, meta.name);
      this.attempt?.link.sendControl({ t: 'done', sha256 });
      this.attempt?.link.close();
      this.attempt = null;
      this.signal?.close();
      this.signal = null;
      this.result = { name: meta.name, size: meta.size, sha256 };
      this.setState({ phase: 'done', file, sha256 });
      this.dispatchEvent(new CustomEvent('complete', { detail: this.result }));
      return this.result;
    } catch (err) {
      const error = toP2PError(err);
      this.attempt?.link.fail(error);
      this.attempt = null;
      const sinkLost = error.code === 'storage-error' || error.code === 'storage-full';
      if (sinkLost || (error.code === 'integrity' && this.download_?.complete)) {
        // A failed sink keeps nothing, and a file that failed its final check must not be kept:
        // either way the next attempt starts over.
        await this.sink?.abort().catch(() => {});
        this.sink = null;
        this.download_ = null;
      }
      throw this.failed(error);
    }
  }

  private async connectSignal(): Promise<SignalClient> {
    if (this.signal) return this.signal;
    const client = await SignalClient.connect(this.opts.server);
    client.addEventListener('signal', (e) => {
      const { from, envelope } = (e as CustomEvent<SignalIn>).detail;
      if (this.attempt?.link.remoteId === from) this.attempt.link.receive(envelope);
    });
    client.addEventListener('peer-left', (e) => {
      const link = this.attempt?.link;
      if (
        link &&
        !link.isOpen &&
        link.remoteId === (e as CustomEvent<{ peerId: string }>).detail.peerId
      ) {
        this.attempt?.settle(
          new P2PError('peer-vanished', 'The sharer left before the connection was made.'),
        );
      }
    });
    client.addEventListener('room-closed', () => {
      this.attempt?.settle(new P2PError('room-closed', 'The sharer stopped sharing this file.'));
    });
    try {
      const token = await this.joinToken();
      await client.join({
        v: PROTOCOL_VERSION,
        roomId: this.opts.secret.roomId,
        role: 'recipient',
        ...(token ? { token } : {}),
      });
    } catch (err) {
      client.close();
      throw err;
    }
    this.signal = client;
    return client;
  }

  /** Connects to one source and pulls pieces until the download is complete or this attempt fails. */
  private fetchFrom(
    source: string,
    client: SignalClient,
    keys: RoomKeys,
    download: Download,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error: P2PError | null) => {
        if (settled) return;
        settled = true;
        attempt.fetcher.stop();
        if (error) {
          attempt.link.fail(error);
          if (this.attempt === attempt) this.attempt = null;
          reject(error);
        } else {
          resolve();
        }
      };
      const link: PeerLink = new PeerLink({
        role: 'offerer',
        roomId: this.opts.secret.roomId,
        localId: client.peerId,
        remoteId: source,
        keys,
        iceServers: this.iceServers ?? [],
        relay: (env) => client.signal(source, env),
        onOpen: () => {
          this.rate.reset();
          this.rate.add(download.bytes);
          this.progress(source, download, true);
          fetcher.start();
        },
        onControl: () =>
          link.fail(new P2PError('bad-request', 'The sharer sent a message out of place.')),
        onData: (data) => fetcher.handleData(data),
        onClose: (error) =>
          settle(error ?? new P2PError('peer-vanished', 'The sharer closed the connection.')),
      });
      const fetcher = new PieceFetcher(link, download, {
        onPiece: () => this.progress(source, download),
        onComplete: () => settle(null),
        onError: (error) => settle(error),
      });
      const attempt: Attempt = { link, fetcher, settle };
      this.attempt = attempt;
      link.start().catch((err: unknown) => settle(toP2PError(err)));
    });
  }

  private progress(peer: string, download: Download, force = false): void {
    const total = download.meta.size;
    const bytes = download.bytes;
    this.rate.add(bytes);
    const now = performance.now();
    if (!force && bytes < total && now - this.lastProgress < 100) return;
    this.lastProgress = now;
    const speed = this.rate.rate;
    const eta = speed > 0 ? (total - bytes) / speed : null;
    this.setState({ phase: 'downloading', file: this.file!, bytes, speed, eta });
    this.dispatchEvent(new CustomEvent('progress', { detail: { bytes, total, peer } }));
  }

  private failed(error: P2PError): P2PError {
    const file = this.file;
    const bytes = this.download_?.bytes ?? 0;
    const retryable = RETRYABLE.has(error.code) && !!this.meta;
    this.setState(
      file
        ? { phase: 'error', file, error: describe(error), retryable, bytes }
        : { phase: 'error', error: describe(error), retryable, bytes },
    );
    this.dispatchEvent(new CustomEvent('error', { detail: describe(error) }));
    return error;
  }

  private setState(state: ReceiveState): void {
    this.state = state;
    this.dispatchEvent(new Event('statechange'));
  }
}
