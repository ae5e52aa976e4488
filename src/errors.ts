/**
 * The widget's one error type: a protocol error code that crosses every layer of the engine up
 * to the element, which turns it into words and `p2p-share-error`.
 */
import type { ErrorBody, ErrorCode } from '../protocol/errors.js';

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

/** The code and message of an error, as sessions report it in their state and events. */
export function errorBody(error: P2PError): ErrorBody {
  return { code: error.code, message: error.message };
}
