/**
 * Bridges a ReceiveSession (one recipient of one link) into the element: opens the link as soon
 * as the page shows it (REST only), downloads on request, cancels, retries, and disposes of the
 * session when the link goes away or the element leaves the page.
 */
import type { LinkSecret } from '../crypto/link.js';
import { P2PError, type ErrorBody } from '../protocol/errors.js';
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
}

export class ReceiveController extends SessionBridge<ReceiveSessionApi> {
  /** What to show while no session speaks for itself: starting up, or failed before it could. */
  private local: ReceiveState | null = null;
  private secret: LinkSecret | null = null;
  private loading: Promise<void> | null = null;
  private downloading: Promise<CompleteDetail> | null = null;

  get state(): ReceiveState {
    return this.local ?? this.session?.state ?? { phase: 'loading' };
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

  /** Downloads, verifies and saves the file; resolves once it is saved. */
  download(): Promise<CompleteDetail> {
    if (this.downloading) return this.downloading;
    const downloading = this.startDownload().finally(() => {
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

  protected override release(): void {
    super.release();
    this.local = null;
    this.secret = null;
    this.loading = null;
    this.downloading = null;
  }

  private async startDownload(): Promise<CompleteDetail> {
    if (this.loading) await this.loading;
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
