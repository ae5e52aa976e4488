/**
 * The events `<p2p-share>` fires, their detail types and their names in
 * `GlobalEventHandlersEventMap`, so `el.addEventListener('p2p-share-link', (e) => e.detail.link)`
 * type-checks for users of the element. Nothing here touches the DOM.
 */
import type { ErrorBody, ErrorCode } from '../protocol/errors.js';
import type { ErrorData, ErrorParams, ErrorReason } from './errors.js';
import type { CompleteDetail, ProgressDetail } from './session/types.js';

export type { CompleteDetail, ErrorBody, ErrorData, ErrorParams, ErrorReason, ProgressDetail };

/**
 * `p2p-share-error`'s detail: the failure as data (its code and parameters) and in words. Act on
 * `code` (and `reason`); show `message`, whose wording may change between versions.
 */
export interface ErrorDetail extends ErrorData {
  /** What failed: one of `ERROR_CODES`. */
  code: ErrorCode;
  /** The failure in a sentence, for people, in the widget's language. */
  message: string;
  /**
   * Which of the code's situations this is, when the widget tells them apart (`peer-vanished`:
   * `closed`, `silent`, `lost`…); see `ErrorReason`. Absent for the service's failures.
   */
  reason?: ErrorReason;
  /** `rate-limited`: milliseconds until the same request may succeed, when the service says. */
  retryAfterMs?: number;
  /** `storage-full`, `file-too-large`: the file's size in bytes. */
  sizeBytes?: number;
  /** `storage-full`: the bytes free for the site; `file-too-large`: all it may ever store. */
  limitBytes?: number;
  /** `integrity`, `bad-request`, `limit-exceeded`: the index of the piece concerned. */
  piece?: number;
  /** `server-unreachable`: the host name of the sharing service. */
  host?: string;
  /** `server-unreachable` (`not-a-service`): the HTTP status that answered instead. */
  status?: number;
  /** On the sharing side, the recipient whose transfer failed; absent for the widget's own failures. */
  peer?: string;
}

export interface LinkDetail {
  /** The share link: the host page URL with `#p2p=…`. */
  link: string;
}

/** Every event of the element, by name, with its detail. */
export interface P2PShareEventDetails {
  'p2p-share-link': LinkDetail;
  'p2p-share-progress': ProgressDetail;
  'p2p-share-complete': CompleteDetail;
  'p2p-share-error': ErrorDetail;
}

export type P2PShareEventName = keyof P2PShareEventDetails;

export type P2PShareLinkEvent = CustomEvent<LinkDetail>;
export type P2PShareProgressEvent = CustomEvent<ProgressDetail>;
export type P2PShareCompleteEvent = CustomEvent<CompleteDetail>;
export type P2PShareErrorEvent = CustomEvent<ErrorDetail>;

declare global {
  interface GlobalEventHandlersEventMap {
    'p2p-share-link': P2PShareLinkEvent;
    'p2p-share-progress': P2PShareProgressEvent;
    'p2p-share-complete': P2PShareCompleteEvent;
    'p2p-share-error': P2PShareErrorEvent;
  }
}
