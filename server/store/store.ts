/**
 * Room state behind one asynchronous interface, so the in-memory store (the default) and a Redis
 * store (for several processes) are interchangeable and pass the same test suite. The store knows
 * rooms, their members, who exchanged envelopes with whom and each room's swarm (seed pool,
 * assignments, queue, bans); it knows nothing of sockets. Every method is one atomic step on one
 * room, and the swarm methods say what changed so the caller can tell the sockets.
 */
import type { SeedStatus, SwarmStats } from '../../protocol/index.js';
import type { SourcesOutcome, SwarmState, SwarmUpdate } from '../swarm.js';

export type { SourcesOutcome, SwarmState, SwarmUpdate } from '../swarm.js';

export type Role = 'sharer' | 'recipient';

export interface RoomRecord {
  /** 128-bit random, base64url: what the link names. */
  id: string;
  /** 256-bit random, base64url: proves the sharer when it joins or stops sharing. */
  sharerToken: string;
  /** The file metadata sealed with the link key; opaque to the service. */
  meta: string;
  /**
   * For a password room, the slow salted hash of its `passwordAuth` (see server/password.ts);
   * null when anyone with the link may join.
   */
  passwordHash: string | null;
  createdAt: number;
  /**
   * When the room dies: `createdAt + maxAge` while the sharer is online or a recipient seeds,
   * otherwise the grace period after the last of them left (or after creation, if nobody ever
   * served), never past max age.
   */
  expiresAt: number;
  /** The sharer's peer id while its socket is connected, else null. */
  sharerPeerId: string | null;
}

export interface Member {
  peerId: string;
  role: Role;
}

export type AddMemberResult = 'ok' | 'room-not-found' | 'full';

export interface MemberRemoval {
  /** The peers to tell it left. */
  partners: string[];
  /** What its leaving did to the swarm; null when it was no member of a live room. */
  update: SwarmUpdate | null;
}

export interface SourcesQuery {
  /** Peers not to assign (the requester talks to them already, or gave up on them). */
  exclude: readonly string[];
  /** Most sources wanted in total, counting those assigned before. */
  max?: number;
}

export interface RoomStoreOptions {
  roomGraceMs: number;
  roomMaxAgeMs: number;
  /** The clock, injectable so expiry can be tested without waiting. */
  now?: () => number;
}

/**
 * Every method treats an expired room as absent, even before `sweep` has removed it. Methods on
 * an absent room are no-ops that report absence; none throws for it.
 */
export interface RoomStore {
  /** Creates a room with fresh random id and sharer token. */
  createRoom(meta: string, options?: { passwordHash?: string }): Promise<RoomRecord>;
  getRoom(roomId: string): Promise<RoomRecord | null>;
  /** Removes a room with its members; false when there was none. */
  deleteRoom(roomId: string): Promise<boolean>;
  /** The sharer's socket joined: the room now lives until its maximum age. */
  setSharerOnline(roomId: string, peerId: string): Promise<boolean>;
  /**
   * The sharer's socket left: the grace period starts unless a recipient seed remains (then it
   * starts when the last one leaves the pool). Ignored unless `peerId` is the sharer.
   */
  setSharerOffline(roomId: string, peerId: string): Promise<void>;
  /** Adds a member unless the room already holds `limit` members (atomic, for scale-out). */
  addMember(roomId: string, member: Member, limit: number): Promise<AddMemberResult>;
  getMember(roomId: string, peerId: string): Promise<Member | null>;
  listMembers(roomId: string): Promise<Member[]>;
  /**
   * Removes a member with everything the swarm held of it (pool place, what it served and
   * fetched, queue place, bans by and of it): its slots go to the queue at once.
   */
  removeMember(roomId: string, peerId: string): Promise<MemberRemoval>;
  /** Records that two members exchanged envelopes, so each hears when the other leaves. */
  addPartners(roomId: string, a: string, b: string): Promise<void>;

  // ---- The swarm. Each returns null when the room is gone or `peerId` is no member of it. ----

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
  ): Promise<SwarmUpdate | null>;
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
  ): Promise<{ outcome: SourcesOutcome; update: SwarmUpdate } | null>;
  /** Ends one assignment of `peerId`; its slot goes to the queue. Unknown pairs change nothing. */
  releaseSource(roomId: string, peerId: string, source: string): Promise<SwarmUpdate | null>;
  /**
   * Ends the assignment and never assigns `source` to `peerId` again. A recipient seed reported
   * `corrupt` by a member that exchanged envelopes with it or fetched from it leaves the room's
   * pool for good (`evicted`); the sharer never leaves its own room's pool.
   */
  reportSource(
    roomId: string,
    peerId: string,
    source: string,
    reason: 'corrupt' | 'misbehaved',
  ): Promise<{ evicted: boolean; update: SwarmUpdate } | null>;
  /** The room's swarm counts, or null for a room that is gone. */
  swarmStats(roomId: string): Promise<SwarmStats | null>;
  /** A copy of the room's whole swarm state, for tests and diagnostics. */
  inspectSwarm(roomId: string): Promise<SwarmState | null>;

  /** Removes expired rooms and returns their ids, so their sockets can be told. */
  sweep(): Promise<string[]>;
  countRooms(): Promise<number>;
  close(): Promise<void>;
}
