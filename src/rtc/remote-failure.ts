/**
 * A failure the peer reported (an `error` on the channel or a sealed `abort`), turned into this
 * side's error. Only the peer's code is used: its words are whatever it chose to send.
 */
import type { ErrorCode } from '../../protocol/errors.js';
import { P2PError } from '../errors.js';

/** A failure the peer reported, in our words. */
export function remoteFailure(code: ErrorCode): P2PError {
  switch (code) {
    case 'cancelled':
      return new P2PError('cancelled', 'The other browser cancelled the transfer.');
    case 'room-closed':
      return new P2PError('room-closed', 'The sharer stopped sharing this file.');
    case 'tampered':
      return new P2PError(
        'tampered',
        'The other browser refused the connection: a message between you was altered on the way or did not come from someone holding this link.',
      );
    case 'integrity':
      return new P2PError(
        'integrity',
        'The other browser found corrupted data and ended the transfer.',
      );
    case 'storage-full':
    case 'storage-error':
    case 'file-too-large':
      return new P2PError(
        'peer-vanished',
        'The other browser could not store the file and ended the transfer.',
      );
    default:
      return new P2PError(
        code === 'internal' ? 'peer-vanished' : code,
        `The other browser ended the transfer (${code}).`,
      );
  }
}
