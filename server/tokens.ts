/**
 * Secrets the service checks: sharer tokens (random, stored with the room; they prove the sharer
 * when it joins or stops sharing) and room tokens (signed, stored nowhere; they prove a recipient
 * gave a password room's password, for a few minutes, to the REST API and the signalling handlers).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ROOM_TOKEN_PATTERN } from '../protocol/index.js';

/** Compares secrets in constant time; hashing first makes unequal lengths leak nothing either. */
export function tokensMatch(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export interface RoomTokenOptions {
  /** The signing secret; a random one (valid for this process only) when null. */
  secret: string | null;
  ttlMs: number;
  now?: () => number;
}

/** What a room token is bound to: its room, and that room's password record. */
export interface TokenSubject {
  id: string;
  passwordHash: string | null;
}

export interface RoomTokens {
  issue(room: TokenSubject): { token: string; expiresAt: number };
  /** True only for an unexpired token that this service signed for this very room. */
  verify(token: string | undefined, room: TokenSubject): boolean;
}

/**
 * Tokens are `<expiry ms>.<HMAC-SHA256>` over the room id, the expiry and the room's password
 * hash (so a token cannot outlive the password record it was given for).
 */
export function roomTokens({ secret, ttlMs, now = Date.now }: RoomTokenOptions): RoomTokens {
  const key = secret === null ? randomBytes(32) : Buffer.from(secret, 'utf8');
  const mac = (room: TokenSubject, expiresAt: number) =>
    createHmac('sha256', key)
      .update(`p2p-share/room-token\0${room.id}\0${expiresAt}\0${room.passwordHash ?? ''}`)
      .digest('base64url');

  return {
    issue(room) {
      const expiresAt = now() + ttlMs;
      return { token: `${expiresAt}.${mac(room, expiresAt)}`, expiresAt };
    },
    verify(token, room) {
      if (token === undefined || !ROOM_TOKEN_PATTERN.test(token)) return false;
      const dot = token.indexOf('.');
      const expiresAt = Number(token.slice(0, dot));
      if (!Number.isSafeInteger(expiresAt) || expiresAt <= now()) return false;
      // Strings, not decoded bytes: base64url has several spellings of the same last byte.
      const given = Buffer.from(token.slice(dot + 1), 'utf8');
      const expected = Buffer.from(mac(room, expiresAt), 'utf8');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
