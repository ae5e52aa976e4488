/**
 * The swarm algorithm: pure steps over one room's swarm state (server/swarm/state.ts). Each step
 * is one atomic change that a store runs, through `RoomStore.updateSwarm` or, for `leave`,
 * through `RoomStore.removeMember` together with the member's removal, and says what changed so
 * the sockets concerned can be told. Membership, roles and expiry are the store's business;
 * a step learns what it needs of them from its caller.
 *
 * A step's cost does not grow with what members did before: bans are kept per reporter and
 * capped, counts are kept as they change, leases are walked only when one is due, and the queue
 * is served only when a slot frees (or a seed arrives or is proven). Leases, bans and expiry
 * are in ./leases.ts; this module serves the queue and ranks the seeds.
 */
import type { Report, SeedStatus, SwarmStats } from '../../protocol/index.js';
import {
  addLease,
  ban,
  confirm,
  dropSeed,
  endLease,
  endLeases,
  expireDue,
  own,
  seedOf,
  sourcesOf,
  type Step,
  type StepClock,
} from './leases.js';
import type { SeedEntry, SwarmState, Waiter } from './state.js';

export type { StepClock } from './leases.js';
export { sourcesOf } from './leases.js';

/** What a step changed that sockets must hear about. */
export interface SwarmUpdate {
  /** Waiters that got sources, in queue order: each is told with `assigned`. */
  served: { peerId: string; sources: string[] }[];
  /** Waiters still queued whose place changed: each is told with `queue`. */
  moved: { peerId: string; position: number }[];
  /** The room's counts after the step. */
  stats: SwarmStats;
  /** Whether the counts differ from before the step. */
  statsChanged: boolean;
  /** When the next unconfirmed lease ends (null: none), so a timer can end it on time. */
  nextExpiry: number | null;
}

export type SourcesOutcome =
  /** Sources to fetch from (possibly none when the requester still has some). */
  | { kind: 'sources'; sources: string[] }
  /** Nothing free: the requester waits at this 1-based place. */
  | { kind: 'queued'; position: number }
  /** Nobody in the pool but the requester itself, excluded and banned peers. */
  | { kind: 'no-sources' };

export interface SourcesRequest {
  exclude: readonly string[];
  /** Most sources wanted in total, already capped by the service's limit. */
  max: number;
}

export function swarmStats(state: SwarmState): SwarmStats {
  return {
    seeds: state.seeds.length,
    downloading: state.downloading,
    queued: state.queue.length,
    finished: state.finished,
  };
}

export function sameStats(a: SwarmStats, b: SwarmStats): boolean {
  return (
    a.seeds === b.seeds &&
    a.downloading === b.downloading &&
    a.queued === b.queued &&
    a.finished === b.finished
  );
}

/**
 * A member says what it holds. Having it all ends its own downloads (and counts it as finished,
 * once, when it proved it fetched or served: see `settleFinished`); seeding with some or all
 * puts it in the pool unless it was evicted (a seed already there keeps its place, and its
 * capacity only grows); anything else takes it out, ending what it served.
 */
export function setSeed(
  state: SwarmState,
  peer: { peerId: string; sharer: boolean },
  status: SeedStatus,
  capacity: number,
  clock: StepClock,
): SwarmUpdate {
  return step(state, clock, (s) => {
    const { peerId } = peer;
    if (status.have === 'all') {
      endLeases(state, s, peerId);
      leaveQueue(state, peerId);
      if (!peer.sharer && !state.counted.includes(peerId) && !state.claimed.includes(peerId)) {
        state.claimed.push(peerId);
        settleFinished(state, peerId);
      }
    }
    const seeding = status.seeding && status.have !== 'none' && !state.evicted.includes(peerId);
    const entry = seedOf(state, peerId);
    if (seeding && entry) {
      entry.have = status.have as SeedEntry['have'];
      // Raised at once; never lowered under recipients it already serves (it would serve more
      // than its capacity), so a lower one waits until the seed rejoins the pool.
      if (capacity > entry.capacity) {
        entry.capacity = capacity;
        s.seeds.add(peerId);
      }
    } else if (seeding) {
      state.seeds.push({
        peerId,
        have: status.have as SeedEntry['have'],
        capacity,
        load: 0,
        sharer: peer.sharer,
        proven: peer.sharer,
      });
      s.seeds.add(peerId);
    } else if (entry) {
      dropSeed(state, s, peerId);
    }
  });
}

/**
 * A recipient asks for sources. It gets free seeds, proven ones first, then least-loaded, up to
 * `max` counting those it has; the reply lists every source it has that it did not exclude, so
 * a reply that was lost costs nothing. Holding only unproven seeds while a proven one it could
 * use is busy, it also keeps (or takes) a queue place, and a proven slot that frees goes to it.
 */
export function requestSources(
  state: SwarmState,
  requester: string,
  request: SourcesRequest,
  clock: StepClock,
): { outcome: SourcesOutcome; update: SwarmUpdate } {
  let outcome: SourcesOutcome = { kind: 'no-sources' };
  const update = step(state, clock, (s) => {
    const exclude = request.exclude;
    const banned = own(state.bans, requester) ?? [];
    const usable = (seed: SeedEntry) =>
      seed.peerId !== requester && !exclude.includes(seed.peerId) && !banned.includes(seed.peerId);
    if (!state.seeds.some(usable)) {
      leaveQueue(state, requester);
      outcome = { kind: 'no-sources' };
      return;
    }
    serve(state, s, requester, exclude, request.max);
    const held = own(state.leases, requester) ?? [];
    if (!shouldWait(state, requester, exclude)) {
      leaveQueue(state, requester);
    } else {
      const waiter: Waiter = { peerId: requester, exclude: [...exclude], max: request.max };
      const at = state.queue.findIndex((w) => w.peerId === requester);
      if (at === -1) state.queue.push(waiter);
      else state.queue[at] = waiter;
      if (held.length === 0) {
        outcome = { kind: 'queued', position: at === -1 ? state.queue.length : at + 1 };
        return;
      }
    }
    outcome = {
      kind: 'sources',
      sources: held.map((l) => l.seed).filter((p) => !exclude.includes(p)),
    };
  });
  return { outcome, update };
}

/** A downloader is done with a source: the slot frees and the queue moves. */
export function release(
  state: SwarmState,
  downloader: string,
  seed: string,
  clock: StepClock,
): SwarmUpdate {
  return step(state, clock, (s) => {
    endLease(state, s, downloader, seed);
  });
}

/**
 * A member reports a peer. `opened` (a seed about its downloader) confirms their lease; `good`
 * (a downloader about its source: it verified a piece) with the seed's `opened` proves the seed
 * and shows the downloader fetched for real (see `confirm`). Otherwise the lease ends and, if
 * the source is a member (`member`; a departed peer's id is dead and not worth keeping), it is
 * never assigned to the reporter again. A recipient seed reported as corrupt by a peer it was
 * linked with (`linked`) leaves the pool for good; the sharer never does.
 */
export function report(
  state: SwarmState,
  reporter: string,
  reported: string,
  options: { reason: Report['reason']; linked: boolean; member: boolean },
  clock: StepClock,
): { evicted: boolean; update: SwarmUpdate } {
  let evicted = false;
  const update = step(state, clock, (s) => {
    if (reporter === reported) return;
    if (options.reason === 'good' || options.reason === 'opened') {
      const seedSays = options.reason === 'opened';
      const [downloader, seed] = seedSays ? [reported, reporter] : [reporter, reported];
      if (confirm(state, downloader, seed, options.reason)) vouch(state, s, downloader, seed);
      return;
    }
    if (options.reason === 'refused') {
      // A seed refuses a downloader: the ban is the other way round.
      endLease(state, s, reported, reporter);
      if (options.member) ban(state, s, reported, reporter);
      return;
    }
    endLease(state, s, reporter, reported);
    if (options.member) ban(state, s, reporter, reported);
    const seed = seedOf(state, reported);
    if (options.reason === 'corrupt' && options.linked && seed && !seed.sharer) {
      dropSeed(state, s, reported);
      state.evicted.push(reported);
      evicted = true;
    }
  });
  return { evicted, update };
}

/** A member left: nothing of it remains, its slots free and the queue moves. */
export function leave(state: SwarmState, peerId: string, clock: StepClock): SwarmUpdate {
  return step(state, clock, (s) => {
    dropSeed(state, s, peerId);
    endLeases(state, s, peerId);
    leaveQueue(state, peerId);
    delete state.bans[peerId];
    for (const key of ['evicted', 'counted', 'claimed', 'fetched'] as const) {
      if (state[key].includes(peerId)) state[key] = state[key].filter((p) => p !== peerId);
    }
  });
}

/**
 * Ends every lease due by now that its seed did not confirm: no link opened, so the seed's slot
 * frees and the seed is not assigned to that downloader again. Every step runs it first; the
 * service also runs it on its own when `nextExpiry` comes, so a queue moves while nobody speaks.
 */
export function expire(state: SwarmState, clock: StepClock): SwarmUpdate {
  return step(state, clock, () => {});
}

function leaveQueue(state: SwarmState, peerId: string): void {
  const at = state.queue.findIndex((w) => w.peerId === peerId);
  if (at !== -1) state.queue.splice(at, 1);
}

/** Both sides confirmed that `reporter` fetched from `reported`: see `report`. */
function vouch(state: SwarmState, s: Step, reporter: string, reported: string): void {
  if (!state.fetched.includes(reporter)) {
    state.fetched.push(reporter);
    settleFinished(state, reporter);
  }
  leaveQueue(state, reporter);
  const seed = seedOf(state, reported);
  if (!seed || seed.proven) return;
  seed.proven = true;
  s.seeds.add(reported);
  settleFinished(state, reported);
  // Waiters that hold it hold a proven source now.
  state.queue = state.queue.filter((w) => !sourcesOf(state, w.peerId).includes(reported));
}

/**
 * Counts a member that said it has the whole file once it proved it: by a verified piece it
 * fetched, or one someone fetched from it as a seed.
 */
function settleFinished(state: SwarmState, peerId: string): void {
  if (!state.claimed.includes(peerId)) return;
  if (!seedOf(state, peerId)?.proven && !state.fetched.includes(peerId)) return;
  state.claimed = state.claimed.filter((p) => p !== peerId);
  state.counted.push(peerId);
  state.finished++;
}

/** Lower ranks go first among equally loaded seeds: offload the sharer, prefer whole files. */
function rank(seed: SeedEntry): number {
  if (seed.sharer) return 2;
  return seed.have === 'all' ? 0 : 1;
}

/** Proven seeds first, then the least-loaded (as a share of capacity), then by rank. */
function compare(a: SeedEntry, b: SeedEntry): number {
  return (
    Number(b.proven) - Number(a.proven) ||
    a.load * b.capacity - b.load * a.capacity ||
    rank(a) - rank(b)
  );
}

/** Seeds with room, in the order they are given (array sort is stable: pool order last). */
function freeSeeds(state: SwarmState): SeedEntry[] {
  return state.seeds.filter((s) => s.load < s.capacity).sort(compare);
}

/**
 * Gives `peerId` seeds with room that it may use and does not hold, in the order they are given,
 * up to `max` in all: from `pool` (seeds with room, in order) when the queue is served, else
 * from the whole pool. One that holds only unproven seeds takes a proven one even at `max`, in
 * place of its oldest unproven lease. Returns whether it got any.
 */
function serve(
  state: SwarmState,
  s: Step,
  peerId: string,
  exclude: readonly string[],
  max: number,
  pool?: SeedEntry[],
): boolean {
  const held = own(state.leases, peerId) ?? [];
  const banned = own(state.bans, peerId) ?? [];
  const usable = (seed: SeedEntry) =>
    seed.load < seed.capacity &&
    seed.peerId !== peerId &&
    !exclude.includes(seed.peerId) &&
    !banned.includes(seed.peerId) &&
    !held.some((l) => l.seed === seed.peerId);
  const candidates = pool ? pool.filter(usable) : state.seeds.filter(usable).sort(compare);
  const picked = candidates.slice(0, Math.max(0, max - held.length));
  const provenHeld = held.some((l) => seedOf(state, l.seed)?.proven);
  if (!provenHeld && picked.length === 0 && held.length > 0 && candidates[0]?.proven) {
    endLease(state, s, peerId, held[0]!.seed);
    picked.push(candidates[0]);
  }
  for (const seed of picked) addLease(state, s, peerId, seed);
  return picked.length > 0;
}

/**
 * Whether a recipient waits in the queue: it holds no proven source, and either holds nothing
 * or a proven seed it may use is busy (one will free).
 */
function shouldWait(state: SwarmState, peerId: string, exclude: readonly string[]): boolean {
  const held = own(state.leases, peerId) ?? [];
  if (held.length === 0) return true;
  if (held.some((l) => seedOf(state, l.seed)?.proven)) return false;
  const banned = own(state.bans, peerId) ?? [];
  return state.seeds.some(
    (seed) =>
      seed.proven &&
      seed.peerId !== peerId &&
      !exclude.includes(seed.peerId) &&
      !banned.includes(seed.peerId),
  );
}

/**
 * Hands free slots to waiters in queue order: the head first, and a waiter that can use none of
 * them (it excluded or banned every seed with room) does not hold up those behind it. Before the
 * step no waiter could use any seed with room, so each is offered only the seeds that changed,
 * unless its own holdings or bans did: a step costs what it changed, not waiters x seeds x bans.
 */
function drain(state: SwarmState, s: Step): { peerId: string; sources: string[] }[] {
  const served: { peerId: string; sources: string[] }[] = [];
  if (s.seeds.size === 0 && s.members.size === 0) return served;
  let free = freeSeeds(state);
  let changed = free.filter((seed) => s.seeds.has(seed.peerId));
  for (const waiter of [...state.queue]) {
    if (free.length === 0) break;
    const pool = s.members.has(waiter.peerId) ? free : changed;
    if (pool.length === 0) continue;
    if (!serve(state, s, waiter.peerId, waiter.exclude, waiter.max, pool)) continue;
    // What it took is full now, and a proven slot it took may have freed an unproven one.
    free = freeSeeds(state);
    changed = free.filter((seed) => s.seeds.has(seed.peerId));
    if (!shouldWait(state, waiter.peerId, waiter.exclude)) leaveQueue(state, waiter.peerId);
    served.push({ peerId: waiter.peerId, sources: sourcesOf(state, waiter.peerId) });
  }
  return served;
}

/**
 * Runs one change after ending the leases that are due, serves the queue if a slot may have
 * opened, and says what sockets must hear.
 */
function step(state: SwarmState, clock: StepClock, change: (s: Step) => void): SwarmUpdate {
  const s: Step = { clock, seeds: new Set(), members: new Set() };
  const before = swarmStats(state);
  const placesBefore = new Map(state.queue.map((w, i) => [w.peerId, i + 1]));
  expireDue(state, s);
  change(s);
  const served = drain(state, s);
  const moved: SwarmUpdate['moved'] = [];
  state.queue.forEach((w, i) => {
    const was = placesBefore.get(w.peerId);
    if (was !== undefined && was !== i + 1) moved.push({ peerId: w.peerId, position: i + 1 });
  });
  const stats = swarmStats(state);
  return {
    served,
    moved,
    stats,
    statsChanged: !sameStats(stats, before),
    nextExpiry: state.nextExpiry,
  };
}
