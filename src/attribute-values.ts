/**
 * How `<p2p-share>` reads the attributes a page sets, leniently: a value it does not know means
 * the default, never a stall or a quiet change of behaviour.
 */
import type { SaveTo } from './controllers/session-factory.js';

const SAVE_TO: readonly SaveTo[] = ['auto', 'opfs', 'picker'];
const SEEDING_OFF: readonly string[] = ['off', 'false', 'no'];

/** A missing, negative or unreadable `upload-limit` means no limit rather than a stall. */
export function uploadLimitOf(value: unknown): number {
  const limit = Number(value);
  return Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
}

/** An unknown `save-to` means `auto`. */
export function saveToOf(value: SaveTo): SaveTo {
  return SAVE_TO.includes(value) ? value : 'auto';
}

/** Only a clear "off" turns `seeding` off: a typo should not silently stop the swarm. */
export function seedOf(value: unknown): boolean {
  return !SEEDING_OFF.includes(String(value).trim().toLowerCase());
}
