/**
 * Bridges a ShareSession (the sharer's side of one room) into the element: starts it, exposes its
 * state for rendering, stops or replaces it, and disposes of it when the element leaves the page.
 * Failures that happen before a session exists (bad input, insecure page) get the same treatment.
 */
import type { ReactiveControllerHost } from 'lit';
import { errorData, P2PError } from '../errors.js';
import type {
  FileInfo,
  PeerStatus,
  SessionOptions,
  ShareSessionApi,
  ShareState,
} from '../session/types.js';
import {
  SessionBridge,
  checkSecureContext,
  errorDetail,
  failureOf,
  rejectionError,
  type ElementEvents,
} from './session-bridge.js';
import { sessionFactory } from './session-factory.js';

export interface ShareEvents extends ElementEvents {
  link(link: string): void;
}

export function fileInfo(file: File): FileInfo {
  return { name: file.name, size: file.size, type: file.type };
}

export class ShareController extends SessionBridge<ShareSessionApi> {
  /** What to show while no session speaks for itself: starting up, or failed before it could. */
  private local: ShareState | null = null;
  /** Each recipient's last status, to tell when one newly fails. */
  private peerStatus = new Map<string, PeerStatus>();
  /** Whether the current share needs a password (the password itself is not kept). */
  passwordProtected = false;
  /** Whether leaving the page asks first: only while a recipient is being served. */
  private guarded = false;

  constructor(
    host: ReactiveControllerHost,
    protected override readonly events: ShareEvents,
  ) {
    super(host, events);
  }

  get state(): ShareState {
    if (this.local?.phase === 'error') return this.local;
    const own = this.session?.state;
    if (own && own.phase !== 'idle') return own;
    return this.local ?? own ?? { phase: 'idle' };
  }

  get link(): string {
    const state = this.state;
    return state.phase === 'sharing' ? state.link : '';
  }

  /**
   * Shares `files` (exactly one for now) from `page` through the service and upload limit in
   * `options`; resolves to the link. A non-empty `password` makes recipients give it before they
   * learn anything about the file.
   */
  async share(
    files: File | File[],
    page: string,
    options: SessionOptions,
    password = '',
  ): Promise<string> {
    const list = Array.isArray(files) ? files : [files];
    const file = list[0];
    if (list.length !== 1 || !(file instanceof File)) {
      const reason = list.length > 1 ? 'several-files' : 'no-file';
      return this.failEarly(new P2PError('bad-request', { reason }));
    }

    this.retire();
    const generation = this.generation;
    this.passwordProtected = password !== '';
    this.local = { phase: 'preparing', file: fileInfo(file), hashed: 0 };
    this.host.requestUpdate();
    try {
      const link = await this.run(async () => {
        checkSecureContext();
        const session = await sessionFactory().share(options);
        if (generation !== this.generation) {
          session.dispose();
          throw new P2PError('cancelled', { reason: 'replaced' });
        }
        this.attach(session);
        return session.share(file, page, password ? { password } : {});
      });
      if (generation === this.generation) this.events.link(link);
      return link;
    } catch (err) {
      if (generation === this.generation) this.showFailure(err, fileInfo(file));
      throw err;
    }
  }

  /** Stops serving and deletes the room; the file stays shown so another can be shared next. */
  async stop(): Promise<void> {
    const session = this.session;
    if (!session) return;
    const generation = this.generation;
    // Not run(): stopping may interrupt the share() operation, whose outcome is still awaited.
    this.requestCancel();
    try {
      await session.stop();
    } catch (err) {
      if (generation !== this.generation) return;
      const error = rejectionError(err);
      this.report(errorData(error));
      this.showFailure(error, stateFile(session.state));
      throw error;
    }
  }

  /** Back to an empty drop zone, releasing whatever ran before. */
  reset(): void {
    this.retire();
    this.notice = null;
    this.host.requestUpdate();
  }

  /** Shows and reports, once, that this page cannot share at all (plain HTTP). */
  refuseInsecure(): void {
    if (this.state.phase === 'error' && this.state.error.code === 'insecure-context') return;
    try {
      checkSecureContext();
    } catch (err) {
      const error = failureOf(err);
      this.local = { phase: 'error', error };
      this.report(error);
    }
  }

  protected override release(): void {
    super.release();
    this.local = null;
    this.peerStatus.clear();
    this.passwordProtected = false;
  }

  /**
   * A recipient's failure is a failure too: the session shows it in the list, and the page
   * hears of it once each time that recipient goes from trying to failed.
   */
  protected override stateChanged(): void {
    const state = this.session?.state;
    this.guard(state?.phase === 'sharing' && state.peers.some((p) => p.status === 'transferring'));
    if (state?.phase !== 'sharing') return;
    for (const peer of state.peers) {
      const before = this.peerStatus.get(peer.peerId);
      this.peerStatus.set(peer.peerId, peer.status);
      if (peer.status !== 'failed' || before === 'failed') continue;
      const error = peer.error ?? { code: 'peer-vanished', reason: 'closed' };
      this.events.error(errorDetail(error, peer.peerId));
    }
    // The session's list drops old failed rows; so does this record of them.
    if (this.peerStatus.size > state.peers.length) {
      const listed = new Set(state.peers.map((p) => p.peerId));
      for (const id of this.peerStatus.keys()) if (!listed.has(id)) this.peerStatus.delete(id);
    }
  }

  protected override detach(): ShareSessionApi | null {
    this.guard(false);
    return super.detach();
  }

  /** Adds or removes the `beforeunload` prompt that asks a sharer to keep the tab open. */
  private guard(on: boolean): void {
    if (on !== this.guarded) {
      this.guarded = on;
      (on ? addEventListener : removeEventListener)('beforeunload', preventUnload);
    }
  }

  /** Shows a failure the session's own state does not (it may not have got that far). */
  private showFailure(err: unknown, file: FileInfo | undefined): void {
    const error = failureOf(err);
    if (this.session?.state.phase === 'error' || this.isUserCancel(error)) return;
    this.local = file ? { phase: 'error', file, error } : { phase: 'error', error };
    this.host.requestUpdate();
  }

  /** Ends the current share politely (the room is deleted) without holding up the caller. */
  private retire(): void {
    this.generation++;
    this.local = null;
    this.peerStatus.clear();
    this.passwordProtected = false;
    const old = this.detach();
    if (old) {
      const active = old.state.phase === 'sharing' || old.state.phase === 'preparing';
      if (active)
        void old.stop().then(
          () => old.dispose(),
          () => old.dispose(),
        );
      else old.dispose();
    }
  }
}

const preventUnload = (event: Event): void => event.preventDefault();

function stateFile(state: ShareState): FileInfo | undefined {
  return 'file' in state ? state.file : undefined;
}
