/**
 * Keys derived from the link key with HKDF-SHA256. One key seals the room metadata the service
 * stores, one seals signalling envelopes, one authenticates the DTLS fingerprints once the data
 * channel is open. Web Crypto only exists in secure contexts; `requireSubtle` says so plainly.
 */
import { P2PError } from '../errors.js';
import { fromBase64Url, toBase64Url } from '../../protocol/ids.js';
import { KEY_INFO } from '../../protocol/sealing.js';

export interface RoomKeys {
  meta: CryptoKey;
  signal: CryptoKey;
  auth: CryptoKey;
}

const encoder = new TextEncoder();

export function requireSubtle(): SubtleCrypto {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new P2PError('insecure-context');
  }
  return subtle;
}

/** A password as key material: Unicode-normalized, so the same word typed anywhere matches. */
export function passwordBytes(password: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(password.normalize('NFC'));
}

/**
 * What the service checks instead of the password: HKDF over the link key and the password, so
 * the service (which never has the link key) learns nothing it could guess passwords against.
 */
export async function derivePasswordAuth(linkKey: string, password: string): Promise<string> {
  const subtle = requireSubtle();
  const base = await subtle.importKey('raw', ikm(linkKey, passwordBytes(password)), 'HKDF', false, [
    'deriveBits',
  ]);
  const bits = await subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new Uint8Array(32),
      info: encoder.encode(KEY_INFO.passwordAuth),
    },
    base,
    256,
  );
  return toBase64Url(new Uint8Array(bits));
}

function ikm(linkKey: string, extra: Uint8Array): Uint8Array<ArrayBuffer> {
  const key = fromBase64Url(linkKey);
  const out = new Uint8Array(key.length + extra.length);
  out.set(key);
  out.set(extra, key.length);
  return out;
}

/**
 * @param linkKey the 128-bit key from the link fragment (base64url)
 * @param extra further secret input: `passwordBytes(password)` for a password room
 */
export async function deriveRoomKeys(linkKey: string, extra = new Uint8Array()): Promise<RoomKeys> {
  const subtle = requireSubtle();
  const base = await subtle.importKey('raw', ikm(linkKey, extra), 'HKDF', false, ['deriveKey']);
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
    derive(KEY_INFO.meta, { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']),
    derive(KEY_INFO.signal, { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']),
    derive(KEY_INFO.auth, { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign', 'verify']),
  ]);
  return { meta, signal, auth };
}
