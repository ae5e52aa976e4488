/**
 * Seams for test builds. The product ships these inert values; the swarm's end-to-end tests
 * bundle a copy of the widget with this module replaced (see `testBuild` in e2e/lib/host-page.ts), so a
 * seed that corrupts pieces, or a recipient whose every piece request is traced, is real code in
 * a real browser rather than a mock.
 */

/**
 * Whether this build has its seams; every hooked line is guarded by it. The product's literal
 * `false` lets the bundler drop those lines and this module (scripts/size-budget.mjs checks
 * that no chunk of the product holds it).
 */
export const TEST_HOOKS: boolean = false;

/** How many pieces, the first ones it serves on each link, a recipient seed corrupts. */
export const CORRUPT_FIRST_PIECES: number = 0;

export type TraceKind = 'request' | 'verified' | 'corrupt';

/** Sees every piece request a fetcher sends and every piece it verified or refused. */
export function trace(_kind: TraceKind, _peer: string, _pieces: readonly number[]): void {}
