/**
 * Identifier formats. Room ids and link keys are 128-bit values written as unpadded base64url
 * (22 characters); peer ids are opaque strings the server hands out.
 */
export const ID_BYTES = 16;
export const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
export const PEER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Sharer tokens are 256-bit, base64url. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError('not base64url');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function randomId(bytes = ID_BYTES): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
