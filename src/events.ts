/**
 * The events `<p2p-share>` fires, their detail types and their names in
 * `GlobalEventHandlersEventMap`, so `el.addEventListener('p2p-share-link', (e) => e.detail.link)`
 * type-checks for users of the element. Nothing here touches the DOM.
 */
import type { ErrorBody } from '../protocol/errors.js';
import type { CompleteDetail, ProgressDetail } from './session/types.js';

export type { CompleteDetail, ErrorBody, ProgressDetail };

export interface ErrorDetail extends ErrorBody {
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
