/**
 * Sealed blobs: AES-256-GCM with a random 96-bit IV, written as base64url(iv ‖ ciphertext ‖ tag).
 * The additional data binds a blob to its purpose and its endpoints, so a relay that replays or
 * redirects a blob gets it refused.
 */
import { P2PError } from '../errors.js';
import { fromBase64Url, toBase64Url } from '../../protocol/ids.js';
import { requireSubtle } from './keys.js';

const IV_BYTES = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function seal(key: CryptoKey, plaintext: Uint8Array, aad: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = new Uint8Array(
    await requireSubtle().encrypt(
      { name: 'AES-GCM', iv, additionalData: encoder.encode(aad) },
      key,
      plaintext as Uint8Array<ArrayBuffer>,
    ),
  );
  const out = new Uint8Array(IV_BYTES + ct.length);
  out.set(iv);
  out.set(ct, IV_BYTES);
  return toBase64Url(out);
}

/** Opens a sealed blob; throws P2PError('tampered') when it was altered or sealed elsewhere. */
export async function open(key: CryptoKey, sealed: string, aad: string): Promise<Uint8Array> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = fromBase64Url(sealed);
  } catch (cause) {
    throw new P2PError('tampered', { reason: 'relay' }, { cause });
  }
  if (bytes.length < IV_BYTES + 16) {
    throw new P2PError('tampered', { reason: 'relay' });
  }
  try {
    return new Uint8Array(
      await requireSubtle().decrypt(
        { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: encoder.encode(aad) },
        key,
        bytes.subarray(IV_BYTES),
      ),
    );
  } catch (cause) {
    throw new P2PError('tampered', { reason: 'relay' }, { cause });
  }
}

export async function sealJson(key: CryptoKey, value: unknown, aad: string): Promise<string> {
  return seal(key, encoder.encode(JSON.stringify(value)), aad);
}

export async function openJson(key: CryptoKey, sealed: string, aad: string): Promise<unknown> {
  const bytes = await open(key, sealed, aad);
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch (cause) {
    throw new P2PError('tampered', { reason: 'relay' }, { cause });
  }
}
