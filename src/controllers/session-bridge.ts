/**
 * The part both controllers share: listen to one session at a time, re-render the host on every
 * state change, and pass progress, completion and failures to the element so that each failure
 * reaches the page exactly once, whether the session announced it, rejected with it, or both.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { ERROR_CODES, type ErrorBody, type ErrorCode } from '../../protocol/errors.js';
import { P2PError } from '../errors.js';
import type { ErrorDetail } from '../events.js';
import type { CompleteDetail, ProgressDetail } from '../session/types.js';

/** The element's `p2p-share-*` events, which a controller fires through these calls. */
export interface ElementEvents {
  error(detail: ErrorDetail): void;
  progress(detail: ProgressDetail): void;
  complete(detail: CompleteDetail): void;
}

interface Disposable extends EventTarget {
  dispose(): void;
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/** Any thrown value as an ErrorBody, so every failure has a code the page can act on. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof P2PError) return { code: err.code, message: err.message };
  if (err && typeof err === 'object' && 'code' in err && isErrorCode(err.code)) {
    const message = 'message' in err && typeof err.message === 'string' ? err.message : '';
    return { code: err.code, message };
  }
  if (err instanceof DOMException && err.name === 'AbortError') {
    return { code: 'cancelled', message: 'The transfer was cancelled.' };
  }
  const detail = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message: `Something unexpected went wrong: ${detail}` };
}

export function toP2PError(body: ErrorBody, cause?: unknown): P2PError {
  return cause instanceof P2PError ? cause : new P2PError(body.code, body.message, { cause });
}

/** Web Crypto, which seals the signalling, exists only on HTTPS pages and localhost. */
export function checkSecureContext(): void {
  if (globalThis.isSecureContext && globalThis.crypto?.subtle) return;
  throw new P2PError(
    'insecure-context',
    'Sharing files needs a secure page. Open this page over https:// and try again.',
  );
}

interface Operation {
  generation: number;
  error: ErrorBody | null;
  completed: boolean;
}

export abstract class SessionBridge<S extends Disposable> implements ReactiveController {
  /** A refused request (bad input, wrong mode) that leaves whatever is running untouched. */
  notice: ErrorBody | null = null;
  protected session: S | null = null;
  /** Bumped whenever the current session is replaced, so late async results are dropped. */
  protected generation = 0;
  private operation: Operation | null = null;
  /** Set when the user asked to stop: the `cancelled` failure that follows is no failure. */
  private cancelRequested = false;

  constructor(
    protected readonly host: ReactiveControllerHost,
    protected readonly events: ElementEvents,
  ) {
    host.addController(this);
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.release();
  }

  /** Shows and reports a refused request, and rejects with it. */
  failEarly(error: ErrorBody): Promise<never> {
    this.notice = error;
    this.report(error);
    return Promise.reject(new P2PError(error.code, error.message));
  }

  /** Drops the current session without waiting for it (the element left the page). */
  protected release(): void {
    this.generation++;
    this.notice = null;
    const old = this.detach();
    old?.dispose();
  }

  protected attach(session: S): void {
    this.detach();
    this.session = session;
    session.addEventListener('statechange', this.handleStateChange);
    session.addEventListener('progress', this.handleProgress);
    session.addEventListener('complete', this.handleComplete);
    session.addEventListener('error', this.handleError);
    this.host.requestUpdate();
  }

  protected detach(): S | null {
    const old = this.session;
    if (!old) return null;
    old.removeEventListener('statechange', this.handleStateChange);
    old.removeEventListener('progress', this.handleProgress);
    old.removeEventListener('complete', this.handleComplete);
    old.removeEventListener('error', this.handleError);
    this.session = null;
    this.host.requestUpdate();
    return old;
  }

  /**
   * Runs one user-visible operation. A session may both fire `error` and reject for the same
   * failure (and `complete` and resolve for the same success); only the first reaches the page.
   * The outcome of an operation whose session has since been replaced reaches nobody.
   */
  protected async run<T>(op: () => Promise<T>): Promise<T> {
    const operation: Operation = { generation: this.generation, error: null, completed: false };
    this.operation = operation;
    this.notice = null;
    this.cancelRequested = false;
    try {
      return await op();
    } catch (err) {
      const body = toErrorBody(err);
      if (!operation.error && operation.generation === this.generation) this.report(body);
      throw toP2PError(body, err);
    } finally {
      if (this.operation === operation) this.operation = null;
      this.host.requestUpdate();
    }
  }

  /** Marks the `cancelled` outcome that is about to follow as the user's own doing. */
  protected requestCancel(): void {
    this.cancelRequested = true;
  }

  protected isUserCancel(body: ErrorBody): boolean {
    return body.code === 'cancelled' && this.cancelRequested;
  }

  protected report(body: ErrorBody): void {
    if (this.isUserCancel(body)) return;
    const operation = this.operation;
    if (operation) {
      if (operation.error?.code === body.code && operation.error.message === body.message) return;
      operation.error = body;
    }
    this.events.error(body);
    this.host.requestUpdate();
  }

  protected completed(detail: CompleteDetail): void {
    const operation = this.operation;
    if (operation) {
      if (operation.completed) return;
      operation.completed = true;
    }
    this.events.complete(detail);
  }

  /** Called on every state change of the current session, before the host re-renders. */
  protected stateChanged(): void {}

  private handleStateChange = (): void => {
    this.stateChanged();
    this.host.requestUpdate();
  };

  private handleProgress = (event: Event): void => {
    this.events.progress((event as CustomEvent<ProgressDetail>).detail);
  };

  private handleComplete = (event: Event): void => {
    this.completed((event as CustomEvent<CompleteDetail>).detail);
  };

  private handleError = (event: Event): void => {
    this.report((event as CustomEvent<ErrorBody>).detail);
  };
}
