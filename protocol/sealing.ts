/**
 * The labels that bind sealed data to its purpose: the HKDF `info` strings the link key is
 * expanded with, and the additional data each sealed message and proof is authenticated under.
 * Both peers compute them; the service never sees them, and a message sealed for one purpose
 * cannot be replayed as another.
 */
import { PROTOCOL_VERSION } from './version.js';

/** HKDF `info` for each key derived from the link key (and the password, when there is one). */
export const KEY_INFO = {
  meta: 'p2p-share/v1/meta',
  signal: 'p2p-share/v1/signal',
  auth: 'p2p-share/v1/auth',
  passwordAuth: 'p2p-share/v1/password-auth',
} as const;

/** Additional data of the room's sealed metadata. */
export const META_AAD = `p2p-share/v${PROTOCOL_VERSION}/meta`;

/** Additional data of one relayed envelope: its room, its sender, its addressee and its role. */
export function signalAad(roomId: string, from: string, to: string, senderRole: string): string {
  return `p2p-share/v${PROTOCOL_VERSION}/signal|${roomId}|${from}|${to}|${senderRole}`;
}

/**
 * What each side of a data channel signs to prove the connection is the one the sealed
 * signalling set up: the session, the prover's role and both DTLS fingerprints.
 */
export function helloInput(
  roomId: string,
  sessionId: string,
  proverRole: 'recipient' | 'source',
  offererFingerprint: string,
  answererFingerprint: string,
): string {
  return `p2p-share/v${PROTOCOL_VERSION}/hello|${roomId}|${sessionId}|${proverRole}|${offererFingerprint}|${answererFingerprint}`;
}
