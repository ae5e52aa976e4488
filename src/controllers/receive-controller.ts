/**
 * Bridges a ReceiveSession (one recipient of one link) into the element: opens the link as soon
 * as the page shows it (REST only), unlocks a password share, downloads on request, cancels,
 * retries, and disposes of the session when the link goes away or the element leaves the page.
 * After too many password tries it counts down the wait the service asked for.
 */
import type { ReactiveControllerHost } from 'lit';
import type { LinkSecret } from '../crypto/link.js';
import { P2PError, type ErrorData } from '../errors.js';
import type {
  CompleteDetail,
  FileInfo,
  ReceiveSessionApi,
  ReceiveState,
} from '../session/types.js';
import { CountdownController } from './countdown-controller.js';
import {
  SessionBridge,
  checkSecureContext,
  failureOf,
  type ElementEvents,
} from './session-bridge.js';
import { sessionFactory, type SaveTo } from './session-factory.js';

export interface ReceiveOptions {
  server: string;
  saveTo: SaveTo;
  /** Bytes per second this browser uploads to later recipients at most; 0 for no limit. */
  uploadLimit: number;
  /** Whether the finished download keeps sharing with later recipients until the user says no. */
  seed: boolean;
  /** Connect only through a TURN relay. */
  relayOnly: boolean;
}

export class ReceiveController extends SessionBridge<ReceiveSessionApi> {
  /** What to show while no session speaks for itself: starting up, or failed before it could. */
  private local: ReceiveState | null = null;
  private secret: LinkSecret | null = null;
  private loading: Promise<void> | null = null;
  private downloading: Promise<CompleteDetail> | null = null;
  private unlocking: Promise<FileInfo> | null = null;
  /** The wait before a rate-limited password may be tried again. */
  private readonly countdown: CountdownController;

  constructor(host: ReactiveControllerHost, events: ElementEvents) {
    super(host, events);
    this.countdown = new CountdownController(host);
  }

  get state(): ReceiveState {
    return this.local ?? this.session?.state ?? { phase: 'loading' };
  }

  /** Whether a password is being checked right now. */
  get isUnlocking(): boolean {
    return this.unlocking !== null;
  }

  /** Seconds until the password may be tried again (0 once the wait is over); null if unknown. */
  get wait(): number | null {
    return this.countdown.seconds;
  }

  /** Opens `secret` unless it is already open: creates the session and fetches the metadata. */
  open(secret: LinkSecret, options: ReceiveOptions): void {
    const same = this.secret?.roomId === secret.roomId && this.secret.key === secret.key;
    if (same && this.state.phase !== 'error') return;
    this.release();
    this.secret = secret;
    this.loading = this.load(secret, options);
  }

  /** The page shows a share link that cannot be read (cut short when copied, say). */
  invalid(): void {
    if (!this.secret && this.local?.phase === 'error') return;
    this.release();
    const error: ErrorData = { code: 'invalid-link' };
    this.local = { phase: 'error', error, retryable: false, bytes: 0 };
    this.report(error);
  }

  /** The page no longer shows a link. */
  close(): void {
    this.release();
    this.host.requestUpdate();
  }

  /**
   * Gives a locked share its password; resolves to the file once it is open. A wrong password
   * leaves it locked with the error shown; too many tries start the countdown.
   */
  unlock(password: string): Promise<FileInfo> {
    if (this.unlocking) return this.unlocking;
    const unlocking = this.startUnlock(password).finally(() => {
      if (this.unlocking === unlocking) this.unlocking = null;
      this.host.requestUpdate();
    });
    this.unlocking = unlocking;
    this.host.requestUpdate();
    return unlocking;
  }

  /**
   * Downloads, verifies and saves the file; resolves once it is saved. A locked share is unlocked
   * with `password` first, and refused without one.
   */
  download(password?: string): Promise<CompleteDetail> {
    if (this.downloading) return this.downloading;
    const downloading = this.startDownload(password).finally(() => {
      if (this.downloading === downloading) this.downloading = null;
    });
    this.downloading = downloading;
    return downloading;
  }

  /** Tries again after a failure: the metadata if it never arrived, the download otherwise. */
  async retry(options: ReceiveOptions): Promise<void> {
    const state = this.state;
    if (state.phase === 'error' && !state.file && this.secret) {
      this.open(this.secret, options);
      await this.loading;
      return;
    }
    await this.download();
  }

  cancel(): void {
    if (!this.session) return;
    this.requestCancel();
    this.session.cancel();
  }

  /** The user's toggle: whether this browser serves the file to later recipients. */
  setSeeding(on: boolean): void {
    this.session?.setSeeding(on);
    this.host.requestUpdate();
  }

  protected override release(): void {
    super.release();
    this.local = null;
    this.secret = null;
    this.loading = null;
    this.downloading = null;
    this.unlocking = null;
    this.countdown.stop();
  }

  private async startUnlock(password: string): Promise<FileInfo> {
    if (this.loading) await this.loading;
    const session = this.session;
    const state = this.state;
    if (session && state.phase === 'ready') return state.file;
    if (!session || state.phase !== 'locked') {
      if (state.phase === 'error') throw stateError(state.error);
      return this.failEarly(new P2PError('bad-request', { reason: 'not-ready' }));
    }
    const generation = this.generation;
    // A form kept up after an earlier failure stays up, without that failure, while this try runs.
    if (this.local) this.local = { phase: 'locked' };
    this.countdown.stop();
    try {
      const file = await this.run(() => session.unlock(password));
      if (generation === this.generation) this.local = null;
      return file;
    } catch (err) {
      if (generation === this.generation) this.unlockFailed(err);
      throw err;
    }
  }

  /**
   * Keeps the password form up after any failed try, so the user can try again: the session
   * stays locked for a wrong password or a rate limit, and fails outright for anything else.
   */
  private unlockFailed(err: unknown): void {
    const error = failureOf(err);
    if (this.session?.state.phase !== 'locked') this.local = { phase: 'locked', error };
    if (error.code === 'rate-limited' && error.retryAfterMs !== undefined) {
      this.countdown.start(error.retryAfterMs);
    }
    this.host.requestUpdate();
  }

  private async startDownload(password?: string): Promise<CompleteDetail> {
    if (this.loading) await this.loading;
    if (this.state.phase === 'locked') {
      if (!password) {
        return this.failEarly(new P2PError('bad-password', { reason: 'missing' }));
      }
      await this.unlock(password);
    }
    const session = this.session;
    const state = this.state;
    if (state.phase === 'error' && (!session || !state.file)) {
      // That failure has been shown and reported already; the caller still learns of it.
      throw stateError(state.error);
    }
    if (!session || !('file' in state) || !state.file) {
      return this.failEarly(new P2PError('bad-request', { reason: 'no-link' }));
    }
    const file = state.file;
    const generation = this.generation;
    this.local = null;
    try {
      return await this.run(async () => {
        const detail = await session.download();
        this.completed(detail);
        return detail;
      });
    } catch (err) {
      if (generation === this.generation) this.showFailure(err, file);
      throw err;
    }
  }

  private async load(secret: LinkSecret, options: ReceiveOptions): Promise<void> {
    const generation = this.generation;
    try {
      await this.run(async () => {
        checkSecureContext();
        const session = await sessionFactory().receive({ ...options, secret });
        if (generation !== this.generation) {
          session.dispose();
          return;
        }
        this.attach(session);
        await session.load();
      });
    } catch (err) {
      if (generation === this.generation) this.showFailure(err, undefined);
    }
  }

  /** Shows a failure the session's own state does not (it may not have got that far). */
  private showFailure(err: unknown, file: FileInfo | undefined): void {
    const error = failureOf(err);
    if (this.session?.state.phase === 'error' || this.isUserCancel(error)) return;
    const retryable = error.code !== 'invalid-link' && error.code !== 'insecure-context';
    this.local = file
      ? { phase: 'error', file, error, retryable, bytes: 0 }
      : { phase: 'error', error, retryable, bytes: 0 };
    this.host.requestUpdate();
  }
}

/** The failure a state shows, to reject with again. */
function stateError({ code, ...params }: ErrorData): P2PError {
  return new P2PError(code, params);
}
