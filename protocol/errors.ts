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
  'too-many-connections',
  'too-many-shares',
  'service-unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * A failure as the service reports it. `message` is English for people reading the API by hand;
 * the widget words failures itself from `code` and the parameters.
 */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** `rate-limited`: how long until the same request may succeed. */
  retryAfterMs?: number;
}
