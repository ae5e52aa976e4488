/**
 * Every failure a user can see has one code. The server sends them in acknowledgements and REST
 * error bodies; the widget puts them in `p2p-share-error`'s `detail.code`.
 */
export const ERROR_CODES = [
  'bad-request',
  'protocol-mismatch',
  'server-unreachable',
  'room-not-found',
  'room-closed',
  'not-allowed',
  'no-sources',
  'peer-not-found',
  'peer-vanished',
  'connection-failed',
  'tampered',
  'integrity',
  'insecure-context',
  'invalid-link',
  'storage-full',
  'storage-error',
  'file-too-large',
  'unsupported-browser',
  'cancelled',
  'bad-password',
  'rate-limited',
  'limit-exceeded',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** An error that carries a protocol error code across layers. */
export class P2PError extends Error {
  override name = 'P2PError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Any thrown value as a P2PError, so every failure reaches the user with a code. */
export function toP2PError(err: unknown): P2PError {
  if (err instanceof P2PError) return err;
  if (err instanceof DOMException && err.name === 'QuotaExceededError') {
    return new P2PError('storage-full', 'There is not enough disk space left for this file.', {
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new P2PError('internal', `Something unexpected went wrong: ${message}`, { cause: err });
}
