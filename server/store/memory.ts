/**
 * The default room store: plain maps in this process, and each room's swarm as the plain data
 * that the swarm steps change (through `updateSwarm`, which runs them synchronously: atomic by
 * construction). Expiry is computed from the injected clock on every read, so an expired room is
 * gone for callers at once and `sweep` only frees memory and reports which rooms to announce as
 * closed.
 */
import { emptySwarm, hasRecipientSeed, type SwarmState } from '../swarm/state.js';
import type {
  AddMemberResult,
  CreateRoomOptions,
  Member,
  MemberRemoval,
  RoomRecord,
  RoomStore,
  RoomStoreOptions,
  SwarmRoom,
  SwarmTotals,
} from './store.js';
import { freshRoom, roomIdFor, SHARER_SOCKETS } from './store.js';

interface RoomState {
  record: RoomRecord;
  members: Map<string, Member>;
  partners: Map<string, Set<string>>;
  swarm: SwarmState;
}

export class MemoryRoomStore implements RoomStore {
  readonly #rooms = new Map<string, RoomState>();
  readonly #graceMs: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor({ roomGraceMs, roomMaxAgeMs, now = Date.now }: RoomStoreOptions) {
    this.#graceMs = roomGraceMs;
    this.#maxAgeMs = roomMaxAgeMs;
    this.#now = now;
  }

  createRoom(meta: string, options: CreateRoomOptions = {}): Promise<RoomRecord> {
    return freshRoom((token) => this.restoreRoom(token, meta, options));
  }

  async restoreRoom(
    sharerToken: string,
    meta: string,
    options: CreateRoomOptions = {},
  ): Promise<RoomRecord | null> {
    const id = roomIdFor(sharerToken);
    if (this.#live(id)) return null;
    const createdAt = this.#now();
    const record: RoomRecord = {
      id,
      sharerToken,
      meta,
      passwordHash: options.passwordHash ?? null,
      createdAt,
      expiresAt: createdAt + Math.min(this.#graceMs, this.#maxAgeMs),
      sharerPeerId: null,
    };
    this.#rooms.set(id, {
      record,
      members: new Map(),
      partners: new Map(),
      swarm: emptySwarm(),
    });
    return { ...record };
  }

  async getRoom(roomId: string): Promise<RoomRecord | null> {
    const state = this.#live(roomId);
    return state ? { ...state.record } : null;
  }

  async deleteRoom(roomId: string): Promise<boolean> {
    // An expired room stays for `sweep`, which reports it so its sockets hear it closed.
    if (!this.#live(roomId)) return false;
    return this.#rooms.delete(roomId);
  }

  async setSharerOnline(roomId: string, peerId: string): Promise<boolean> {
    const state = this.#live(roomId);
    if (!state) return false;
    state.record.sharerPeerId = peerId;
    state.record.expiresAt = state.record.createdAt + this.#maxAgeMs;
    return true;
  }

  async setSharerOffline(roomId: string, peerId: string): Promise<void> {
    const state = this.#live(roomId);
    if (!state || state.record.sharerPeerId !== peerId) return;
    this.#keepAlive(state, () => {
      state.record.sharerPeerId = null;
    });
  }

  async addMember(
    roomId: string,
    member: Member,
    limit: number,
    perAddress?: number,
  ): Promise<AddMemberResult> {
    const state = this.#live(roomId);
    if (!state) return 'room-not-found';
    if (state.members.has(member.peerId)) return 'ok';
    let sharers = 0;
    let fromAddress = 0;
    for (const other of state.members.values()) {
      if (other.role === 'sharer') sharers++;
      else if (member.address !== undefined && other.address === member.address) fromAddress++;
    }
    if (member.role === 'sharer') {
      if (sharers >= SHARER_SOCKETS) return 'full';
    } else {
      if (state.members.size - sharers >= limit - 1) return 'full';
      if (perAddress !== undefined && fromAddress >= perAddress) return 'address-full';
    }
    state.members.set(member.peerId, { ...member });
    return 'ok';
  }

  async getMember(roomId: string, peerId: string): Promise<Member | null> {
    const member = this.#live(roomId)?.members.get(peerId);
    return member ? { ...member } : null;
  }

  async listMembers(roomId: string): Promise<Member[]> {
    return [...(this.#live(roomId)?.members.values() ?? [])].map((m) => ({ ...m }));
  }

  async removeMember<T>(
    roomId: string,
    peerId: string,
    leave: (swarm: SwarmState) => T,
  ): Promise<MemberRemoval<T> | null> {
    const state = this.#live(roomId);
    if (!state || !state.members.delete(peerId)) return null;
    const partners = [...(state.partners.get(peerId) ?? [])];
    state.partners.delete(peerId);
    for (const other of partners) state.partners.get(other)?.delete(peerId);
    const result = this.#keepAlive(state, () => leave(state.swarm));
    return { partners, result };
  }

  async addPartners(roomId: string, a: string, b: string): Promise<void> {
    const state = this.#live(roomId);
    if (!state || a === b || !state.members.has(a) || !state.members.has(b)) return;
    const link = (x: string, y: string) => {
      let set = state.partners.get(x);
      if (!set) state.partners.set(x, (set = new Set()));
      set.add(y);
    };
    link(a, b);
    link(b, a);
  }

  async updateSwarm<T>(
    roomId: string,
    peerId: string,
    step: (swarm: SwarmState, room: SwarmRoom) => T,
  ): Promise<T | null> {
    const state = this.#live(roomId);
    const member = state?.members.get(peerId);
    if (!state || !member) return null;
    const room: SwarmRoom = {
      member: { ...member },
      has: (other) => state.members.has(other),
      linkedWith: (other) => state.partners.get(peerId)?.has(other) === true,
    };
    return this.#keepAlive(state, () => step(state.swarm, room));
  }

  async tendSwarm<T>(roomId: string, step: (swarm: SwarmState) => T): Promise<T | null> {
    const state = this.#live(roomId);
    return state ? this.#keepAlive(state, () => step(state.swarm)) : null;
  }

  async readSwarm<T>(roomId: string, read: (swarm: Readonly<SwarmState>) => T): Promise<T | null> {
    const state = this.#live(roomId);
    return state ? read(state.swarm) : null;
  }

  async sweep(): Promise<string[]> {
    const now = this.#now();
    const expired: string[] = [];
    for (const [id, state] of this.#rooms) {
      if (state.record.expiresAt <= now) {
        this.#rooms.delete(id);
        expired.push(id);
      }
    }
    return expired;
  }

  async countRooms(): Promise<number> {
    const now = this.#now();
    let count = 0;
    for (const state of this.#rooms.values()) if (state.record.expiresAt > now) count++;
    return count;
  }

  async swarmTotals(): Promise<SwarmTotals> {
    const now = this.#now();
    const totals = { seeds: 0, waiting: 0 };
    for (const { record, swarm } of this.#rooms.values()) {
      if (record.expiresAt <= now) continue;
      totals.seeds += swarm.seeds.length;
      totals.waiting += swarm.queue.length;
    }
    return totals;
  }

  async ready(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.#rooms.clear();
  }

  /**
   * Runs a change and keeps the room's expiry in step: a room someone serves (its sharer online,
   * or a recipient seed) lives to its maximum age; when the last of them goes, the grace period
   * starts.
   */
  #keepAlive<T>(state: RoomState, change: () => T): T {
    const served = () => state.record.sharerPeerId !== null || hasRecipientSeed(state.swarm);
    const before = served();
    const result = change();
    const after = served();
    const { record } = state;
    if (after) {
      record.expiresAt = record.createdAt + this.#maxAgeMs;
    } else if (before) {
      record.expiresAt = Math.min(this.#now() + this.#graceMs, record.createdAt + this.#maxAgeMs);
    }
    return result;
  }

  #live(roomId: string): RoomState | undefined {
    const state = this.#rooms.get(roomId);
    return state && state.record.expiresAt > this.#now() ? state : undefined;
  }
}
