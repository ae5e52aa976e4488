/**
 * The share link: `<host page URL>#p2p=<roomId>.<key>`. The room id is what the service knows;
 * the key lives only in the fragment, which browsers never send to any server.
 */
import { ID_PATTERN } from '../../protocol/ids.js';

export interface LinkSecret {
  roomId: string;
  key: string;
}

const FRAGMENT = /(?:^#|&)p2p=([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})(?:&|$)/;

/** The link for `page` (its fragment replaced). */
export function formatLink(page: string, secret: LinkSecret): string {
  const url = new URL(page);
  url.hash = `p2p=${secret.roomId}.${secret.key}`;
  return url.href;
}

/** Reads a link secret from a URL or a bare fragment; null when there is none. */
export function parseLink(urlOrHash: string): LinkSecret | null {
  let hash = urlOrHash;
  const at = urlOrHash.indexOf('#');
  if (at >= 0) hash = urlOrHash.slice(at);
  else if (!hash.startsWith('#')) hash = `#${hash}`;
  const match = FRAGMENT.exec(hash);
  if (!match || !ID_PATTERN.test(match[1]!) || !ID_PATTERN.test(match[2]!)) return null;
  return { roomId: match[1]!, key: match[2]! };
}

/** True when the fragment names a share but is malformed (truncated when copied, say). */
export function looksLikeLink(urlOrHash: string): boolean {
  return /(?:^|#|&)p2p=/.test(urlOrHash);
}
