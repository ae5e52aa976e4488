/**
 * One room's swarm as plain data: the pool of seeds with their capacity, the assignments, the
 * FIFO queue, bans and the finished count. It is JSON-friendly so a shared store can load and
 * save it in one transaction. The store keeps it and the steps in server/swarm/steps.ts change
 * it; this module holds its shape, the empty state and the one fact the store reads from it for
 * a room's expiry.
 */

export interface SeedEntry {
  peerId: string;
  have: 'some' | 'all';
  /** Most recipients it serves at once. */
  capacity: number;
  /** The room's sharer: assigned last among equally loaded seeds, never evicted. */
  sharer: boolean;
}

export interface Waiter {
  peerId: string;
  /** What its latest request excluded, honoured when a slot frees. */
  exclude: string[];
  /** Most sources it wants. */
  max: number;
}

export interface Assignment {
  downloader: string;
  seed: string;
}

export interface Ban {
  reporter: string;
  reported: string;
}

export interface SwarmState {
  /** The pool, in the order its seeds joined. */
  seeds: SeedEntry[];
  assignments: Assignment[];
  /** First come, first served; a waiter never has an assignment. */
  queue: Waiter[];
  /** Peers never to be assigned to their reporter again. */
  bans: Ban[];
  /** Recipient seeds reported as corrupt: out of the pool for good. */
  evicted: string[];
  /** Recipients that ever said they have the whole file. */
  finished: number;
  /** Members already counted in `finished`, so none counts twice. */
  counted: string[];
}

export function emptySwarm(): SwarmState {
  return { seeds: [], assignments: [], queue: [], bans: [], evicted: [], finished: 0, counted: [] };
}

/** A recipient seed remains: the room lives on without its sharer. */
export function hasRecipientSeed(state: SwarmState): boolean {
  return state.seeds.some((s) => !s.sharer);
}
