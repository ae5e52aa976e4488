/**
 * The package's main entry (`p2p-share`): the element class, its event types and the types of
 * the failures they carry, without registering `<p2p-share>`, so an application can register it
 * under a tag or registry of its own (`P2PShareElement.define(tag, registry)`). The bundle entry
 * (index.ts) is this plus the registration.
 */
export { P2PShareElement } from './p2p-share.js';
export type {
  CompleteDetail,
  ErrorBody,
  ErrorData,
  ErrorDetail,
  ErrorParams,
  ErrorReason,
  LinkDetail,
  P2PShareCompleteEvent,
  P2PShareErrorEvent,
  P2PShareEventDetails,
  P2PShareEventName,
  P2PShareLinkEvent,
  P2PShareProgressEvent,
  ProgressDetail,
} from './events.js';
export type { ErrorCode } from '../protocol/errors.js';
export { ERROR_CODES } from '../protocol/errors.js';
