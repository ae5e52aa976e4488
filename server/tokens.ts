/**
 * Secret comparison for sharer tokens, shared by the REST API (stop sharing) and the signalling
 * handlers (join as sharer).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares secrets in constant time; hashing first makes unequal lengths leak nothing either. */
export function tokensMatch(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
