/**
 * What the sources of one download add up to, and how they divide the work: each one's request
 * window, which pieces each is asked for first, and one link to a peer met again under a new peer
 * id. SourceSet decides which sources to keep; these read (or trim) its map of them.
 */
import { REQUEST_WINDOW_BYTES } from '../transfer/piece-fetcher.js';
import type { Source } from './fetch-source.js';

type Sources = Map<string, Source>;

/** With several sources, each keeps about this much of its own speed requested. */
const WINDOW_SECONDS = 2;

/** Whether the open links run through a relay, all of them; undefined until one is known. */
export function relayedLinks(sources: Sources): boolean | undefined {
  const known = [...sources.values()]
    .filter(({ link }) => link.isOpen)
    .map(({ link }) => link.relayed)
    .filter((r) => r !== undefined);
  return known.length ? !known.includes(false) : undefined;
}

/** Sources with an open link. */
export function openLinks(sources: Sources): number {
  let n = 0;
  for (const source of sources.values()) if (source.link.isOpen) n++;
  return n;
}

/**
 * Whether `source` is asked for piece `i` first: only if no part-way source of ours offers it
 * (those pieces are theirs to give). A source with everything (the sharer, say) is asked for
 * nothing else while a part-way source offers it: the sharer's upload goes to pieces nobody else
 * can give yet.
 */
export function prefers(sources: Sources, source: Source, i: number): boolean {
  for (const other of sources.values()) {
    if (other !== source && !other.fetcher.whole && other.fetcher.offers(i)) return false;
  }
  return true;
}

/** Whether a source other than `source` has part of the file (so pieces pass through it). */
export function trading(sources: Sources, source: Source): boolean {
  for (const other of sources.values()) {
    if (other !== source && !other.fetcher.whole) return true;
  }
  return false;
}

/** How much `source` keeps requested: a share sized to its speed when others fetch too. */
export function windowFor(sources: Sources, crowded: boolean, source: Source): number {
  if (sources.size <= 1 && !crowded) return REQUEST_WINDOW_BYTES;
  const share = REQUEST_WINDOW_BYTES / sources.size;
  return Math.min(share, Math.max(source.rate.rate * WINDOW_SECONDS, 0));
}

/**
 * `source` just opened: a peer met again under a new peer id (its signalling reconnected while
 * our link to it lived on; the hello's `page` names it) keeps one link, the new one, which takes
 * over what the old one owed.
 */
export function dropStale(sources: Sources, source: Source): void {
  const page = source.link.remotePage;
  for (const other of [...sources.values()]) {
    if (page && other !== source && other.link.remotePage === page) {
      sources.delete(other.peerId);
      other.fetcher.stop();
      other.link.close();
      source.fetcher.poke();
    }
  }
}
