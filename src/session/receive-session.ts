/**
 * A recipient's side of one room: read and open the sealed metadata over REST (no socket yet);
 * on download, open the disk sink (first, while the click still counts as a user gesture), join,
 * fetch pieces from the sources the service assigns (a SourceSet; possibly after waiting in the
 * queue) until the whole file is verified and saved, then keep serving it to later recipients
 * (a PeerServer) unless seeding is off. The Download survives failures, so a retry fetches only
 * what is missing.
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
import { errorBody, P2PError, toP2PError } from '../errors.js';
import { META_AAD } from '../../protocol/sealing.js';
import { FileMetaSchema, type FileMeta } from '../../protocol/meta.js';
import type {
  JoinRequest,
  PasswordReply,
  SignalIn,
  SourcesReply,
  SourcesRequest,
} from '../../protocol/signalling.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { fromOfferer } from '../rtc/peer-link.js';
import { SignalClient } from '../signal/signal-client.js';
import { RestClient } from '../signal/rest.js';
import { openSink, type Sink, type SinkPreference } from '../sinks/index.js';
import { Download, type PieceParts, type PieceSink } from '../transfer/download.js';
import { UploadPacer } from '../transfer/pacer.js';
import { MadeAhead } from './made-ahead.js';
import { PeerServer } from './peer-server.js';
import { PROGRESS_MS, RateMeter } from './rate.js';
import { MAX_SOURCES, SourceSet } from './source-set.js';
import { SwarmSource } from './swarm-source.js';
import type {
  CompleteDetail,
  FileInfo,
  ReceiveSessionApi,
  ReceiveState,
  SeedingView,
  SessionOptions,
} from './types.js';

export interface ReceiveSessionOptions extends SessionOptions {
  secret: LinkSecret;
  saveTo?: SinkPreference;
  /** Whether to keep serving the file to later recipients once it is saved (default true). */
  seed?: boolean;
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

export class ReceiveSession extends EventTarget implements ReceiveSessionApi {
  state: ReceiveState = { phase: 'loading' };
  private readonly rest: RestClient;
  private meta: FileMeta | null = null;
  private keys: RoomKeys | null = null;
  /** Where the file goes, once asked for (it may still be opening: a save picker is open, say). */
  private sink: Promise<Sink> | null = null;
  /**
   * The file as received so far, kept across attempts so a retry fetches only what is missing;
   * null until the first attempt, and again after one that must start over.
   */
  private received: Download | null = null;
  private signal: SignalClient | null = null;
  private iceServers: RTCIceServer[] | null = null;
  private sources: SourceSet | null = null;
  /** Serves the saved file to later recipients while seeding. */
  private seeder: PeerServer | null = null;
  private seeding: boolean;
  /** What this page can serve others: kept pieces while downloading, then the saved file. */
  private swarmSource: SwarmSource | null = null;
  private readonly pacer: UploadPacer;
  private startingSeeder = false;
  private seedNotify = false;
  private running: Promise<CompleteDetail> | null = null;
  private result: CompleteDetail | null = null;
  private readonly rate = new RateMeter();
  /** Sessions of links this download ended, across its attempts (see SourceSet's `retired`). */
  private readonly retiredLinks = new Set<string>();
  private lastProgress = 0;
  /** Verified bytes in the last progress event, and when this attempt's first link opened. */
  private reportedBytes = 0;
  private attemptStartBytes = 0;
  /** For a password room: the proof it was unlocked with (never the password) and its token. */
  private passwordAuth: string | null = null;
  private token: PasswordReply | null = null;
  /** What is readied before the click, from the moment the file's details are open. */
  private readonly ahead: MadeAhead;

  constructor(private readonly opts: ReceiveSessionOptions) {
    super();
    this.rest = new RestClient(opts.server);
    this.ahead = new MadeAhead(this.rest);
    this.pacer = new UploadPacer(opts.uploadLimit ?? 0);
    this.seeding = opts.seed ?? true;
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
      this.setState({ phase: 'locked', error: errorBody(error) });
      this.dispatchEvent(new CustomEvent('error', { detail: errorBody(error) }));
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
    this.ahead.prepare();
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
    this.sources?.stop(
      new P2PError(
        'cancelled',
        'You cancelled the download. What arrived is kept: resume to fetch the rest.',
      ),
    );
  }

  setSeeding(on: boolean): void {
    if (this.seeding === on) return;
    this.seeding = on;
    const done = this.state.phase === 'done';
    if (on && (done || (this.swarmSource?.count ?? 0) > 0)) void this.startSeeding();
    if (!on) this.stopSeeding(done);
    this.showSeeding();
  }

  dispose(): void {
    this.ahead.close();
    this.sources?.stop(new P2PError('cancelled', 'The download was closed.'));
    this.seeder?.close(new P2PError('cancelled', 'The recipient closed the page.'));
    this.seeder = null;
    this.signal?.close();
    this.signal = null;
    if (!this.result) void this.sink?.then((sink) => sink.abort()).catch(() => {});
  }

  private async run(): Promise<CompleteDetail> {
    const meta = this.meta;
    const keys = this.keys;
    if (!meta || !keys) throw new P2PError('bad-request', 'The file details are not loaded yet.');
    const file = this.file!;
    // Joining and the ICE servers are fetched while the disk is prepared, not after it; the
    // first sources are asked for with the join.
    const joining = this.connectSignal({ max: MAX_SOURCES });
    const ice = this.iceServers
      ? Promise.resolve({ iceServers: this.iceServers })
      : this.ahead.iceConfig();
    // The connection for the first source: made ahead, or else while the service is reached.
    let spare: Promise<RTCPeerConnection> | null = this.ahead.firstConnection(ice);
    joining.catch(() => {});
    ice.catch(() => {});
    spare.catch(() => {});
    let asked = false;
    // Asked for before any await (a save picker needs the click's user activation), and opened
    // while the connection is made, not before: verified pieces wait for it within the
    // download's backlog. One that cannot open (no space, the picker dismissed) ends the attempt,
    // and the next one asks again.
    const sink = (this.sink ??= openSink({
      name: meta.name,
      size: meta.size,
      roomId: this.opts.secret.roomId,
      prefer: this.opts.saveTo ?? 'auto',
    }));
    // Never resolves: rejects when the sink cannot open, so racing it ends any wait below.
    const sinkOpenFailure = sink.then(() => new Promise<never>(() => {}));
    sinkOpenFailure.catch(() => {
      if (this.sink !== sink) return;
      this.sink = null;
      this.received = null;
    });
    try {
      const download = (this.received ??= new Download(meta, whenOpen(sink)));
      download.onVerified = (index, parts) => this.offerPiece(download, index, parts);
      this.setState({ phase: 'connecting', file, bytes: download.bytes });
      const { client, first } = await Promise.race([joining, sinkOpenFailure]);
      this.iceServers ??= (await Promise.race([ice, sinkOpenFailure])).iceServers;
      const pc = await spare;
      spare = null;
      const sources = new SourceSet({
        pc,
        retired: this.retiredLinks,
        roomId: this.opts.secret.roomId,
        client,
        keys,
        iceServers: this.iceServers,
        download,
        onOpen: (peer) => {
          if (this.state.phase === 'downloading') return;
          this.attemptStartBytes = this.reportedBytes = download.bytes;
          this.rate.reset();
          this.rate.add(download.bytes);
          this.progress(peer, download, true);
        },
        onRetry: () => {
          // Until a source is back (the lost one's second attempt, or another), say so.
          if (sources.open === 0 && this.state.phase === 'downloading') {
            this.setState({ phase: 'connecting', file, bytes: download.bytes });
          }
        },
        onPiece: (peer) => this.progress(peer, download),
        onQueue: (position) => {
          if (position !== null) {
            this.setState({ phase: 'queued', file, bytes: download.bytes, position });
          } else if (this.state.phase === 'queued') {
            this.setState({ phase: 'connecting', file, bytes: download.bytes });
          }
        },
      });
      this.sources = sources;
      sinkOpenFailure.catch((err: unknown) => sources.stop(toP2PError(err)));
      asked = true;
      await sources.start(first ?? undefined);
      this.setState({ phase: 'saving', file });
      const { file: saved, sha256 } = await download.finish();
      await (await sink).save(saved, meta.name);
      sources.finish(sha256);
      this.sources = null;
      download.onVerified = null;
      (this.swarmSource ??= new SwarmSource(download)).whole(saved);
      this.result = { name: meta.name, size: meta.size, sha256 };
      this.setState({ phase: 'done', file, sha256, seeding: this.seedingView() });
      this.dispatchEvent(new CustomEvent('complete', { detail: this.result }));
      if (!this.seeding) this.stopSeeding(true);
      else if (!this.seeder) void this.startSeeding();
      else {
        this.seeder.announce([]);
        this.signal?.seed({ have: 'all', seeding: true }).catch(() => {});
      }
      return this.result;
    } catch (err) {
      const error = toP2PError(err);
      this.sources?.stop(error);
      this.sources = null;
      if (!asked) void this.giveBack(joining);
      void spare?.then((pc) => pc.close()).catch(() => {});
      const sinkLost = error.code === 'storage-error' || error.code === 'storage-full';
      if (sinkLost || (error.code === 'integrity' && this.received?.complete)) {
        // A failed sink keeps nothing, and a file that failed its final check must not be kept:
        // either way the next attempt starts over.
        await this.sink?.then((opened) => opened.abort()).catch(() => {});
        this.sink = null;
        this.received = null;
      }
      throw this.failed(error);
    }
  }

  /**
   * A piece was verified: keep it to serve others while the download goes on, and start serving
   * with the first one.
   */
  private offerPiece(download: Download, index: number, parts: PieceParts): void {
    if (!this.seeding || !download.hashes) return;
    const source = (this.swarmSource ??= new SwarmSource(download));
    if (!source.keep(index, parts)) return;
    if (this.seeder) this.seeder.announce([index]);
    else void this.startSeeding();
  }

  /** Serves what this page has to whoever the service sends, and tells the service so. */
  private async startSeeding(): Promise<void> {
    const keys = this.keys;
    const source = this.swarmSource;
    if (!keys || !source || this.seeder || this.startingSeeder) return;
    this.startingSeeder = true;
    try {
      const { client } = await this.connectSignal();
      if (!this.seeding || this.seeder) return;
      this.seeder = new PeerServer({
        roomId: this.opts.secret.roomId,
        localId: client.peerId,
        keys,
        iceServers: this.iceServers ?? [],
        source,
        pacer: this.pacer,
        relay: (to, env) => client.signal(to, env),
        onChange: () => this.showSeeding(),
        onProgress: (detail) => this.dispatchEvent(new CustomEvent('progress', { detail })),
      });
      await client.seed({ have: source.complete ? 'all' : 'some', seeding: true });
      this.showSeeding();
    } catch {
      // Seeding is a favour to others: if the service cannot be reached, this page just stops.
      this.seeder?.close(new P2PError('peer-vanished', 'This recipient stopped sharing the file.'));
      this.seeder = null;
      if (this.state.phase === 'done') this.stopSeeding(true, false);
      this.seeding = false;
      this.showSeeding();
    } finally {
      this.startingSeeder = false;
    }
  }

  /**
   * Stops serving. With the file saved, the connection to the service closes too: `tell` first
   * lets the service count the finish and take this page off the pool. Part-way, the download
   * keeps its connection and the service hears that this page serves no more.
   */
  private stopSeeding(done: boolean, tell = true): void {
    this.seeder?.close(new P2PError('peer-vanished', 'This recipient stopped sharing the file.'));
    this.seeder = null;
    const client = this.signal;
    if (!client) return;
    const have = done ? 'all' : (this.swarmSource?.count ?? 0) > 0 ? 'some' : 'none';
    if (!done) {
      if (tell) client.seed({ have, seeding: false }).catch(() => {});
      return;
    }
    this.signal = null;
    if (!tell) {
      client.close();
      return;
    }
    void client
      .seed({ have, seeding: false })
      .catch(() => {})
      .finally(() => client.close());
  }

  private seedingView(): SeedingView {
    return {
      on: this.seeding,
      serving: this.seeder?.serving ?? 0,
      uploaded: this.seeder?.uploaded ?? 0,
    };
  }

  /** Coalesces the seeder's per-piece changes into one `statechange`. */
  private showSeeding(): void {
    if (this.seedNotify) return;
    this.seedNotify = true;
    queueMicrotask(() => {
      this.seedNotify = false;
      if (this.state.phase === 'done') {
        this.setState({ ...this.state, seeding: this.seedingView() });
      }
    });
  }

  /**
   * Gives back the sources the join named for an attempt that ended before it used them (the
   * join may still be under way).
   */
  private async giveBack(
    joining: Promise<{ client: SignalClient; first: Promise<SourcesReply> | null }>,
  ): Promise<void> {
    try {
      const { client, first } = await joining;
      for (const peer of (await first)?.sources ?? []) client.release(peer).catch(() => {});
    } catch {
      // A join or a question that failed named nobody.
    }
  }

  /**
   * The joined signalling client; with `ask`, the join also asks for sources (`first`, null when
   * the client had joined before).
   */
  private async connectSignal(
    ask?: SourcesRequest,
  ): Promise<{ client: SignalClient; first: Promise<SourcesReply> | null }> {
    if (this.signal) return { client: this.signal, first: null };
    const client = await SignalClient.connect(this.opts.server);
    client.addEventListener('signal', (e) => {
      const msg = (e as CustomEvent<SignalIn>).detail;
      // Answers to our offers are for our sources; offers are from those fetching from us.
      if (fromOfferer(msg.envelope)) this.seeder?.handleSignal(msg);
      else this.sources?.receive(msg);
    });
    client.addEventListener('peer-left', (e) => {
      const { peerId } = (e as CustomEvent<{ peerId: string }>).detail;
      this.sources?.peerLeft(peerId);
      this.seeder?.peerLeft(peerId);
    });
    client.addEventListener('signal-failed', (e) => {
      const { to, error } = (e as CustomEvent<{ to: string; error: P2PError }>).detail;
      this.sources?.relayFailed(to, error);
      this.seeder?.relayFailed(to, error);
    });
    client.addEventListener('room-closed', () => {
      this.sources?.stop(new P2PError('room-closed', 'The sharer stopped sharing this file.'));
      if (this.seeder) this.stopSeeding(this.state.phase === 'done', false);
    });
    client.addEventListener('rejoined', () => {
      // A new connection is a new peer id: serve under it, and be in the pool again.
      if (!this.seeder) return;
      this.seeder.close(new P2PError('peer-vanished', 'This recipient reconnected.'));
      this.seeder = null;
      void this.startSeeding();
    });
    client.addEventListener('lost', () => {
      if (this.seeder) {
        this.stopSeeding(this.state.phase === 'done', false);
        this.showSeeding();
      }
    });
    let first: Promise<SourcesReply> | null = null;
    try {
      const token = await this.joinToken();
      const req: JoinRequest = {
        v: PROTOCOL_VERSION,
        roomId: this.opts.secret.roomId,
        role: 'recipient',
        ...(token ? { token } : {}),
      };
      if (ask) {
        const { joined, sources } = client.joinAndAsk(req, ask);
        await joined;
        first = sources;
      } else {
        await client.join(req);
      }
    } catch (err) {
      client.close();
      throw err;
    }
    this.signal = client;
    return { client, first };
  }

  private progress(peer: string, download: Download, force = false): void {
    const total = download.meta.size;
    const bytes = download.bytes;
    this.rate.add(bytes);
    const now = performance.now();
    // At most one event per PROGRESS_MS, except the first bytes of an attempt: they are news.
    const first = this.reportedBytes < bytes && this.reportedBytes === this.attemptStartBytes;
    if (!force && !first && bytes < total && now - this.lastProgress < PROGRESS_MS) return;
    this.lastProgress = now;
    this.reportedBytes = bytes;
    const speed = this.rate.rate;
    const eta = speed > 0 ? (total - bytes) / speed : null;
    const sources = this.sources?.open ?? 0;
    this.setState({ phase: 'downloading', file: this.file!, bytes, speed, eta, sources });
    this.dispatchEvent(new CustomEvent('progress', { detail: { bytes, total, peer } }));
  }

  private failed(error: P2PError): P2PError {
    const file = this.file;
    const bytes = this.received?.bytes ?? 0;
    const retryable = RETRYABLE.has(error.code) && !!this.meta;
    this.setState(
      file
        ? { phase: 'error', file, error: errorBody(error), retryable, bytes }
        : { phase: 'error', error: errorBody(error), retryable, bytes },
    );
    this.dispatchEvent(new CustomEvent('error', { detail: errorBody(error) }));
    return error;
  }

  private setState(state: ReceiveState): void {
    this.state = state;
    this.dispatchEvent(new Event('statechange'));
  }
}

/** A download's sink that may still be opening: each write (in order) waits for it. */
function whenOpen(sink: Promise<PieceSink>): PieceSink {
  return {
    write: async (offset, data) => (await sink).write(offset, data),
    finish: async () => (await sink).finish(),
  };
}
