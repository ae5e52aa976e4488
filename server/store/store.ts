/**
 * Room state behind one asynchronous interface, so the in-memory store (the default) and a Redis
 * store (for several processes) are interchangeable and pass the same test suite. The store knows
 * rooms, their members, who exchanged envelopes with whom and each room's swarm state; it knows
 * nothing of sockets, and nothing of the swarm's rules: those are server/swarm/steps.ts, which
 * server/swarm/room-swarms.ts runs through `updateSwarm` (and `removeMember` for a departure).
 * Every method is one atomic step on one
 * room.
 */
import { createHash } from 'node:crypto';
import { ID_BYTES, randomId } from '../../protocol/index.js';
import type { SwarmState } from '../swarm/state.js';

export type Role = 'sharer' | 'recipient';

/**
 * A room's id is the first 128 bits of the SHA-256 of its sharer token, base64url. The token is
 * the sharer's secret, so only the sharer can name a room it had: a sharer whose room a restart
 * lost restores it under the same id (and link) with `restoreRoom`, and no other holder of the
 * link can take the id over, without any state the service would have to keep.
 */
export function roomIdFor(sharerToken: string): string {
  return createHash('sha256')
    .update('p2p-share room id\0')
    .update(sharerToken)
    .digest()
    .subarray(0, ID_BYTES)
    .toString('base64url');
}

/**
 * A new room: `restore` under a fresh random 256-bit sharer token. Such tokens do not collide in
 * practice; the loop makes "never" exact.
 */
export async function freshRoom(
  restore: (sharerToken: string) => Promise<RoomRecord | null>,
): Promise<RoomRecord> {
  for (;;) {
    const room = await restore(randomId(32));
    if (room) return room;
  }
}

export interface CreateRoomOptions {
  /** The slow salted hash of the room's password (see server/password.ts). */
  passwordHash?: string;
}

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
  /** The client address it counts under (see server/address.ts's `rateKey`), if known. */
  address?: string;
}

export type AddMemberResult = 'ok' | 'room-not-found' | 'full' | 'address-full';

/** Sockets one sharer token may hold in its room at once: its own and one lingering. */
export const SHARER_SOCKETS = 2;

export interface MemberRemoval<T> {
  /** The peers to tell it left. */
  partners: string[];
  /** What the swarm step run for its leaving returned. */
  result: T;
}

/** What a swarm step may read of the room besides its swarm, as of the same atomic step. */
export interface SwarmRoom {
  /** The member the step is taken for. */
  member: Member;
  /** Whether `peerId` is a member of the room. */
  has(peerId: string): boolean;
  /** Whether the member exchanged envelopes with `peerId`. */
  linkedWith(peerId: string): boolean;
}

/** Seeds in the pools and recipients waiting in the queues of every live room. */
export interface SwarmTotals {
  seeds: number;
  waiting: number;
}

/** A member of a room whose process is gone (see `ProcessLiveness`). */
export interface Orphan {
  roomId: string;
  peerId: string;
  role: Role;
}

/**
 * A shared store: which of the processes sharing it are alive. Each renews a heartbeat that
 * expires unless renewed, and each member it adds names it, so the members of a process that
 * died (whose sockets are gone without a departure) can be taken out of their rooms by another.
 */
export interface ProcessLiveness {
  /** The id members added by this process carry. */
  readonly processId: string;
  /** How often `beat` is to be called. */
  readonly intervalMs: number;
  /** How long a heartbeat lasts: a process silent this long counts as gone. */
  readonly ttlMs: number;
  /**
   * Renews this process's heartbeat. False when it had lapsed and the process was given up (its
   * members taken out of their rooms): the process then beats under a new id, and its sockets
   * still in rooms must join again.
   */
  beat(): Promise<boolean>;
  /**
   * Members of processes whose heartbeat is gone, each such process claimed for `claimMs` so that
   * one live process takes them out of their rooms (through `removeMember`, which also forgets
   * them here); at most a batch at a time.
   */
  claimOrphans(claimMs: number): Promise<Orphan[]>;
  /** A clean exit: the heartbeat goes now rather than when its TTL ends. */
  retire(): Promise<void>;
}

export interface RoomStoreOptions {
  roomGraceMs: number;
  roomMaxAgeMs: number;
  /** The clock, injectable so expiry can be tested without waiting. */
  now?: () => number;
}

/** Makes a store: what the store and swarm test suites take, to run against every store. */
export type RoomStoreFactory = (options: RoomStoreOptions) => RoomStore | Promise<RoomStore>;

/**
 * Every method treats an expired room as absent, even before `sweep` has removed it. Methods on
 * an absent room are no-ops that report absence; none throws for it.
 */
export interface RoomStore {
  /** Creates a room with a fresh random sharer token and the id `roomIdFor` derives from it. */
  createRoom(meta: string, options?: CreateRoomOptions): Promise<RoomRecord>;
  /**
   * Creates the room `roomIdFor(sharerToken)` again, as new (fresh `createdAt`, no members, an
   * empty swarm), for a sharer whose room is gone; null, changing nothing, while it still lives.
   */
  restoreRoom(
    sharerToken: string,
    meta: string,
    options?: CreateRoomOptions,
  ): Promise<RoomRecord | null>;
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
  /**
   * Adds a member (atomic, for scale-out) unless the room is full: recipients may take `limit`
   * places less one, the place kept for the sharer, whose token always gets in (with a second
   * socket while its old one lingers, not more). With `perAddress`, a recipient whose `address`
   * already holds that many places is refused (`address-full`). Re-adding a member changes
   * nothing.
   */
  addMember(
    roomId: string,
    member: Member,
    limit: number,
    perAddress?: number,
  ): Promise<AddMemberResult>;
  getMember(roomId: string, peerId: string): Promise<Member | null>;
  listMembers(roomId: string): Promise<Member[]>;
  /**
   * Removes a member and its partner links, and runs `leave` on the room's swarm in the same
   * atomic step, so the swarm never names a peer that is no member. Null when it was no member
   * of a live room (and `leave` does not run).
   */
  removeMember<T>(
    roomId: string,
    peerId: string,
    leave: (swarm: SwarmState) => T,
  ): Promise<MemberRemoval<T> | null>;
  /** Records that two members exchanged envelopes, so each hears when the other leaves. */
  addPartners(roomId: string, a: string, b: string): Promise<void>;

  /**
   * Runs `step` on the room's swarm for one of its members as one atomic step, and returns what
   * it returned; null, without running it, when the room is gone or `peerId` is no member. `step`
   * changes the state in place, synchronously and with no other effect, so a shared store may
   * run it inside a transaction and run it again on a conflict. Afterwards the room's expiry
   * follows whether anyone still serves it (see `RoomRecord.expiresAt`).
   */
  updateSwarm<T>(
    roomId: string,
    peerId: string,
    step: (swarm: SwarmState, room: SwarmRoom) => T,
  ): Promise<T | null>;
  /**
   * Runs `step` on the room's swarm for the room itself (a lease that ran out while nobody
   * spoke), atomically as `updateSwarm` does; null, without running it, when the room is gone.
   */
  tendSwarm<T>(roomId: string, step: (swarm: SwarmState) => T): Promise<T | null>;
  /**
   * Runs `read` on the room's swarm state and returns what it returned; null for a room that is
   * gone. `read` must not change the state.
   */
  readSwarm<T>(roomId: string, read: (swarm: Readonly<SwarmState>) => T): Promise<T | null>;

  /** Removes expired rooms and returns their ids, so their sockets can be told. */
  sweep(): Promise<string[]>;
  countRooms(): Promise<number>;
  /**
   * For the metrics, read on each scrape: a store that cannot count these cheaply leaves it out
   * (and the metrics leave the two series out).
   */
  swarmTotals?(): Promise<SwarmTotals>;
  /** Whether the store can serve requests now (a shared store: whether it is reachable). */
  ready(): Promise<boolean>;
  /**
   * A shared store: rooms whose swarm has a lease due that no process has tended (its timer was
   * in a process that is gone), each claimed for `claimMs` so one process tends it. A store for
   * one process leaves this out: its `RoomSwarms` timers see every lease.
   */
  claimDueSwarms?(claimMs: number): Promise<string[]>;
  /** A shared store: the liveness of the processes sharing it. One process's store has none. */
  readonly liveness?: ProcessLiveness;
  close(): Promise<void>;
}

/**
 * A shared store cannot reach its backing service now (Redis is down or cut off): the request may
 * succeed once it is back, and the service answers `service-unavailable` meanwhile.
 */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';
}

/** What a client told `service-unavailable` waits before it tries again. */
export const UNAVAILABLE_RETRY_MS = 2_000;
export const UNAVAILABLE_MESSAGE =
  'The service cannot reach its shared state right now; try again shortly.';
