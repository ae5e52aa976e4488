/**
 * The part both controllers share: listen to one session at a time, re-render the host on every
 * state change, and pass progress, completion and failures to the element so that each failure
 * reaches the page exactly once, whether the session announced it, rejected with it, or both.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { errorData, P2PError, toP2PError, type ErrorData } from '../errors.js';
import type { ErrorDetail } from '../events.js';
import type { CompleteDetail, ProgressDetail } from '../session/types.js';
import { errorMessage } from '../ui/text.js';

/** The element's `p2p-share-*` events, which a controller fires through these calls. */
export interface ElementEvents {
  error(detail: ErrorDetail): void;
  progress(detail: ProgressDetail): void;
  complete(detail: CompleteDetail): void;
}

interface Disposable extends EventTarget {
  dispose(): void;
}

/**
 * Whatever a session or a call rejected with, as a P2PError: the engine's mapping, and besides it
 * an abort (the user's) as `cancelled`.
 */
export function rejectionError(err: unknown): P2PError {
  if (err instanceof DOMException && err.name === 'AbortError') {
    return new P2PError('cancelled', {}, { cause: err });
  }
  return toP2PError(err);
}

/** Whatever a session or a call rejected with, as data. */
export function failureOf(err: unknown): ErrorData {
  return errorData(rejectionError(err));
}

/** The failure as `p2p-share-error` reports it: its data, its sentence, and whose it was. */
export function errorDetail(error: ErrorData, peer?: string): ErrorDetail {
  const detail: ErrorDetail = { ...error, message: errorMessage(error) };
  if (peer !== undefined) detail.peer = peer;
  return detail;
}

/** Whether two reports are of the same failure: the same code and the same parameters. */
function sameFailure(a: ErrorData, b: ErrorData): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => a[key as keyof ErrorData] === b[key as keyof ErrorData]);
}

/** Web Crypto, which seals the signalling, exists only on HTTPS pages and localhost. */
export function checkSecureContext(): void {
  if (globalThis.isSecureContext && globalThis.crypto?.subtle) return;
  throw new P2PError('insecure-context');
}

interface Operation {
  generation: number;
  error: ErrorData | null;
  completed: boolean;
}

export abstract class SessionBridge<S extends Disposable> implements ReactiveController {
  /** A refused request (bad input, wrong mode) that leaves whatever is running untouched. */
  notice: ErrorData | null = null;
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
  failEarly(error: P2PError): Promise<never> {
    const data = errorData(error);
    this.notice = data;
    this.report(data);
    return Promise.reject(error);
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
      const error = rejectionError(err);
      if (!operation.error && operation.generation === this.generation) {
        this.report(errorData(error));
      }
      throw error;
    } finally {
      if (this.operation === operation) this.operation = null;
      this.host.requestUpdate();
    }
  }

  /** Marks the `cancelled` outcome that is about to follow as the user's own doing. */
  protected requestCancel(): void {
    this.cancelRequested = true;
  }

  protected isUserCancel(error: ErrorData): boolean {
    return error.code === 'cancelled' && this.cancelRequested;
  }

  protected report(error: ErrorData): void {
    if (this.isUserCancel(error)) return;
    const operation = this.operation;
    if (operation) {
      if (operation.error && sameFailure(operation.error, error)) return;
      operation.error = error;
    }
    this.events.error(errorDetail(error));
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
    this.report((event as CustomEvent<ErrorData>).detail);
  };
}
