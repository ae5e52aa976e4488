/**
 * A failure the peer reported (an `error` on the channel or a sealed `abort`), turned into this
 * side's error. Only the peer's code is used: whatever else it sent is not believed or shown.
 */
import type { ErrorCode } from '../../protocol/errors.js';
import { P2PError } from '../errors.js';

/** A failure the peer reported, as this side's: the code, and the reason that it was the peer's. */
export function remoteFailure(code: ErrorCode): P2PError {
  switch (code) {
    case 'cancelled':
    case 'connection-failed':
    case 'tampered':
    case 'integrity':
    case 'bad-request':
    case 'limit-exceeded':
      return new P2PError(code, { reason: 'remote' });
    case 'room-closed':
      return new P2PError('room-closed', { reason: 'stopped' });
    case 'storage-full':
    case 'storage-error':
    case 'file-too-large':
      return new P2PError('peer-vanished', { reason: 'peer-storage' });
    case 'protocol-mismatch':
      return new P2PError('protocol-mismatch', { reason: 'peer' });
    default:
      // Anything else is the other browser's own trouble (its save dialog refused, its service
      // gone): for this side, the other browser ended the transfer.
      return new P2PError('peer-vanished', { reason: 'closed' });
  }
}
