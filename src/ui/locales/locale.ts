/**
 * The shape of a locale: the tag `Intl` formats its numbers with, and every word the widget shows
 * or announces, failures included. A translation is one more module of this shape; the compiler
 * checks that it gives every string, and words every code and every reason of every code.
 *
 * Words with something in them are functions. A name, a size, a duration or a percentage comes
 * already written (`formatBytes` and the like); a count comes as a number, with the locale's
 * formatters, because the words around it take its plural form (`f.plural`).
 */
import type { ErrorCode } from '../../../protocol/errors.js';
import type { ErrorParams, ErrorReason } from '../../errors.js';
import type { PeerStatus, SwarmView } from '../../session/types.js';
import type { Format } from '../format.js';

/** Words about a failure: fixed, or made from its facts with the locale's formatters. */
export type Phrase<C extends ErrorCode> =
  string | ((params: ErrorParams<C>, format: Format) => string);

/** One code in words: its heading, a sentence for each reason, one for when no reason is given. */
export type ErrorWords<C extends ErrorCode> = {
  /** A few words, shown above the sentence. */
  heading: string;
  /** The sentence when the failure names no reason (the service's failures, for one). */
  text: Phrase<C>;
} & ([ErrorReason<C>] extends [never]
  ? { reasons?: never }
  : { reasons: { [R in ErrorReason<C>]: Phrase<C> } });

/** Words with a count in them. */
export type Counted = (n: number, f: Format) => string;

/** How a connection runs, shown beside it: straight between the browsers, or through a relay. */
export interface RouteWords {
  direct: string;
  relayed: string;
}

/** The password input on both sides. */
export interface PasswordWords {
  /** The button that shows the characters, and the one that hides them again. */
  show: string;
  hide: string;
  /** The same buttons' accessible names, which contain their visible word (WCAG 2.5.3). */
  showLabel: string;
  hideLabel: string;
}

/** The sharer's screens, in the order they come. */
export interface ShareWords {
  /** The drop zone: its invitation, the word before its button, the button. */
  drop: string;
  or: string;
  choose: string;
  /** The optional password's label, and the hint under it. */
  password: string;
  passwordHint: string;
  /** `Preparing… 54%`, while the file is hashed. */
  preparing(percent: string): string;
  /** The hashing progress bar's label. */
  preparingLabel(name: string): string;
  /** The link field's label, its Copy button and what that says once it copied. */
  link: string;
  copy: string;
  copied: string;
  /** Shown when the page may not write to the clipboard and has selected the link instead. */
  copyHint: string;
  /** Who can download with the link (`password`: the share has one). */
  linkHint(password: boolean): string;
  /** The note under the link of a share with a password. */
  protectedNote: string;
  /** The swarm counts' label, and the label of each count. */
  everyone: string;
  swarm: Record<keyof SwarmView, string>;
  /** `You uploaded 2.5 kB`, what this browser sent itself. */
  uploaded(size: string): string;
  /** What reached recipients, after ` · `: `4 kB delivered in all (4 complete copies)`, or none. */
  delivered(size: string, copies: number, f: Format): string;
  noCopyYet: string;
  /** The list of recipients' label. */
  recipients: string;
  /** `Recipient 3`: recipients are numbered from 1 in the order they came. */
  recipient: Counted;
  /** A recipient's progress bar's label. */
  progressLabel(recipient: string): string;
  /** A recipient's status (one still downloading shows its percentage). */
  status: Record<Exclude<PeerStatus, 'transferring' | 'failed'>, string>;
  failed(message: string): string;
  /** Nobody opened the link yet. */
  waiting: string;
  stop: string;
  stopped: string;
  another: string;
  /** What the live region says, for screen readers. */
  said: {
    preparing(name: string): string;
    ready: string;
    /** No recipient yet. */
    nobody: string;
    /** The recipients by status: `4 recipients: 1 connecting, 1 downloading, 1 done, 1 failed.` */
    peers(counts: Record<PeerStatus, number>, f: Format): string;
    /** `Recipient 2 42%.` */
    progress(recipient: string, percent: string): string;
    /** Everyone with the link: `2 sharing, 3 downloading, 1 waiting, 4 finished.` */
    swarm(swarm: SwarmView, f: Format): string;
    stopped(name: string): string;
    copied: string;
    /** The link is selected for the user to copy; said, so written out as it is pressed. */
    select: string;
  };
}

/** The recipient's screens, in the order they come. */
export interface ReceiveWords {
  /** Said and shown while the link is looked up. */
  loading: string;
  /** A share with a password: said and shown, then the form's label and button. */
  locked: string;
  password: string;
  unlock: string;
  checking: string;
  /** `You can try again in 12 sec.`, counting down after too many tries. */
  wait(duration: string): string;
  /** Said and shown once that wait is over. */
  tryAgain: string;
  /** A file whose type the sharer's browser did not know. */
  unknownType: string;
  download: string;
  cancel: string;
  /** Said and shown while connecting. */
  connecting: string;
  /** Where a queued recipient stands; position 1 is next. */
  queue: Counted;
  /** Under the queue: what arrived so far (`''` for nothing), and that the download will start. */
  queueHint(soFar: string): string;
  /** `1.2 MB of 3 MB · 40%` */
  bytes(got: string, size: string, percent: string): string;
  /** `2 min 5 sec left` */
  left(duration: string): string;
  /** `from 3 browsers`: only said for more than one. */
  sources: Counted;
  /** The download's progress bar's label. */
  progressLabel(name: string): string;
  saving: string;
  saved(name: string): string;
  /** Before the saved file's hash. */
  hash: string;
  /** The switch that keeps a finished recipient sharing. */
  keepSharing: string;
  /** What that sharing does, in parts joined with ` · `. */
  seeding: {
    off: string;
    idle: string;
    serving: Counted;
    uploaded(size: string): string;
  };
  retry: string;
  /** Retry's word after the user's own cancel: what arrived is kept. */
  resume: string;
  /** What the live region says, for screen readers. */
  said: {
    ready(name: string, size: string): string;
    queued: string;
    /** `You are number 3 in the queue.` */
    place: Counted;
    downloading(name: string): string;
    saving(name: string): string;
    /** `sharing`: the page keeps sharing the saved file. */
    saved(name: string, sharing: boolean): string;
    serving: Counted;
    cancelled: string;
  };
}

export interface Locale {
  /** The BCP 47 tag numbers, sizes and durations are formatted for, e.g. `en`. */
  tag: string;
  route: RouteWords;
  /**
   * Shown on either side while the service is briefly without its shared state: the widget
   * keeps trying by itself, and transfers under way go on (they run between the browsers).
   */
  outage: string;
  password: PasswordWords;
  share: ShareWords;
  receive: ReceiveWords;
  errors: { [C in ErrorCode]: ErrorWords<C> };
}
