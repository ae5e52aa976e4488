/**
 * The bundle entry (`dist/p2p-share.js`): defines `<p2p-share>` and exports its class, its event
 * types and the types of the failures they carry. The transfer engine is not imported here; the
 * element loads it when it is first needed.
 */
import './p2p-share.define.js';

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
