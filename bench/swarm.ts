/**
 * Benchmark 6, the swarm (many recipients, finished ones seeding, the sharer leaving), belongs to
 * issue 4. Until the swarm exists this is only its place in `npm run bench`: it reports that it
 * is not built and writes no result, so no figure can be mistaken for a measurement.
 */
import type { Placeholder } from './lib/bench.js';

export const swarm: Placeholder = {
  name: 'swarm',
  title: 'Swarm: multi-source download and seeding',
  pending: 'not built yet: the swarm itself is issue 4, and its benchmark comes with it',
};
