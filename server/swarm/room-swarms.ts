/**
 * The swarm of every room, run over any `RoomStore`: each operation is one of the steps in
 * ./steps.ts, taken atomically through the store with what it needs to know of the room (the
 * member's role, its partners, who is a member). Stores keep state only, so a Redis store gets
 * the same rules without hosting them; the sockets side calls this and tells the sockets what an
 * update says.
 */
import type { SeedStatus, SwarmStats } from '../../protocol/index.js';
import type { MemberRemoval, RoomStore } from '../store/store.js';
import type { SwarmState } from './state.js';
import * as steps from './steps.js';
import type { SourcesOutcome, SwarmUpdate } from './steps.js';

export type { SwarmUpdate } from './steps.js';

export interface SourcesQuery {
  /** Peers not to assign (the requester talks to them already, or gave up on them). */
  exclude: readonly string[];
  /** Most sources wanted in total, counting those assigned before. */
  max?: number;
}

/** Each method returns null when the room is gone or `peerId` is no member of it. */
export class RoomSwarms {
  constructor(private readonly store: RoomStore) {}

  /**
   * A member says what it holds: seeding with some or all of the file puts it in the pool with
   * `capacity` (a recipient evicted as corrupt stays out); otherwise it leaves the pool and what
   * it served ends. Having it all ends its own downloads and counts a recipient as finished,
   * once. The sharer is put in the pool this way when it joins.
   */
  setSeed(
    roomId: string,
    peerId: string,
    status: SeedStatus,
    capacity: number,
  ): Promise<SwarmUpdate | null> {
    return this.store.updateSwarm(roomId, peerId, (swarm, room) =>
      steps.setSeed(swarm, { peerId, sharer: room.member.role === 'sharer' }, status, capacity),
    );
  }

  /**
   * Assigns free seeds to a member, least-loaded first (then whole-file seeds, then partial
   * ones, then the sharer), never past a seed's capacity, never itself, excluded or banned
   * peers, up to `min(query.max, limit)` counting those it has. With none held and none free it
   * queues (once; asking again keeps its place); with nobody in the pool but excluded and banned
   * peers it is `no-sources` (and leaves the queue).
   */
  requestSources(
    roomId: string,
    peerId: string,
    query: SourcesQuery,
    limit: number,
  ): Promise<{ outcome: SourcesOutcome; update: SwarmUpdate } | null> {
    const max = Math.min(query.max ?? limit, limit);
    return this.store.updateSwarm(roomId, peerId, (swarm) =>
      steps.requestSources(swarm, peerId, { exclude: query.exclude, max }),
    );
  }

  /** Ends one assignment of `peerId`; its slot goes to the queue. Unknown pairs change nothing. */
  release(roomId: string, peerId: string, source: string): Promise<SwarmUpdate | null> {
    return this.store.updateSwarm(roomId, peerId, (swarm) => steps.release(swarm, peerId, source));
  }

  /**
   * Ends the assignment and never assigns `source` to `peerId` again. A recipient seed reported
   * `corrupt` by a member that exchanged envelopes with it or fetched from it leaves the room's
   * pool for good (`evicted`); the sharer never leaves its own room's pool.
   */
  report(
    roomId: string,
    peerId: string,
    source: string,
    reason: 'corrupt' | 'misbehaved',
  ): Promise<{ evicted: boolean; update: SwarmUpdate } | null> {
    return this.store.updateSwarm(roomId, peerId, (swarm, room) =>
      steps.report(swarm, peerId, source, {
        corrupt: reason === 'corrupt',
        linked: room.linkedWith(source) || steps.sourcesOf(swarm, peerId).includes(source),
        member: room.has(source),
      }),
    );
  }

  /**
   * Takes a member out of its room with everything the swarm held of it (pool place, what it
   * served and fetched, queue place, bans by and of it): its slots go to the queue at once.
   */
  leave(roomId: string, peerId: string): Promise<MemberRemoval<SwarmUpdate> | null> {
    return this.store.removeMember(roomId, peerId, (swarm) => steps.leave(swarm, peerId));
  }

  /** The room's swarm counts. */
  stats(roomId: string): Promise<SwarmStats | null> {
    return this.store.readSwarm(roomId, steps.swarmStats);
  }

  /** A copy of the room's whole swarm state, for tests and diagnostics. */
  inspect(roomId: string): Promise<SwarmState | null> {
    return this.store.readSwarm(roomId, (swarm) => structuredClone(swarm));
  }
}
