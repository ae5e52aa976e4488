/**
 * The widget's one error type: a protocol error code and typed parameters that cross every layer
 * of the engine up to the element, whose locale table (`src/ui/locales/`) turns them into words.
 * Nothing here is worded for people: `message` is a terse tag for logs and stack traces.
 */
import type { ErrorBody, ErrorCode } from '../protocol/errors.js';

/**
 * The situations of a code that the user is told apart, by code. A code not listed is one
 * situation as far as the user is concerned (or only ever comes from the service). Every locale
 * words every reason; the compiler checks it.
 */
export interface ErrorReasons {
  'bad-request':
    /** The other browser sent a message that cannot be read. */
    | 'malformed'
    /** The other browser sent a message it may not send at that point. */
    | 'out-of-place'
    /** The page gave `share()` several files. */
    | 'several-files'
    /** The page gave `share()` no file. */
    | 'no-file'
    /** `share()` while the same session still shares a file. */
    | 'already-sharing'
    /** `download()` on a page that shows no share link. */
    | 'no-link'
    /** `share()` on a page that shows a share link. */
    | 'recipient-page'
    /** An unlock or download asked for before the share is open. */
    | 'not-ready'
    /** The other browser refused a message from this one. */
    | 'remote';
  'protocol-mismatch':
    /** The sharing service's reply. */
    | 'service'
    /** The other browser's version. */
    | 'peer'
    /** The version that made the share (its sealed file details). */
    | 'share';
  'server-unreachable':
    /** No connection to the service could be made (`host`). */
    | 'unreachable'
    /** The service did not answer in time. */
    | 'timeout'
    /** Something other than the sharing service answers at its address (`host`, `status`). */
    | 'not-a-service'
    /** The widget's own code could not be loaded. */
    | 'script';
  /** As `RoomClosed.reason` says it. */
  'room-closed': 'stopped' | 'expired';
  /** The browser refused the save dialog (no click just before, or a frame that may not). */
  'not-allowed': 'picker';
  'peer-vanished':
    /** The connection broke (the network, or the other browser went away without a word). */
    | 'lost'
    /** The other browser closed the connection or ended the transfer. */
    | 'closed'
    /** The other browser stopped answering. */
    | 'silent'
    /** The other browser left before the connection was made. */
    | 'left'
    /** A new connection with the same browser replaced this one. */
    | 'reconnected'
    /** This browser stopped serving the file to others. */
    | 'stopped-sharing'
    /** The other browser could not store the file. */
    | 'peer-storage';
  'connection-failed':
    /** No network path to the other browser was found. */
    | 'blocked'
    /** The other browser never answered the offer. */
    | 'no-reply'
    /** A path was being tried when time ran out. */
    | 'timeout'
    /** Connected, but the other browser did not prove itself in time. */
    | 'handshake'
    /** The other browser gave up connecting to this one. */
    | 'remote'
    /** The TURN relay refused this browser's credentials (expired, or not this service's). */
    | 'relay-refused';
  tampered:
    /** A message relayed by the service was altered, replayed, forged or misaddressed. */
    | 'relay'
    /** The other browser could not prove it holds the link for this connection. */
    | 'proof'
    /** The other browser refused this one for the same reasons. */
    | 'remote';
  integrity:
    /** The piece list does not match the link. */
    | 'manifest'
    /** A piece does not match its hash (`piece`). */
    | 'piece'
    /** The saved file does not have the shared size. */
    | 'size'
    /** The other browser found damaged data. */
    | 'remote';
  'storage-error':
    /** The browser's storage could not be opened. */
    | 'open'
    /** Writing the received file failed. */
    | 'write'
    /** Reading the shared file failed. */
    | 'read'
    /** The shared file changed after it was shared. */
    | 'changed';
  'unsupported-browser':
    /** No save dialog (File System Access API). */
    | 'no-picker'
    /** No Origin Private File System with writable files. */
    | 'no-opfs'
    /** The browser refuses this page any storage (private windows, say). */
    | 'storage-denied'
    /** No document to start a download from. */
    | 'no-download';
  cancelled:
    /** The user cancelled the download (what arrived is kept). */
    | 'user'
    /** The sharer stopped sharing. */
    | 'stopped'
    /** Another share replaced this one before it started. */
    | 'replaced'
    /** The download was closed (the page or the element went away). */
    | 'closed'
    /** The user closed the save dialog without choosing a place. */
    | 'no-location'
    /** The other browser cancelled. */
    | 'remote';
  /** The download was asked for without the password a locked share needs. */
  'bad-password': 'missing';
  'limit-exceeded':
    /** The other browser asked for the same piece too often (`piece`). */
    | 'repeated-piece'
    /** The other browser asked for too many pieces at once. */
    | 'too-many-pieces'
    /** The other browser refused this one for asking too much. */
    | 'remote';
}

/** The reasons `C` may carry; `never` for a code with one situation. */
export type ErrorReason<C extends ErrorCode = ErrorCode> = C extends keyof ErrorReasons
  ? ErrorReasons[C]
  : never;

/** Every fact a failure may carry for its words, besides its reason. */
export interface ErrorFacts {
  /** How long until the same request may succeed, in milliseconds. */
  retryAfterMs: number;
  /** The size of the file the failure is about, in bytes. */
  sizeBytes: number;
  /** The room there is for it, in bytes: all the browser ever stores, or what is free. */
  limitBytes: number;
  /** The index of the piece the failure is about. */
  piece: number;
  /** The host name of the sharing service. */
  host: string;
  /** The HTTP status that answered instead of the service. */
  status: number;
}

/** Which facts each code carries. */
interface FactsByCode {
  'bad-request': 'piece';
  'server-unreachable': 'host' | 'status';
  'rate-limited': 'retryAfterMs';
  'service-unavailable': 'retryAfterMs';
  'storage-full': 'sizeBytes' | 'limitBytes';
  'file-too-large': 'sizeBytes' | 'limitBytes';
  integrity: 'piece';
  'limit-exceeded': 'piece';
}

export type ErrorFact<C extends ErrorCode = ErrorCode> = C extends keyof FactsByCode
  ? FactsByCode[C]
  : never;

/** Every field of `ErrorParams<C>`, before it picks those of its code. */
interface ErrorFields<C extends ErrorCode> extends ErrorFacts {
  /** Which of the code's situations this is; see `ErrorReasons`. */
  reason: ErrorReason<C>;
}

/**
 * What the words about a failure of code `C` may use: which of its situations it is, and the
 * facts its sentence names. `ErrorParams` (every code) has every field, all optional. One object
 * type, not an intersection, so that anything else (a sentence, say) does not pass for it.
 */
export type ErrorParams<C extends ErrorCode = ErrorCode> = Partial<
  Pick<ErrorFields<C>, 'reason' | ErrorFact<C>>
>;

/** A failure as data: its code and parameters. Sessions report failures in this shape. */
export type ErrorData<C extends ErrorCode = ErrorCode> = { code: C } & ErrorParams<C>;

/** An error that carries a protocol error code and its parameters across layers. */
export class P2PError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'P2PError';
  readonly params: ErrorParams<C>;

  constructor(
    readonly code: C,
    params: ErrorParams<C> = {},
    options?: { cause?: unknown },
  ) {
    super(tag(code, params, options?.cause), options);
    this.params = params;
  }
}

/** `integrity (piece) piece=3: <the cause's message>`: for logs, never for people. */
function tag(code: ErrorCode, params: ErrorParams, cause: unknown): string {
  const { reason, ...facts } = params;
  const parts = [reason ? `${code} (${reason})` : code];
  for (const [name, value] of Object.entries(facts)) {
    if (value !== undefined) parts.push(`${name}=${String(value)}`);
  }
  const why = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : '';
  return why ? `${parts.join(' ')}: ${why}` : parts.join(' ');
}

/** Any thrown value as a P2PError, so every failure reaches the user with a code. */
export function toP2PError(err: unknown): P2PError {
  if (err instanceof P2PError) return err;
  if (err instanceof DOMException && err.name === 'QuotaExceededError') {
    return new P2PError('storage-full', {}, { cause: err });
  }
  return new P2PError('internal', {}, { cause: err });
}

/**
 * A failure the service reported: its code, and how long to wait when it says so. The service's
 * English goes into `message` as the cause, for logs; the widget words the failure itself.
 */
export function fromErrorBody(body: ErrorBody): P2PError {
  const params = body.retryAfterMs === undefined ? {} : { retryAfterMs: body.retryAfterMs };
  return new P2PError(body.code, params, { cause: body.message });
}

/** The code and parameters of an error, as sessions report it in their state and events. */
export function errorData(error: P2PError): ErrorData {
  return { ...error.params, code: error.code };
}
