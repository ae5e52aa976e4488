/**
 * Leases and bans, the parts of a swarm step that change who may be assigned to whom: adding,
 * confirming and ending leases (each frees or fills a seed's slot and keeps the downloading count
 * and the next deadline), ending those that are due, bans per reporter, and a seed leaving the
 * pool. The steps in ./steps.ts use these; what a change may free is noted on the step for the
 * queue.
 */
import { MAX_BANS, type Lease, type SeedEntry, type SwarmState } from './state.js';

/** The time a step runs at, and how long a new lease lasts unless its seed confirms it. */
export interface StepClock {
  now: number;
  leaseMs: number;
}

/**
 * What one step is doing: its clock, and what may let a waiter use a slot it could not use
 * before (the queue is served only then, and only with those): seeds that gained room, joined
 * or were proven, and members that lost a lease or a ban.
 */
export interface Step {
  clock: StepClock;
  seeds: Set<string>;
  members: Set<string>;
}

/** The seeds a downloader holds leases of, in the order it was given them. */
export function sourcesOf(state: SwarmState, downloader: string): string[] {
  return (own(state.leases, downloader) ?? []).map((l) => l.seed);
}

/** A record's own entry (never one inherited, whatever the key). */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function seedOf(state: SwarmState, peerId: string): SeedEntry | undefined {
  return state.seeds.find((s) => s.peerId === peerId);
}

/** Never assign `reported` to `reporter` again; the reporter's oldest ban goes past the cap. */
export function ban(state: SwarmState, s: Step, reporter: string, reported: string): void {
  const list = own(state.bans, reporter);
  if (!list) {
    state.bans[reporter] = [reported];
  } else if (!list.includes(reported)) {
    list.push(reported);
    if (list.length > MAX_BANS) {
      list.shift();
      s.members.add(reporter);
    }
  }
}

export function addLease(state: SwarmState, s: Step, downloader: string, seed: SeedEntry): void {
  const until = s.clock.now + s.clock.leaseMs;
  const list = own(state.leases, downloader);
  if (list) list.push({ seed: seed.peerId, until });
  else {
    state.leases[downloader] = [{ seed: seed.peerId, until }];
    state.downloading++;
  }
  seed.load++;
  if (state.nextExpiry === null || until < state.nextExpiry) state.nextExpiry = until;
}

/**
 * One side of a lease speaks for it. `opened`, the seed's word that a link with the downloader
 * opened, confirms it: it no longer runs out. `good`, the downloader's word that it verified a
 * piece from the seed, is kept on it and counts only with the seed's. Returns true once, when
 * the lease holds both words (the proof that the seed served and the downloader fetched); a
 * pair with no lease changes nothing.
 */
export function confirm(
  state: SwarmState,
  downloader: string,
  seed: string,
  word: 'opened' | 'good',
): boolean {
  const lease = own(state.leases, downloader)?.find((l) => l.seed === seed);
  if (!lease) return false;
  if (word === 'opened') {
    if (lease.until === null) return false;
    lease.until = null;
  } else {
    if (lease.vouched) return false;
    lease.vouched = true;
  }
  return lease.until === null && lease.vouched === true;
}

/** Removes the leases of `downloader` that `drop` picks; each frees a slot. */
function removeLeases(
  state: SwarmState,
  s: Step,
  downloader: string,
  drop: (lease: Lease) => boolean,
): void {
  const list = own(state.leases, downloader);
  if (!list) return;
  const kept = list.filter((lease) => {
    if (!drop(lease)) return true;
    const seed = seedOf(state, lease.seed);
    if (seed) {
      seed.load--;
      s.seeds.add(seed.peerId);
    }
    s.members.add(downloader);
    return false;
  });
  if (kept.length === list.length) return;
  if (kept.length > 0) state.leases[downloader] = kept;
  else {
    delete state.leases[downloader];
    state.downloading--;
    if (state.downloading === 0) state.nextExpiry = null;
  }
}

export function endLease(state: SwarmState, s: Step, downloader: string, seed: string): void {
  removeLeases(state, s, downloader, (l) => l.seed === seed);
}

export function endLeases(state: SwarmState, s: Step, downloader: string): void {
  removeLeases(state, s, downloader, () => true);
}

/** The seed leaves the pool; its downloaders find out when their links close. */
export function dropSeed(state: SwarmState, s: Step, peerId: string): void {
  const at = state.seeds.findIndex((e) => e.peerId === peerId);
  if (at === -1) return;
  const seed = state.seeds[at]!;
  state.seeds.splice(at, 1);
  if (seed.load === 0) return;
  for (const downloader of Object.keys(state.leases)) {
    removeLeases(state, s, downloader, (l) => l.seed === peerId);
  }
}

/** Ends the leases due by now that their seeds did not confirm (see `expire` in ./steps.ts). */
export function expireDue(state: SwarmState, s: Step): void {
  const { now } = s.clock;
  if (state.nextExpiry === null || state.nextExpiry > now) return;
  let next: number | null = null;
  for (const downloader of Object.keys(state.leases)) {
    const due: string[] = [];
    for (const lease of state.leases[downloader]!) {
      if (lease.until === null) continue;
      if (lease.until <= now) due.push(lease.seed);
      else if (next === null || lease.until < next) next = lease.until;
    }
    if (due.length === 0) continue;
    removeLeases(state, s, downloader, (l) => due.includes(l.seed));
    for (const seed of due) ban(state, s, downloader, seed);
  }
  state.nextExpiry = next;
}
