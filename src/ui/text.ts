/**
 * Every word the widget shows or announces, in one place so translating the widget later touches
 * one module: failures come from the locale's table (`locales/`), numbers from its `Intl`
 * formatters; the other words are still here. Pure functions, no DOM.
 */
import type { ErrorCode } from '../../protocol/errors.js';
import type { ErrorData, ErrorReason } from '../errors.js';
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
  return locale.errors[code] as AnyCodeWords;
}

/** A few words on what failed, shown above its sentence. */
export function errorHeading(error: ErrorData): string {
  return wordsFor(error.code).heading;
}

/** What failed, in a sentence made from the failure's code, reason and facts. */
export function errorMessage(error: ErrorData): string {
  const words = wordsFor(error.code);
  const phrase = (error.reason && words.reasons?.[error.reason]) || words.text;
  return typeof phrase === 'string' ? phrase : phrase(error, format);
}

/** Whole percent, never 100 before the last byte. */
export function percent(bytes: number, total: number): number {
  if (total <= 0) return bytes >= total ? 100 : 0;
  const p = Math.floor((bytes / total) * 100);
  return Math.min(bytes >= total ? 100 : 99, Math.max(0, p));
}

export function fileType(type: string): string {
  return type || 'Unknown type';
}

/** The first and last eight hex digits: enough to compare by eye, short enough to read. */
export function shortHash(sha256: string): string {
  return sha256.length > 20 ? `${sha256.slice(0, 8)}…${sha256.slice(-8)}` : sha256;
}

export function recipientName(index: number): string {
  return `Recipient ${index + 1}`;
}

export function peerStatus(peer: PeerView): string {
  switch (peer.status) {
    case 'connecting':
      return 'Connecting…';
    case 'transferring':
      return `${percent(peer.bytes, peer.total)}%`;
    case 'done':
      return 'Done';
    case 'failed':
      return `Failed: ${errorMessage(peer.error ?? { code: 'peer-vanished' })}`;
  }
}

/** One line for screen readers about the recipients as a whole. */
export function peersSummary(peers: readonly PeerView[]): string {
  if (peers.length === 0) return 'Waiting for someone to open the link.';
  const count = (status: PeerView['status']) => peers.filter((p) => p.status === status).length;
  const parts = [
    [count('connecting'), 'connecting'],
    [count('transferring'), 'downloading'],
    [count('done'), 'done'],
    [count('failed'), 'failed'],
  ]
    .filter(([n]) => n)
    .map(([n, what]) => `${n} ${what}`);
  const noun = peers.length === 1 ? 'recipient' : 'recipients';
  return `${peers.length} ${noun}: ${parts.join(', ')}.`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The swarm's four counts with their labels, in the order the widget shows them. */
export function swarmCounts(swarm: SwarmView): [label: string, count: number][] {
  return [
    ['Sharing', swarm.seeds],
    ['Downloading', swarm.downloading],
    ['Waiting', swarm.queued],
    ['Finished', swarm.finished],
  ];
}

/** `2 sharing, 3 downloading, 1 waiting, 4 finished.`: the swarm in one sentence. */
export function swarmSummary(swarm: SwarmView): string {
  const counts = swarmCounts(swarm).map(([label, n]) => `${n} ${label.toLowerCase()}`);
  return `${counts.join(', ')}.`;
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
  const own = `You uploaded ${formatBytes(uploaded)}`;
  if (!swarm) return own;
  if (swarm.finished === 0) return `${own} · no complete copy delivered yet`;
  const copies = plural(swarm.finished, 'complete copy', 'complete copies');
  return `${own} · ${formatBytes(swarm.finished * size)} delivered in all (${copies})`;
}

/** Position 1 is next. */
function queuePlace(position: number): string {
  return position <= 1 ? 'next' : `number ${position}`;
}

/** Where a queued recipient stands. */
export function queueLine(position: number): string {
  return `Waiting for a free sender — you are ${queuePlace(position)} in the queue.`;
}

/** `from 3 browsers`, only when there is more than one to speak of. */
export function sourcesLine(sources: number): string {
  return sources > 1 ? `from ${sources} browsers` : '';
}

/** A finished recipient's sharing: whom it serves and what it uploaded. */
export function seedingLine(seeding: SeedingView): string {
  const uploaded = `${formatBytes(seeding.uploaded)} uploaded`;
  if (!seeding.on) return seeding.uploaded > 0 ? `Not sharing · ${uploaded}` : 'Not sharing';
  if (seeding.serving === 0) return `Nobody is downloading from you right now · ${uploaded}`;
  return `Sharing with ${plural(seeding.serving, 'person', 'people')} · ${uploaded}`;
}

/** What the live region should say about the sharer's side: the situation, then progress. */
export function shareAnnouncement(state: ShareState): [string, string] {
  switch (state.phase) {
    case 'idle':
    case 'error':
      return ['', ''];
    case 'preparing':
      return [`Preparing ${state.file.name}…`, `${percent(state.hashed, state.file.size)}%`];
    case 'sharing': {
      const moving = state.peers
        .map((peer, i) => [peer, i] as const)
        .filter(([peer]) => peer.status === 'transferring')
        .map(([peer, i]) => `${recipientName(i)} ${percent(peer.bytes, peer.total)}%.`);
      // The swarm's counts change with every arrival: progress, so they are not said each time.
      const swarm = state.swarm ? [swarmSummary(state.swarm)] : [];
      // Recipients served by seeds never appear among this browser's own: nobody is waiting then.
      const who = state.peers.length || !swarmHasRecipients(state.swarm);
      return [
        who ? `Link ready. ${peersSummary(state.peers)}` : 'Link ready.',
        [...swarm, ...moving].join(' '),
      ];
    }
    case 'stopped':
      return [`Stopped sharing ${state.file.name}.`, ''];
  }
}

/** `Try again in 12 s.`: the wait after too many password tries, as it counts down. */
export function waitLine(seconds: number): string {
  return `You can try again in ${formatDuration(seconds)}.`;
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
  switch (state.phase) {
    case 'loading':
      return ['Looking up the shared file…', ''];
    case 'locked':
      // A failed try is said by its alert; once a rate limit has passed, that is news too.
      if (!state.error) return ['This file is protected by a password.', ''];
      if (state.error.code === 'rate-limited' && wait === 0) {
        return ['You can try the password again.', ''];
      }
      return ['', ''];
    case 'ready':
      return [`${state.file.name}, ${formatBytes(state.file.size)}, ready to download.`, ''];
    case 'connecting':
      return ['Connecting to the sender…', ''];
    case 'queued': {
      // Joining the queue is news; each step forward is progress, said at most every few seconds.
      return ['Waiting for a free sender.', `You are ${queuePlace(state.position)} in the queue.`];
    }
    case 'downloading':
      return [`Downloading ${state.file.name}.`, `${percent(state.bytes, state.file.size)}%`];
    case 'saving':
      return [`Saving ${state.file.name}…`, ''];
    case 'done': {
      const saved = `Saved ${state.file.name}.`;
      if (!state.seeding.on) return [saved, ''];
      const serving = state.seeding.serving;
      return [
        `${saved} You are sharing it with others while this page is open.`,
        serving > 0 ? `Sharing with ${plural(serving, 'person', 'people')}.` : '',
      ];
    }
    case 'error':
      // The alert says it; a cancel is the user's own doing and only needs a word.
      return [state.error.code === 'cancelled' ? 'Download cancelled.' : '', ''];
  }
}
