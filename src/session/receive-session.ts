/**
 * A recipient's side of one room: read and open the sealed metadata over REST (no socket yet);
 * on download, open the disk sink (first, while the click still counts as a user gesture), join,
 * fetch pieces from the sources the service assigns (a SourceSet; possibly after waiting in the
 * queue) until the whole file is verified and saved. The Download survives failures, so a retry
 * fetches only what is missing. What it readies before the click (MadeAhead), its connection to
 * the service (RoomSignal) and its serving of the file to later recipients (Seeding) are parts
 * it composes.
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
import { errorData, P2PError, toP2PError } from '../errors.js';
import { META_AAD } from '../../protocol/sealing.js';
import { FileMetaSchema, type FileMeta } from '../../protocol/meta.js';
import type { PasswordReply } from '../../protocol/signalling.js';
import { RestClient } from '../signal/rest.js';
import { openSink, sanitizeFileName, type Sink, type SinkPreference } from '../sinks/index.js';
import { Download, type PieceSink } from '../transfer/download.js';
import { DownloadProgress } from './download-progress.js';
import { Ice } from './ice.js';
import { MadeAhead } from './made-ahead.js';
import { RoomSignal, type Joined } from './room-signal.js';
import { Seeding } from './seeding.js';
import { MAX_SOURCES, SourceSet } from './source-set.js';
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
  'service-unavailable',
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
  private readonly signal: RoomSignal;
  private readonly ice: Ice;
  /** The download's sources while an attempt runs. */
  private sources: SourceSet | null = null;
  private readonly seeding: Seeding;
  private running: Promise<CompleteDetail> | null = null;
  private result: CompleteDetail | null = null;
  private readonly reports = new DownloadProgress();
  /** Sessions of links this download ended, across its attempts (see SourceSet's `retired`). */
  private readonly retiredLinks = new Set<string>();
  /** For a password room: the proof it was unlocked with (never the password) and its token. */
  private passwordAuth: string | null = null;
  private token: PasswordReply | null = null;
  /** What is readied before the click, from the moment the file's details are open. */
  private readonly ahead: MadeAhead;

  constructor(private readonly opts: ReceiveSessionOptions) {
    super();
    this.rest = new RestClient(opts.server);
    this.ahead = new MadeAhead();
    this.ice = new Ice(this.rest, opts.relayOnly);
    const { roomId } = opts.secret;
    this.signal = new RoomSignal({
      server: opts.server,
      roomId,
      joinToken: () => this.joinToken(),
      sources: () => this.sources,
      seeding: () => this.seeding,
      service: () => this.setState(this.state),
    });
    this.seeding = new Seeding({
      roomId,
      signal: this.signal,
      on: opts.seed ?? true,
      uploadLimit: opts.uploadLimit ?? 0,
      keys: () => this.keys,
      ice: this.ice.config,
      onChange: () => {
        if (this.state.phase === 'done') {
          this.setState({ ...this.state, seeding: this.seeding.view() });
        }
      },
      onProgress: (detail) => this.dispatchEvent(new CustomEvent('progress', { detail })),
    });
  }

  private get file(): FileInfo | undefined {
    const m = this.meta;
    if (!m) return undefined;
    // The name this browser saves the file under, which is also the one it shows.
    const info: FileInfo = { name: sanitizeFileName(m.name), size: m.size, type: m.type };
    return m.media ? { ...info, media: m.media } : info;
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
      this.setState({ phase: 'locked', error: errorData(error) });
      this.dispatchEvent(new CustomEvent('error', { detail: errorData(error) }));
      throw error;
    }
  }

  private async openMeta(sealed: string | undefined, keys: RoomKeys): Promise<FileInfo> {
    if (sealed === undefined) {
      throw new P2PError('protocol-mismatch', { reason: 'service' });
    }
    const parsed = v.safeParse(FileMetaSchema, await openJson(keys.meta, sealed, META_AAD));
    if (!parsed.success) {
      throw new P2PError('protocol-mismatch', { reason: 'share' });
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
    this.sources?.stop(new P2PError('cancelled', { reason: 'user' }));
  }

  setSeeding(on: boolean): void {
    this.seeding.setOn(on);
  }

  dispose(): void {
    this.ahead.take()?.close();
    this.ice.close();
    this.sources?.stop(new P2PError('cancelled', { reason: 'closed' }));
    this.seeding.close();
    this.signal.close();
    if (!this.result) void this.sink?.then((sink) => sink.abort()).catch(() => {});
  }

  private async run(): Promise<CompleteDetail> {
    const meta = this.meta;
    const keys = this.keys;
    if (!meta || !keys) throw new P2PError('bad-request', { reason: 'not-ready' });
    const file = this.file!;
    // Joining happens while the disk is prepared, not after it; the first sources are asked
    // for with the join.
    const joining = this.signal.connect({ max: MAX_SOURCES });
    joining.catch(() => {});
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
      download.onVerified = (index, parts) => this.seeding.offer(download, index, parts);
      this.setState({ phase: 'connecting', file, bytes: download.bytes });
      const { client, first } = await Promise.race([joining, sinkOpenFailure]);
      // TURN credentials are for members: the ICE servers are fetched once joined.
      if (!this.ice.config.iceServers) {
        await Promise.race([this.ice.load(() => this.signal.client?.ticket), sinkOpenFailure]);
      }
      const sources = new SourceSet({
        // The connection for the first source, if it was made ahead.
        pc: this.ahead.take(),
        retired: this.retiredLinks,
        roomId: this.opts.secret.roomId,
        client,
        keys,
        ice: this.ice.config,
        download,
        onOpen: (peer) => {
          if (this.state.phase === 'downloading') return;
          this.reports.restart(download.bytes);
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
      this.seeding.whole(download, saved);
      this.result = { name: file.name, originalName: meta.name, size: meta.size, sha256 };
      this.setState({ phase: 'done', file, sha256, seeding: this.seeding.view() });
      this.dispatchEvent(new CustomEvent('complete', { detail: this.result }));
      this.seeding.serveWhole();
      return this.result;
    } catch (err) {
      const error = toP2PError(err);
      this.sources?.stop(error);
      this.sources = null;
      if (!asked) void this.giveBack(joining);
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
   * Gives back the sources the join named for an attempt that ended before it used them (the
   * join may still be under way).
   */
  private async giveBack(joining: Promise<Joined>): Promise<void> {
    try {
      const { client, first } = await joining;
      for (const peer of (await first)?.sources ?? []) client.release(peer).catch(() => {});
    } catch {
      // A join or a question that failed named nobody.
    }
  }

  private progress(peer: string, download: Download, force = false): void {
    const total = download.meta.size;
    const bytes = download.bytes;
    const report = this.reports.report(bytes, total, force);
    if (!report) return;
    const { speed, eta } = report;
    const sources = this.sources?.open ?? 0;
    const relayed = this.sources?.relayed;
    this.setState({ phase: 'downloading', file: this.file!, bytes, speed, eta, sources, relayed });
    this.dispatchEvent(new CustomEvent('progress', { detail: { bytes, total, peer } }));
  }

  private failed(error: P2PError): P2PError {
    const file = this.file;
    const bytes = this.received?.bytes ?? 0;
    const retryable = RETRYABLE.has(error.code) && !!this.meta;
    this.setState(
      file
        ? { phase: 'error', file, error: errorData(error), retryable, bytes }
        : { phase: 'error', error: errorData(error), retryable, bytes },
    );
    this.dispatchEvent(new CustomEvent('error', { detail: errorData(error) }));
    return error;
  }

  private setState(state: ReceiveState): void {
    this.state = { ...state, unavailable: this.signal.client?.unavailable };
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
