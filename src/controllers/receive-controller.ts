/**
 * Bridges a ReceiveSession (one recipient of one link) into the element: opens the link as soon
 * as the page shows it (REST only), unlocks a password share, downloads on request, cancels,
 * retries, and disposes of the session when the link goes away or the element leaves the page.
 * After too many password tries it counts down the wait the service asked for.
 */
import type { LinkSecret } from '../crypto/link.js';
import { type ErrorBody } from '../../protocol/errors.js';
import { P2PError } from '../errors.js';
import type {
  CompleteDetail,
  FileInfo,
  ReceiveSessionApi,
  ReceiveState,
} from '../session/types.js';
import { SessionBridge, checkSecureContext, toErrorBody } from './session-bridge.js';
import { sessionFactory, type SaveTo } from './session-factory.js';

export interface ReceiveOptions {
  server: string;
  saveTo: SaveTo;
  /** Bytes per second this browser uploads to later recipients at most; 0 for no limit. */
  uploadLimit: number;
  /** Whether the finished download keeps sharing with later recipients until the user says no. */
  seed: boolean;
}

/**
 * The seconds a `rate-limited` message asks to wait. The engine reads the service's Retry-After
 * into its message ("Wait 12 seconds", "Wait 2 minutes"); the error body has no field for it.
 */
export function waitFromMessage(message: string): number | null {
  const match = /\bwait (\d+) (second|minute)s?\b/i.exec(message);
  if (!match) return null;
  return Number(match[1]) * (match[2]!.toLowerCase() === 'minute' ? 60 : 1);
}

export class ReceiveController extends SessionBridge<ReceiveSessionApi> {
  /** What to show while no session speaks for itself: starting up, or failed before it could. */
  private local: ReceiveState | null = null;
  private secret: LinkSecret | null = null;
  private loading: Promise<void> | null = null;
  private downloading: Promise<CompleteDetail> | null = null;
  private unlocking: Promise<FileInfo> | null = null;
  /** When a rate-limited password may be tried again (epoch ms); null when no wait is known. */
  private retryAt: number | null = null;
  private ticker: ReturnType<typeof setInterval> | undefined;

  get state(): ReceiveState {
    return this.local ?? this.session?.state ?? { phase: 'loading' };
  }

  /** Whether a password is being checked right now. */
  get isUnlocking(): boolean {
    return this.unlocking !== null;
  }

  /** Seconds until the password may be tried again (0 once the wait is over); null if unknown. */
  get wait(): number | null {
    if (this.retryAt === null) return null;
    return Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
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
    const error: ErrorBody = {
      code: 'invalid-link',
      message:
        'This share link is incomplete or damaged. Ask the sender for the link again and copy all of it.',
    };
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
    this.stopCountdown();
  }

  private async startUnlock(password: string): Promise<FileInfo> {
    if (this.loading) await this.loading;
    const session = this.session;
    const state = this.state;
    if (session && state.phase === 'ready') return state.file;
    if (!session || state.phase !== 'locked') {
      if (state.phase === 'error') throw new P2PError(state.error.code, state.error.message);
      return this.failEarly({
        code: 'bad-request',
        message: 'There is no password-protected share to unlock here.',
      });
    }
    const generation = this.generation;
    // A form kept up after an earlier failure stays up, without that failure, while this try runs.
    if (this.local) this.local = { phase: 'locked' };
    this.stopCountdown();
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
    const error = toErrorBody(err);
    if (this.session?.state.phase !== 'locked') this.local = { phase: 'locked', error };
    if (error.code === 'rate-limited') {
      const seconds = waitFromMessage(error.message);
      if (seconds !== null) this.startCountdown(seconds);
    }
    this.host.requestUpdate();
  }

  private startCountdown(seconds: number): void {
    this.stopCountdown();
    this.retryAt = Date.now() + seconds * 1000;
    // Re-render each second for the countdown, and once more when the wait is over.
    this.ticker = setInterval(() => {
      if (this.wait === 0) clearInterval(this.ticker);
      this.host.requestUpdate();
    }, 1000);
  }

  private stopCountdown(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.retryAt = null;
  }

  private async startDownload(password?: string): Promise<CompleteDetail> {
    if (this.loading) await this.loading;
    if (this.state.phase === 'locked') {
      if (!password) {
        return this.failEarly({ code: 'bad-password', message: 'This share needs its password.' });
      }
      await this.unlock(password);
    }
    const session = this.session;
    const state = this.state;
    if (state.phase === 'error' && (!session || !state.file)) {
      // That failure has been shown and reported already; the caller still learns of it.
      throw new P2PError(state.error.code, state.error.message);
    }
    if (!session || !('file' in state) || !state.file) {
      return this.failEarly({
        code: 'bad-request',
        message: 'There is no shared file to download here: open a share link first.',
      });
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
    const error = toErrorBody(err);
    if (this.session?.state.phase === 'error' || this.isUserCancel(error)) return;
    const retryable = error.code !== 'invalid-link' && error.code !== 'insecure-context';
    this.local = file
      ? { phase: 'error', file, error, retryable, bytes: 0 }
      : { phase: 'error', error, retryable, bytes: 0 };
    this.host.requestUpdate();
  }
}
