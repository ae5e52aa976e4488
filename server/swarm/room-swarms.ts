/**
 * The swarm of every room, run over any `RoomStore`: each operation is one of the steps in
 * ./steps.ts, taken atomically through the store with what it needs to know of the room (the
 * member's role, its partners, who is a member). Stores keep state only, so a Redis store gets
 * the same rules without hosting them; the sockets side calls this and tells the sockets what an
 * update says. This process also keeps, per room, a budget of swarm events per second and one
 * timer that ends leases due while nobody speaks.
 */
import type { Report, SeedStatus, SwarmStats } from '../../protocol/index.js';
import { TokenBucket } from '../limits.js';
import type { MemberRemoval, RoomStore, SwarmRoom } from '../store/store.js';
import type { SwarmState } from './state.js';
import * as steps from './steps.js';
import type { SourcesOutcome, StepClock, SwarmUpdate } from './steps.js';

export type { SwarmUpdate } from './steps.js';

export interface SourcesQuery {
  /** Peers not to assign (the requester talks to them already, or gave up on them). */
  exclude: readonly string[];
  /** Most sources wanted in total, counting those assigned before. */
  max?: number;
}

export interface RoomSwarmsOptions {
  /** The clock of lease deadlines (kept in the swarm state); tests pass a fake one. */
  now?: () => number;
  /** How long an assignment lasts unless its seed says a link with the downloader opened. */
  leaseMs?: number;
  /** Swarm events one room takes per second, from all its members (twice as many at once). */
  eventsPerSecond?: number;
  /** Hears what a lease ending on its timer changed, to tell the sockets. */
  onExpired?: (roomId: string, update: SwarmUpdate) => void;
}

/** The widget's link connect timeout (src/rtc/peer-link.ts): a lease lasts as long. */
export const DEFAULT_LEASE_MS = 30_000;

/** Longest a timer may be set for (setTimeout's own limit). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Each method returns null when the room is gone or `peerId` is no member of it. */
export class RoomSwarms {
  readonly #now: () => number;
  readonly #leaseMs: number;
  readonly #eventsPerSecond: number;
  readonly #budgets = new Map<string, TokenBucket>();
  readonly #timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  /** Set once the sockets side exists; see `RoomSwarmsOptions.onExpired`. */
  onExpired: ((roomId: string, update: SwarmUpdate) => void) | undefined;

  constructor(
    private readonly store: RoomStore,
    options: RoomSwarmsOptions = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#eventsPerSecond = options.eventsPerSecond ?? Infinity;
    this.onExpired = options.onExpired;
  }

  /**
   * Takes one swarm event from the room's budget: 0 when there was one left, otherwise how many
   * milliseconds until there is.
   */
  admit(roomId: string): number {
    if (this.#eventsPerSecond === Infinity) return 0;
    let bucket = this.#budgets.get(roomId);
    if (!bucket) {
      bucket = new TokenBucket(this.#eventsPerSecond, 2 * this.#eventsPerSecond);
      this.#budgets.set(roomId, bucket);
    }
    return bucket.take() ? 0 : Math.ceil(bucket.msUntilToken());
  }

  /**
   * A member says what it holds: seeding with some or all of the file puts it in the pool with
   * `capacity` (a recipient evicted as corrupt stays out; a recipient seed is on probation until
   * one it confirmed a link with reports a verified piece from it); otherwise it leaves the pool and what it served
   * ends. Having it all ends its own downloads and counts a recipient as finished, once, when it
   * proved it. The sharer is put in the pool this way when it joins.
   */
  setSeed(
    roomId: string,
    peerId: string,
    status: SeedStatus,
    capacity: number,
  ): Promise<SwarmUpdate | null> {
    return this.#update(roomId, peerId, (swarm, room, clock) =>
      steps.setSeed(
        swarm,
        { peerId, sharer: room.member.role === 'sharer' },
        status,
        capacity,
        clock,
      ),
    );
  }

  /**
   * Assigns free seeds to a member, proven ones first, then least-loaded (then whole-file
   * seeds, then partial ones, then the sharer), never past a seed's capacity, never itself,
   * excluded or banned peers, up to `min(query.max, limit)` counting those it has. With none
   * held and none free it queues (once; asking again keeps its place), as it does when it holds
   * only unproven seeds while a proven one is busy; with nobody in the pool but excluded and
   * banned peers it is `no-sources` (and leaves the queue). Each assignment is a lease that ends
   * unless the seed reports in time that a link with the member opened.
   */
  requestSources(
    roomId: string,
    peerId: string,
    query: SourcesQuery,
    limit: number,
  ): Promise<{ outcome: SourcesOutcome; update: SwarmUpdate } | null> {
    const max = Math.min(query.max ?? limit, limit);
    return this.#update(
      roomId,
      peerId,
      (swarm, _room, clock) =>
        steps.requestSources(swarm, peerId, { exclude: query.exclude, max }, clock),
      (result) => result.update,
    );
  }

  /** Ends one assignment of `peerId`; its slot goes to the queue. Unknown pairs change nothing. */
  release(roomId: string, peerId: string, source: string): Promise<SwarmUpdate | null> {
    return this.#update(roomId, peerId, (swarm, _room, clock) =>
      steps.release(swarm, peerId, source, clock),
    );
  }

  /**
   * `opened`: `peerId` (the sharer or a seed) has a link open with `source`, which confirms the
   * lease `source` holds of it. `good`: `peerId` verified a piece from `source`, a seed it was
   * assigned, which takes the seed off probation once the seed's `opened` confirmed that lease
   * too (either may come first). Otherwise the assignment ends and `source` is never assigned
   * to `peerId` again; a recipient seed reported `corrupt` by a member that exchanged envelopes
   * with it or fetched from it leaves the room's pool for good (`evicted`); the sharer never
   * leaves its own room's pool. `refused`: the other way round, `peerId` (the sharer or a
   * seed) refuses `source`, and is never assigned to it again.
   */
  report(
    roomId: string,
    peerId: string,
    source: string,
    reason: Report['reason'],
  ): Promise<{ evicted: boolean; update: SwarmUpdate } | null> {
    return this.#update(
      roomId,
      peerId,
      (swarm, room, clock) =>
        steps.report(
          swarm,
          peerId,
          source,
          {
            reason,
            linked: room.linkedWith(source) || steps.sourcesOf(swarm, peerId).includes(source),
            member: room.has(source),
          },
          clock,
        ),
      (result) => result.update,
    );
  }

  /**
   * Takes a member out of its room with everything the swarm held of it (pool place, what it
   * served and fetched, queue place, its bans): its slots go to the queue at once.
   */
  async leave(roomId: string, peerId: string): Promise<MemberRemoval<SwarmUpdate> | null> {
    const removal = await this.store.removeMember(roomId, peerId, (swarm) =>
      steps.leave(swarm, peerId, this.#clock()),
    );
    if (removal) this.#schedule(roomId, removal.result.nextExpiry);
    return removal;
  }

  /** Ends the room's leases that are due; what the timer runs. */
  async expire(roomId: string): Promise<SwarmUpdate | null> {
    const update = await this.store.tendSwarm(roomId, (swarm) =>
      steps.expire(swarm, this.#clock()),
    );
    if (update) this.#schedule(roomId, update.nextExpiry);
    return update;
  }

  /** The room's swarm counts. */
  stats(roomId: string): Promise<SwarmStats | null> {
    return this.store.readSwarm(roomId, steps.swarmStats);
  }

  /** A copy of the room's whole swarm state, for tests and diagnostics. */
  inspect(roomId: string): Promise<SwarmState | null> {
    return this.store.readSwarm(roomId, (swarm) => structuredClone(swarm));
  }

  /** The room closed: its budget and timer go. */
  forget(roomId: string): void {
    this.#budgets.delete(roomId);
    const timer = this.#timers.get(roomId);
    if (timer) clearTimeout(timer.timer);
    this.#timers.delete(roomId);
  }

  /** Stops every timer (the service is closing). */
  close(): void {
    for (const roomId of [...this.#timers.keys()]) this.forget(roomId);
    this.#budgets.clear();
  }

  #clock(): StepClock {
    return { now: this.#now(), leaseMs: this.#leaseMs };
  }

  /** Runs a member's step and keeps the room's lease timer in step with what it left. */
  async #update<T>(
    roomId: string,
    peerId: string,
    run: (swarm: SwarmState, room: SwarmRoom, clock: StepClock) => T,
    updateOf: (result: T) => SwarmUpdate = (result) => result as SwarmUpdate,
  ): Promise<T | null> {
    const result = await this.store.updateSwarm(roomId, peerId, (swarm, room) =>
      run(swarm, room, this.#clock()),
    );
    if (result !== null) this.#schedule(roomId, updateOf(result).nextExpiry);
    return result;
  }

  /** One timer per room, set for its earliest lease deadline. */
  #schedule(roomId: string, at: number | null): void {
    if (at === null) return;
    const current = this.#timers.get(roomId);
    if (current && current.at <= at) return;
    if (current) clearTimeout(current.timer);
    const delay = Math.min(Math.max(at - this.#now(), 0), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.#timers.delete(roomId);
      this.expire(roomId).then(
        (update) => {
          if (update) this.onExpired?.(roomId, update);
        },
        () => {
          // The store failed; the next step of the room ends what is due.
        },
      );
    }, delay);
    // A lease must not keep a closing process alive.
    timer.unref();
    this.#timers.set(roomId, { at, timer });
  }
}
