/**
 * The shape of a locale: the tag `Intl` formats its numbers with, and the words for every failure.
 * A translation is one more module of this shape; the compiler checks that it words every code
 * and every reason of every code.
 */
import type { ErrorCode } from '../../../protocol/errors.js';
import type { ErrorParams, ErrorReason } from '../../errors.js';
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

export interface Locale {
  /** The BCP 47 tag numbers, sizes and durations are formatted for, e.g. `en`. */
  tag: string;
  errors: { [C in ErrorCode]: ErrorWords<C> };
}
