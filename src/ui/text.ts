/**
 * Turns the widget's state into words: every word comes from the locale's table (`locales/`),
 * every number from its `Intl` formatters, so a translation is one more table. The views read
 * their fixed words from `words` and the rest through these functions. Pure functions, no DOM.
 */
import type { ErrorCode } from '../../protocol/errors.js';
import type { ErrorData, ErrorReason } from '../errors.js';
import { sanitizeFileName } from '../sinks/file-name.js';
import type {
  PeerView,
  ReceiveState,
  SeedingView,
  ShareState,
  SwarmView,
} from '../session/types.js';
import { createFormat } from './format.js';
import { en } from './locales/en.js';
import type { Phrase } from './locales/locale.js';

const locale = en;
const format = createFormat(locale.tag);

/** The locale's words, for the views' fixed labels and sentences. */
export const words = locale;

/**
 * A file name as the widget shows it: the name the file is saved under, with the same cleaning
 * (no bidirectional controls, no control characters, cut to what file systems take). Views put
 * it in a `<bdi>`, so a right-to-left name cannot reorder what stands around it.
 */
export const shownName = sanitizeFileName;

/**
 * A file name inside a string (an `aria-label`, the live region): the shown name between FIRST
 * STRONG ISOLATE and POP DIRECTIONAL ISOLATE, the plain-text form of `<bdi>`. These two are the
 * widget's own; the name itself has none.
 */
export function isolatedName(name: string): string {
  return `\u2068${shownName(name)}\u2069`;
}

/**
 * A sentence of the locale that has a file name in it, split around the name, so a view can
 * put the name in a `<bdi>`. The marker is a control character, which no shown name keeps.
 */
export function aroundName(phrase: (name: string) => string): [before: string, after: string] {
  const [before = '', after = ''] = phrase('\u0000').split('\u0000');
  return [before, after];
}

/** `1 byte`, `999 bytes`, `1.5 kB`, `64 MB`: decimal units, as file managers show them. */
export const formatBytes = format.bytes;

/** `2.5 MB/s`; '' when nothing moves. */
export const formatSpeed = format.speed;

/** `8 sec`, `2 min 5 sec`, `1 hr 3 min`: short, because it changes every second. */
export const formatDuration = format.duration;

/**
 * One code's words as read for a failure known only at run time. Each entry of the table was
 * checked against its own code's reasons and facts where it was written.
 */
interface AnyCodeWords {
  heading: string;
  text: Phrase<ErrorCode>;
  reasons?: Partial<Record<ErrorReason, Phrase<ErrorCode>>>;
}

function wordsFor(code: ErrorCode): AnyCodeWords {
  // Codes are checked where they enter; this guards the words against one that slipped past.
  return (locale.errors[code] ?? locale.errors.internal) as AnyCodeWords;
}

/** A few words on what failed, shown above its sentence. */
export function errorHeading(error: ErrorData): string {
  return wordsFor(error.code).heading;
}

/** What failed, in a sentence made from the failure's code, reason and facts. */
export function errorMessage(error: ErrorData): string {
  const entry = wordsFor(error.code);
  const phrase = (error.reason && entry.reasons?.[error.reason]) || entry.text;
  return typeof phrase === 'string' ? phrase : phrase(error, format);
}

/** Whole percent, never 100 before the last byte. */
export function percent(bytes: number, total: number): number {
  if (total <= 0) return bytes >= total ? 100 : 0;
  const p = Math.floor((bytes / total) * 100);
  return Math.min(bytes >= total ? 100 : 99, Math.max(0, p));
}

/** `percent()` written out: `54%`. */
export function percentText(bytes: number, total: number): string {
  return format.percent(percent(bytes, total));
}

export function fileType(type: string): string {
  return type || locale.receive.unknownType;
}

/** The first and last eight hex digits: enough to compare by eye, short enough to read. */
export function shortHash(sha256: string): string {
  return sha256.length > 20 ? `${sha256.slice(0, 8)}…${sha256.slice(-8)}` : sha256;
}

/** `Recipient 1` for the first recipient (`index` 0). */
export function recipientName(index: number): string {
  return locale.share.recipient(index + 1, format);
}

/** `42% · relayed`: how far a recipient is, and how its connection runs once known. */
export function peerStatus(peer: PeerView): string {
  if (peer.status === 'failed') {
    return locale.share.failed(errorMessage(peer.error ?? { code: 'peer-vanished' }));
  }
  const status =
    peer.status === 'transferring'
      ? percentText(peer.bytes, peer.total)
      : locale.share.status[peer.status];
  return [status, routeText(peer.relayed)].filter(Boolean).join(' · ');
}

/** One line for screen readers about the recipients as a whole. */
export function peersSummary(peers: readonly PeerView[]): string {
  if (peers.length === 0) return locale.share.said.nobody;
  const counts = { connecting: 0, transferring: 0, done: 0, failed: 0 };
  for (const peer of peers) counts[peer.status]++;
  return locale.share.said.peers(counts, format);
}

/** The swarm's four counts with their labels, in the order the widget shows them. */
export function swarmCounts(swarm: SwarmView): [label: string, count: string][] {
  const labels = locale.share.swarm;
  return (['seeds', 'downloading', 'queued', 'finished'] as const).map((key) => [
    labels[key],
    format.integer(swarm[key]),
  ]);
}

/** `2 sharing, 3 downloading, 1 waiting, 4 finished.`: the swarm in one sentence. */
export function swarmSummary(swarm: SwarmView): string {
  return locale.share.said.swarm(swarm, format);
}

/** Whether anyone besides the seeds has the link open: downloading, waiting or finished. */
export function swarmHasRecipients(swarm: SwarmView | null): boolean {
  return !!swarm && swarm.downloading + swarm.queued + swarm.finished > 0;
}

/**
 * What the sharer uploaded against what reached recipients. Only whole copies count as
 * delivered (the swarm reports finished recipients, not their partial bytes), so the line says
 * so rather than pass a lower bound off as a total.
 */
export function uploadedLine(uploaded: number, swarm: SwarmView | null, size: number): string {
  const w = locale.share;
  const own = w.uploaded(formatBytes(uploaded));
  if (!swarm) return own;
  const copies = swarm.finished;
  const all = copies ? w.delivered(formatBytes(copies * size), copies, format) : w.noCopyYet;
  return `${own} · ${all}`;
}

/** Where a queued recipient stands. */
export function queueLine(position: number): string {
  return locale.receive.queue(position, format);
}

/** `from 3 browsers`, only when there is more than one to speak of. */
/** `direct` or `relayed`: how a connection runs, once known. */
export function routeText(relayed?: boolean): string {
  return relayed === undefined ? '' : locale.route[relayed ? 'relayed' : 'direct'];
}

export function sourcesLine(sources: number): string {
  return sources > 1 ? locale.receive.sources(sources, format) : '';
}

/** `1.2 MB of 3 MB · 40%`: the file's bytes so far. */
export function bytesLine(bytes: number, size: number): string {
  return locale.receive.bytes(formatBytes(bytes), formatBytes(size), percentText(bytes, size));
}

/** A finished recipient's sharing: whom it serves and what it uploaded. */
export function seedingLine(seeding: SeedingView): string {
  const w = locale.receive.seeding;
  const what = !seeding.on
    ? w.off
    : seeding.serving === 0
      ? w.idle
      : w.serving(seeding.serving, format);
  // Sharing, it says what it uploaded even when that is nothing yet; not sharing, only if any.
  const uploaded =
    seeding.on || seeding.uploaded > 0 ? [w.uploaded(formatBytes(seeding.uploaded))] : [];
  return [what, ...uploaded].join(' · ');
}

/** What the live region should say about the sharer's side: the situation, then progress. */
export function shareAnnouncement(state: ShareState): [string, string] {
  const said = locale.share.said;
  switch (state.phase) {
    case 'idle':
    case 'error':
      return ['', ''];
    case 'preparing':
      return [
        said.preparing(isolatedName(state.file.name)),
        percentText(state.hashed, state.file.size),
      ];
    case 'sharing': {
      const moving = state.peers
        .map((peer, i) => [peer, i] as const)
        .filter(([peer]) => peer.status === 'transferring')
        .map(([peer, i]) => said.progress(recipientName(i), percentText(peer.bytes, peer.total)));
      // The swarm's counts change with every arrival: progress, so they are not said each time.
      const swarm = state.swarm ? [swarmSummary(state.swarm)] : [];
      // Recipients served by seeds never appear among this browser's own: nobody is waiting then.
      const who = state.peers.length || !swarmHasRecipients(state.swarm);
      return [
        who ? `${said.ready} ${peersSummary(state.peers)}` : said.ready,
        [...swarm, ...moving].join(' '),
      ];
    }
    case 'stopped':
      return [said.stopped(isolatedName(state.file.name)), ''];
  }
}

/** `You can try again in 12 sec.`: the wait after too many password tries, as it counts down. */
export function waitLine(seconds: number): string {
  return locale.receive.wait(formatDuration(seconds));
}

/**
 * What the live region should say about the recipient's side: the situation, then progress.
 * `wait` is how many seconds a rate-limited password must still wait: 0 once it may be tried
 * again, null when no wait is known.
 */
export function receiveAnnouncement(
  state: ReceiveState,
  wait: number | null = null,
): [string, string] {
  const w = locale.receive;
  const said = w.said;
  switch (state.phase) {
    case 'loading':
      return [w.loading, ''];
    case 'locked':
      // A failed try is said by its alert; once a rate limit has passed, that is news too.
      if (!state.error) return [w.locked, ''];
      if (state.error.code === 'rate-limited' && wait === 0) return [w.tryAgain, ''];
      return ['', ''];
    case 'ready':
      return [said.ready(isolatedName(state.file.name), formatBytes(state.file.size)), ''];
    case 'connecting':
      return [w.connecting, ''];
    case 'queued':
      // Joining the queue is news; each step forward is progress, said at most every few seconds.
      return [said.queued, said.place(state.position, format)];
    case 'downloading':
      return [
        said.downloading(isolatedName(state.file.name)),
        percentText(state.bytes, state.file.size),
      ];
    case 'saving':
      return [said.saving(isolatedName(state.file.name)), ''];
    case 'done': {
      const { on, serving } = state.seeding;
      return [
        said.saved(isolatedName(state.file.name), on),
        on && serving > 0 ? said.serving(serving, format) : '',
      ];
    }
    case 'error':
      // The alert says it; a cancel is the user's own doing and only needs a word.
      return [state.error.code === 'cancelled' ? said.cancelled : '', ''];
  }
}
