/**
 * When a lost source of a download gets its one more attempt, after what pause and with what
 * connect timeout, and which error the download reports when that attempt fails too. SourceSet
 * keeps the bookkeeping (who was tried again, who waits); these are its rules.
 */
import type { P2PError } from '../errors.js';
import type { Source } from './fetch-source.js';

/**
 * Pause before the one more attempt a source gets when its connection could not be made, or was
 * lost mid-transfer. The failed attempt's farewell reaches the source first, so the new offer
 * finds no stale link there (and where the source had not noticed the loss, it lets the new
 * connection take over).
 */
export const RECONNECT_AFTER_MS = 1000;
/**
 * How long that attempt may take to open after a lost connection: the source answered within a
 * second before, and one that went silent for good should not hold the download for the full
 * connect timeout before it says the connection was lost.
 */
export const RECONNECT_TIMEOUT_MS = 10_000;
/** How a second attempt fails when the source cannot be reached again. */
const UNREACHABLE: ReadonlySet<string> = new Set([
  'connection-failed',
  'peer-not-found',
  'peer-vanished',
]);

/**
 * What the download reports for a source lost with `reason`, whose first loss (if this was its
 * second attempt after a lost connection) was `first`: a lost connection that could not be made
 * again (no reply, or the source is gone by now) was lost all the same; anything else the second
 * attempt met (tampering, say) is news.
 */
export function lostError(first: P2PError | null | undefined, reason: P2PError): P2PError {
  return first && UNREACHABLE.has(reason.code) ? first : reason;
}

/**
 * Whether a lost source gets one more attempt, keeping its slot: once per download (`tried` says
 * it had it), for a connection that never opened (a lost packet, a slow handshake on a loaded
 * machine may be to blame) or one that fell silent or lost its network path mid-transfer (a
 * network change, a stall), but not one the source ended itself.
 */
export function retries(tried: boolean, source: Source, reason: P2PError): boolean {
  if (tried) return false;
  if (reason.code === 'connection-failed') return true;
  return reason.code === 'peer-vanished' && source.opened && !source.link.endedByPeer;
}
