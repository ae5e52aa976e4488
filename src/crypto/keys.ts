/**
 * Keys derived from the link key with HKDF-SHA256. One key seals the room metadata the service
 * stores, one seals signalling envelopes, one authenticates the DTLS fingerprints once the data
 * channel is open. Web Crypto only exists in secure contexts; `requireSubtle` says so plainly.
 */
import { P2PError } from '../protocol/errors.js';
import { fromBase64Url } from '../protocol/ids.js';

export interface RoomKeys {
  meta: CryptoKey;
  signal: CryptoKey;
  auth: CryptoKey;
}

const encoder = new TextEncoder();

export function requireSubtle(): SubtleCrypto {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new P2PError(
      'insecure-context',
      'This page is not a secure context (HTTPS or localhost), so the browser offers no encryption. Open it over HTTPS to share files.',
    );
  }
  return subtle;
}

/**
 * @param linkKey the 128-bit key from the link fragment (base64url)
 * @param extra further secret input (a password-derived secret, later); empty for none
 */
export async function deriveRoomKeys(linkKey: string, extra = new Uint8Array()): Promise<RoomKeys> {
  const subtle = requireSubtle();
  const key = fromBase64Url(linkKey);
  const ikm = new Uint8Array(key.length + extra.length);
  ikm.set(key);
  ikm.set(extra, key.length);
  const base = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveKey']);
  const derive = (
    info: string,
    algorithm: AesKeyGenParams | HmacKeyGenParams,
    usages: KeyUsage[],
  ) =>
    subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: encoder.encode(info) },
      base,
      algorithm,
      false,
      usages,
    );
  const [meta, signal, auth] = await Promise.all([
    derive('p2p-share/v1/meta', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']),
    derive('p2p-share/v1/signal', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']),
    derive('p2p-share/v1/auth', { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign', 'verify']),
  ]);
  return { meta, signal, auth };
}
