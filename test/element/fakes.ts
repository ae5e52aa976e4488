/**
 * Scripted stand-ins for ShareSession and ReceiveSession, installed through the factory's test
 * seam. They keep to the contract in src/session/types.ts (state, statechange, progress,
 * complete, error) and let a test drive states that need two real browsers to reach.
 */
import { P2PError, type ErrorData } from '../../src/errors.js';
import { sanitizeFileName } from '../../src/sinks/file-name.js';
import {
  setSessionFactoryForTesting,
  type ReceiveSessionOptions,
  type ShareSessionOptions,
} from '../../src/controllers/session-factory.js';
import type {
  CompleteDetail,
  FileInfo,
  ProgressDetail,
  ReceiveSessionApi,
  ReceiveState,
  ShareOptions,
  ShareSessionApi,
  ShareState,
} from '../../src/session/types.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What a real session rejects with for the failure its state and `error` event report. */
function rejection({ code, ...params }: ErrorData): P2PError {
  return new P2PError(code, params);
}

abstract class FakeSession<S> extends EventTarget {
  abstract state: S;
  disposed = 0;

  set(state: S): void {
    this.state = state;
    this.dispatchEvent(new Event('statechange'));
  }

  progress(detail: ProgressDetail): void {
    this.dispatchEvent(new CustomEvent('progress', { detail }));
  }

  complete(detail: CompleteDetail): void {
    this.dispatchEvent(new CustomEvent('complete', { detail }));
  }

  errorEvent(error: ErrorData): void {
    this.dispatchEvent(new CustomEvent('error', { detail: error }));
  }

  dispose(): void {
    this.disposed++;
  }
}

export class FakeShareSession extends FakeSession<ShareState> implements ShareSessionApi {
  state: ShareState = { phase: 'idle' };
  readonly calls: { file: File; page: string; options: ShareOptions | undefined }[] = [];
  stops = 0;
  private pending: Deferred<string> | null = null;

  constructor(readonly options: ShareSessionOptions) {
    super();
  }

  get file(): FileInfo {
    const call = this.calls.at(-1)!;
    return { name: call.file.name, size: call.file.size, type: call.file.type };
  }

  share(file: File, page: string, options?: ShareOptions): Promise<string> {
    this.calls.push({ file, page, options });
    this.pending = deferred();
    this.set({ phase: 'preparing', file: this.file, hashed: 0 });
    return this.pending.promise;
  }

  /** Finishes preparing: the room exists and the link is ready. */
  ready(link: string): void {
    this.set({ phase: 'sharing', file: this.file, link, peers: [], uploaded: 0, swarm: null });
    this.pending?.resolve(link);
  }

  /** Fails the way the real session does: error state, `error` event, then the rejection. */
  fail(error: ErrorData, how: { event?: boolean; reject?: boolean } = {}): void {
    this.set({ phase: 'error', file: this.file, error });
    if (how.event ?? true) this.errorEvent(error);
    if (how.reject ?? true) this.pending?.reject(rejection(error));
  }

  stop(): Promise<void> {
    this.stops++;
    if (this.state.phase === 'preparing') {
      this.pending?.reject(new P2PError('cancelled', { reason: 'stopped' }));
    }
    this.set({ phase: 'stopped', file: this.file });
    return Promise.resolve();
  }
}

export class FakeReceiveSession extends FakeSession<ReceiveState> implements ReceiveSessionApi {
  state: ReceiveState = { phase: 'loading' };
  loads = 0;
  downloads = 0;
  cancels = 0;
  /** Every value `setSeeding()` was given, in order. */
  readonly seedings: boolean[] = [];
  /** Whether it would seed once done: the `seed` option, then the last `setSeeding()`. */
  private seedingOn: boolean;
  /** Every password `unlock()` was given, in order. */
  readonly unlocks: string[] = [];
  private loading: Deferred<FileInfo | null> | null = null;
  private downloading: Deferred<CompleteDetail> | null = null;
  private unlocking: Deferred<FileInfo> | null = null;
  /** The name as the sharer sent it; the states carry the saved one. */
  private originalName = '';

  constructor(readonly options: ReceiveSessionOptions) {
    super();
    this.seedingOn = options.seed ?? true;
  }

  load(): Promise<FileInfo | null> {
    this.loads++;
    this.loading = deferred();
    this.set({ phase: 'loading' });
    return this.loading.promise;
  }

  /** As the real session: the file is described under the name it is saved as. */
  private described(sent: FileInfo): FileInfo {
    this.originalName = sent.name;
    return { ...sent, name: sanitizeFileName(sent.name) };
  }

  loaded(sent: FileInfo): void {
    const file = this.described(sent);
    this.set({ phase: 'ready', file });
    this.loading?.resolve(file);
  }

  /** The room needs a password: locked, and `load()` resolves to null, as the real session does. */
  loadedLocked(): void {
    this.set({ phase: 'locked' });
    this.loading?.resolve(null);
  }

  unlock(password: string): Promise<FileInfo> {
    this.unlocks.push(password);
    this.unlocking = deferred();
    return this.unlocking.promise;
  }

  /** The password was right: ready with the file. */
  unlocked(sent: FileInfo): void {
    const file = this.described(sent);
    this.set({ phase: 'ready', file });
    this.unlocking?.resolve(file);
  }

  /** Any other failure of `unlock()` (service unreachable, say): the session fails outright. */
  failUnlockOutright(error: ErrorData): void {
    this.set({ phase: 'error', error, retryable: false, bytes: 0 });
    this.errorEvent(error);
    this.unlocking?.reject(rejection(error));
  }

  /** A wrong password or too many tries: locked again with the error, `error` once, rejected. */
  failUnlock(error: ErrorData): void {
    this.set({ phase: 'locked', error });
    this.errorEvent(error);
    this.unlocking?.reject(rejection(error));
  }

  failLoad(error: ErrorData, retryable = false): void {
    this.set({ phase: 'error', error, retryable, bytes: 0 });
    this.errorEvent(error);
    this.loading?.reject(rejection(error));
  }

  download(): Promise<CompleteDetail> {
    this.downloads++;
    this.downloading = deferred();
    this.set({ phase: 'connecting', file: this.fileInfo(), bytes: 0 });
    return this.downloading.promise;
  }

  fileInfo(): FileInfo {
    const state = this.state;
    if (!('file' in state) || !state.file) throw new Error('the fake has no file yet');
    return state.file;
  }

  /** Saved and verified: `complete` first, then the promise, as the real session does. */
  done(sha256: string): CompleteDetail {
    const file = this.fileInfo();
    const detail = { name: file.name, originalName: this.originalName, size: file.size, sha256 };
    const seeding = { on: this.seedingOn, serving: 0, uploaded: 0 };
    this.set({ phase: 'done', file, sha256, seeding });
    this.complete(detail);
    this.downloading?.resolve(detail);
    return detail;
  }

  failDownload(error: ErrorData, retryable: boolean, bytes = 0): void {
    this.set({ phase: 'error', file: this.fileInfo(), error, retryable, bytes });
    this.errorEvent(error);
    this.downloading?.reject(rejection(error));
  }

  /** As the real session: the choice shows in the done state at once. */
  setSeeding(on: boolean): void {
    this.seedings.push(on);
    this.seedingOn = on;
    const state = this.state;
    if (state.phase === 'done') this.set({ ...state, seeding: { ...state.seeding, on } });
  }

  /** A finished recipient's seeding moved on: whom it serves, what it uploaded. */
  serving(serving: number, uploaded: number): void {
    const state = this.state;
    if (state.phase !== 'done') throw new Error('the fake is not done');
    this.set({ ...state, seeding: { ...state.seeding, serving, uploaded } });
  }

  cancel(): void {
    this.cancels++;
    this.failDownload({ code: 'cancelled', reason: 'user' }, true);
  }
}

export interface Fakes {
  shares: FakeShareSession[];
  receives: FakeReceiveSession[];
}

/** Routes the element's sessions to fakes until `restoreSessions()`. */
export function useFakeSessions(): Fakes {
  const fakes: Fakes = { shares: [], receives: [] };
  setSessionFactoryForTesting({
    async share(options) {
      const session = new FakeShareSession(options);
      fakes.shares.push(session);
      return session;
    },
    async receive(options) {
      const session = new FakeReceiveSession(options);
      fakes.receives.push(session);
      return session;
    },
  });
  return fakes;
}

export function restoreSessions(): void {
  setSessionFactoryForTesting(null);
}
