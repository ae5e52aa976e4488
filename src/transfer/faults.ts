/**
 * Fault injection for test builds. The product ships these values; the swarm's end-to-end tests
 * bundle a copy of the widget with this module replaced (see e2e/harness.ts), so a seed that
 * corrupts a piece is a real browser running real code, not a mock.
 */

/** A piece this build corrupts (one byte flipped) whenever it serves it as a recipient seed; -1: none. */
export const CORRUPT_PIECE: number = -1;
