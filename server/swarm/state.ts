/**
 * One room's swarm as plain data: the pool of seeds with their capacity and load, the leases
 * (assignments of seeds to downloaders), the FIFO queue, bans and the finished count. It is
 * JSON-friendly so a shared store can load and save it in one transaction. The store keeps it
 * and the steps in server/swarm/steps.ts change it; this module holds its shape, the empty state
 * and the one fact the store reads from it for a room's expiry.
 */

export interface SeedEntry {
  peerId: string;
  have: 'some' | 'all';
  /** Most recipients it serves at once. */
  capacity: number;
  /** Leases it holds now (never above `capacity`). */
  load: number;
  /** The room's sharer: assigned last among equally loaded proven seeds, never evicted. */
  sharer: boolean;
  /**
   * A recipient reported a verified piece from it (the sharer always is). An unproven seed ranks
   * below every proven one, does not keep the room alive and is not counted as finished.
   */
  proven: boolean;
}

/**
 * One seed assigned to one downloader. The seed's word confirms it (the seed knows whether its
 * own slot is used); the seed is proven only when both sides spoke, in either order.
 */
export interface Lease {
  seed: string;
  /** When the lease ends unless the seed says a link with the downloader opened; null once so. */
  until: number | null;
  /** Set once the downloader reported a verified piece from the seed. */
  vouched?: true;
}

export interface Waiter {
  peerId: string;
  /** What its latest request excluded, honoured when a slot frees. */
  exclude: string[];
  /** Most sources it wants. */
  max: number;
}

export interface SwarmState {
  /** The pool, in the order its seeds joined. */
  seeds: SeedEntry[];
  /** By downloader, in the order they were given; a downloader with none has no key. */
  leases: Record<string, Lease[]>;
  /** Downloaders with at least one lease (the keys of `leases`), kept so counts cost nothing. */
  downloading: number;
  /** The earliest `until` of a lease its seed has not confirmed, or null when there may be none. */
  nextExpiry: number | null;
  /**
   * First come, first served: recipients that hold no lease, or only leases of unproven seeds
   * while a proven seed they could use is busy.
   */
  queue: Waiter[];
  /**
   * By reporter: peers never to be assigned to it again, oldest first, at most `MAX_BANS` each
   * (a reporter's list goes when it leaves; peer ids are never reused).
   */
  bans: Record<string, string[]>;
  /** Recipient seeds reported as corrupt: out of the pool for good. */
  evicted: string[];
  /** Recipients counted as finished: they said they have the whole file, and proved it. */
  finished: number;
  /** Members already counted in `finished`, so none counts twice. */
  counted: string[];
  /** Members that said they have the whole file but have not proved it yet. */
  claimed: string[];
  /** Members that reported a verified piece from a source they were assigned. */
  fetched: string[];
}

/** Peers one reporter's ban list holds; past it, the oldest are forgotten. */
export const MAX_BANS = 64;

export function emptySwarm(): SwarmState {
  return {
    seeds: [],
    leases: {},
    downloading: 0,
    nextExpiry: null,
    queue: [],
    bans: {},
    evicted: [],
    finished: 0,
    counted: [],
    claimed: [],
    fetched: [],
  };
}

/** A proven recipient seed remains: the room lives on without its sharer. */
export function hasRecipientSeed(state: SwarmState): boolean {
  return state.seeds.some((s) => !s.sharer && s.proven);
}

/** Every lease as `[downloader, lease]`, for tests and checks. */
export function allLeases(state: SwarmState): [string, Lease][] {
  return Object.entries(state.leases).flatMap(([downloader, list]) =>
    list.map((lease): [string, Lease] => [downloader, lease]),
  );
}
