/**
 * The swarm algorithm: pure steps over one room's swarm state (server/swarm/state.ts). Each step
 * is one atomic change that a store runs, through `RoomStore.updateSwarm` or, for `leave`,
 * through `RoomStore.removeMember` together with the member's removal, and says what changed so
 * the sockets concerned can be told. Membership, roles and expiry are the store's business;
 * a step learns what it needs of them from its caller.
 */
import type { SeedStatus, SwarmStats } from '../../protocol/index.js';
import type { SeedEntry, SwarmState, Waiter } from './state.js';

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
    downloading: new Set(state.assignments.map((a) => a.downloader)).size,
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
 * once, unless it is the sharer); seeding with some or all puts it in the pool unless it was
 * evicted (a seed already there keeps its place, and its capacity only grows); anything else
 * takes it out, ending what it served.
 */
export function setSeed(
  state: SwarmState,
  peer: { peerId: string; sharer: boolean },
  status: SeedStatus,
  capacity: number,
): SwarmUpdate {
  return step(state, () => {
    const { peerId } = peer;
    if (status.have === 'all') {
      state.assignments = state.assignments.filter((a) => a.downloader !== peerId);
      state.queue = state.queue.filter((w) => w.peerId !== peerId);
      if (!peer.sharer && !state.counted.includes(peerId)) {
        state.counted.push(peerId);
        state.finished++;
      }
    }
    const seeding = status.seeding && status.have !== 'none' && !state.evicted.includes(peerId);
    const entry = state.seeds.find((s) => s.peerId === peerId);
    if (seeding && entry) {
      entry.have = status.have as SeedEntry['have'];
      // Raised at once; never lowered under recipients it already serves (it would serve more
      // than its capacity), so a lower one waits until the seed rejoins the pool.
      entry.capacity = Math.max(entry.capacity, capacity);
    } else if (seeding) {
      state.seeds.push({
        peerId,
        have: status.have as SeedEntry['have'],
        capacity,
        sharer: peer.sharer,
      });
    } else if (entry) {
      dropSeed(state, peerId);
    }
  });
}

/**
 * A recipient asks for sources. It gets free seeds, least-loaded first, up to `max` counting
 * those it has; the reply lists every source it has that it did not exclude, so a reply that
 * was lost costs nothing. With none at all and none free it queues (once: asking again keeps
 * its place and updates what it excludes).
 */
export function requestSources(
  state: SwarmState,
  requester: string,
  request: SourcesRequest,
): { outcome: SourcesOutcome; update: SwarmUpdate } {
  let outcome: SourcesOutcome = { kind: 'no-sources' };
  const update = step(state, () => {
    const exclude = new Set(request.exclude);
    const banned = bannedFor(state, requester);
    const possible = state.seeds.filter(
      (s) => s.peerId !== requester && !exclude.has(s.peerId) && !banned.has(s.peerId),
    );
    const held = sourcesOf(state, requester);
    if (possible.length === 0) {
      state.queue = state.queue.filter((w) => w.peerId !== requester);
      outcome = { kind: 'no-sources' };
      return;
    }
    const picked = pick(state, requester, exclude, request.max - held.length);
    for (const seed of picked) state.assignments.push({ downloader: requester, seed });
    if (held.length + picked.length > 0) {
      state.queue = state.queue.filter((w) => w.peerId !== requester);
      outcome = {
        kind: 'sources',
        sources: sourcesOf(state, requester).filter((p) => !exclude.has(p)),
      };
      return;
    }
    const waiter: Waiter = { peerId: requester, exclude: [...exclude], max: request.max };
    const at = state.queue.findIndex((w) => w.peerId === requester);
    if (at === -1) state.queue.push(waiter);
    else state.queue[at] = waiter;
    outcome = { kind: 'queued', position: at === -1 ? state.queue.length : at + 1 };
  });
  return { outcome, update };
}

/** A downloader is done with a source: the slot frees and the queue moves. */
export function release(state: SwarmState, downloader: string, seed: string): SwarmUpdate {
  return step(state, () => {
    state.assignments = state.assignments.filter(
      (a) => a.downloader !== downloader || a.seed !== seed,
    );
  });
}

/**
 * A downloader reports a source: the assignment ends and, if the source is a member (`member`;
 * a departed peer's id is dead and not worth keeping), it is never assigned to the reporter
 * again. A recipient seed reported as corrupt by a peer it was linked with (`linked`) leaves the
 * pool for good; the sharer never does.
 */
export function report(
  state: SwarmState,
  reporter: string,
  reported: string,
  options: { corrupt: boolean; linked: boolean; member: boolean },
): { evicted: boolean; update: SwarmUpdate } {
  let evicted = false;
  const update = step(state, () => {
    if (reporter === reported) return;
    state.assignments = state.assignments.filter(
      (a) => a.downloader !== reporter || a.seed !== reported,
    );
    if (
      options.member &&
      !state.bans.some((b) => b.reporter === reporter && b.reported === reported)
    ) {
      state.bans.push({ reporter, reported });
    }
    const seed = state.seeds.find((s) => s.peerId === reported);
    if (options.corrupt && options.linked && seed && !seed.sharer) {
      dropSeed(state, reported);
      state.evicted.push(reported);
      evicted = true;
    }
  });
  return { evicted, update };
}

/** A member left: nothing of it remains, its slots free and the queue moves. */
export function leave(state: SwarmState, peerId: string): SwarmUpdate {
  return step(state, () => {
    dropSeed(state, peerId);
    state.assignments = state.assignments.filter((a) => a.downloader !== peerId);
    state.queue = state.queue.filter((w) => w.peerId !== peerId);
    state.bans = state.bans.filter((b) => b.reporter !== peerId && b.reported !== peerId);
    state.evicted = state.evicted.filter((p) => p !== peerId);
    state.counted = state.counted.filter((p) => p !== peerId);
  });
}

export function sourcesOf(state: SwarmState, downloader: string): string[] {
  return state.assignments.filter((a) => a.downloader === downloader).map((a) => a.seed);
}

export function loadOf(state: SwarmState, seed: string): number {
  let load = 0;
  for (const a of state.assignments) if (a.seed === seed) load++;
  return load;
}

/** The seed leaves the pool; its downloaders find out when their links close. */
function dropSeed(state: SwarmState, peerId: string): void {
  state.seeds = state.seeds.filter((s) => s.peerId !== peerId);
  state.assignments = state.assignments.filter((a) => a.seed !== peerId);
}

function bannedFor(state: SwarmState, reporter: string): Set<string> {
  return new Set(state.bans.filter((b) => b.reporter === reporter).map((b) => b.reported));
}

/** Lower ranks go first among equally loaded seeds: offload the sharer, prefer whole files. */
function rank(seed: SeedEntry): number {
  if (seed.sharer) return 2;
  return seed.have === 'all' ? 0 : 1;
}

/**
 * Up to `want` seeds with room that this downloader may use and does not have yet, least-loaded
 * (as a share of capacity) first, then by rank, then in pool order.
 */
function pick(
  state: SwarmState,
  downloader: string,
  exclude: ReadonlySet<string>,
  want: number,
): string[] {
  if (want <= 0) return [];
  const held = new Set(sourcesOf(state, downloader));
  const banned = bannedFor(state, downloader);
  const free = state.seeds
    .filter(
      (s) =>
        s.peerId !== downloader &&
        !exclude.has(s.peerId) &&
        !banned.has(s.peerId) &&
        !held.has(s.peerId),
    )
    .map((seed) => ({ seed, load: loadOf(state, seed.peerId) }))
    .filter(({ seed, load }) => load < seed.capacity);
  // Array sort is stable, so pool order breaks the remaining ties.
  free.sort(
    (a, b) => a.load * b.seed.capacity - b.load * a.seed.capacity || rank(a.seed) - rank(b.seed),
  );
  return free.slice(0, want).map(({ seed }) => seed.peerId);
}

/**
 * Hands free slots to waiters in queue order: the head first, and a waiter that can use none of
 * them (it excluded or banned every seed with room) does not hold up those behind it.
 */
function drain(state: SwarmState): { peerId: string; sources: string[] }[] {
  const served: { peerId: string; sources: string[] }[] = [];
  for (const waiter of [...state.queue]) {
    if (!state.seeds.some((s) => loadOf(state, s.peerId) < s.capacity)) break;
    const sources = pick(state, waiter.peerId, new Set(waiter.exclude), waiter.max);
    if (sources.length === 0) continue;
    for (const seed of sources) state.assignments.push({ downloader: waiter.peerId, seed });
    state.queue = state.queue.filter((w) => w.peerId !== waiter.peerId);
    served.push({ peerId: waiter.peerId, sources });
  }
  return served;
}

/** Runs one change, serves the queue from whatever it freed, and says what sockets must hear. */
function step(state: SwarmState, change: () => void): SwarmUpdate {
  const before = swarmStats(state);
  const placesBefore = new Map(state.queue.map((w, i) => [w.peerId, i + 1]));
  change();
  const served = drain(state);
  const moved: SwarmUpdate['moved'] = [];
  state.queue.forEach((w, i) => {
    const was = placesBefore.get(w.peerId);
    if (was !== undefined && was !== i + 1) moved.push({ peerId: w.peerId, position: i + 1 });
  });
  const stats = swarmStats(state);
  return { served, moved, stats, statsChanged: !sameStats(stats, before) };
}
