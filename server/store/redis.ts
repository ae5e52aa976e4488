/**
 * The room store for several processes: every room lives in Redis (two hashes with a TTL, see
 * ./redis-scripts.ts), and every change is one Lua script, so processes sharing a Redis never see
 * or make a half-done change. Expiry follows the injected clock like the memory store's; the keys'
 * TTLs only reclaim rooms no process swept. Redis Cluster is not supported (the scripts touch
 * shared sorted sets beside each room's keys). Swarm steps, which run here between a read and an
 * optimistic compare-and-set, are ./redis-swarm.ts's; how the store reaches Redis is
 * ./redis-access.ts's.
 */
import type { Redis } from 'ioredis';
import { emptySwarm, type SwarmState } from '../swarm/state.js';
import { membersOf, parseMember, RedisAccess, TTL_MARGIN_MS, version } from './redis-access.js';
import { RedisLiveness } from './redis-liveness.js';
import { CLAIM_DUE, SWEEP } from './redis-scripts.js';
import { RedisSwarmSteps } from './redis-swarm.js';
import type {
  AddMemberResult,
  CreateRoomOptions,
  Member,
  MemberRemoval,
  RoomRecord,
  RoomStore,
  RoomStoreOptions,
  SwarmRoom,
} from './store.js';
import { freshRoom, roomIdFor, SHARER_SOCKETS } from './store.js';

export interface RedisRoomStoreOptions extends RoomStoreOptions {
  /** The service's connection (see server/redis.ts); the store does not close it. */
  client: Redis;
  /** Put before every key, so one Redis can hold several services (or tests) apart. */
  prefix?: string;
  /** How long `ready()` waits for Redis to answer. */
  readyTimeoutMs?: number;
  /** This process's id in Redis (see ./redis-liveness.ts); random by default. */
  processId?: string;
  /** How often this process renews its heartbeat (2 s by default). */
  heartbeatMs?: number;
  /** How long a heartbeat lasts unrenewed before others clean up after it (8 s by default). */
  heartbeatTtlMs?: number;
}

export const DEFAULT_PREFIX = 'p2p-share:';

/** Rooms one script sweeps or claims at a time. */
const BATCH = 100;

const ROOM_FIELDS = ['token', 'meta', 'hash', 'created', 'expires', 'sharer'] as const;

export class RedisRoomStore implements RoomStore {
  readonly #redis: RedisAccess;
  readonly #steps: RedisSwarmSteps;
  readonly #graceMs: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #readyTimeoutMs: number;
  readonly #emptySwarm = JSON.stringify(emptySwarm());
  readonly liveness: RedisLiveness;

  constructor(options: RedisRoomStoreOptions) {
    this.#graceMs = options.roomGraceMs;
    this.#maxAgeMs = options.roomMaxAgeMs;
    this.#now = options.now ?? Date.now;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 1_000;
    this.#redis = new RedisAccess({
      client: options.client,
      prefix: options.prefix ?? DEFAULT_PREFIX,
      roomGraceMs: this.#graceMs,
      roomMaxAgeMs: this.#maxAgeMs,
      now: this.#now,
    });
    this.#steps = new RedisSwarmSteps(this.#redis);
    this.liveness = new RedisLiveness({
      prefix: this.#redis.prefix,
      script: (lua, keys, args) => this.#redis.script(lua, keys, args),
      now: this.#now,
      keepMs: this.#maxAgeMs + TTL_MARGIN_MS,
      processId: options.processId,
      intervalMs: options.heartbeatMs,
      ttlMs: options.heartbeatTtlMs,
    });
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
    const now = this.#now();
    const made = await this.#redis.room('restore', id, now, [
      sharerToken,
      meta,
      options.passwordHash ?? '',
      this.#emptySwarm,
      version(),
    ]);
    if (made !== 1) return null;
    return {
      id,
      sharerToken,
      meta,
      passwordHash: options.passwordHash ?? null,
      createdAt: now,
      expiresAt: now + Math.min(this.#graceMs, this.#maxAgeMs),
      sharerPeerId: null,
    };
  }

  async getRoom(roomId: string): Promise<RoomRecord | null> {
    const [token, meta, hash, created, expires, sharer] = await this.#redis.call(() =>
      this.#redis.client.hmget(this.#redis.key('room', roomId), ...ROOM_FIELDS),
    );
    if (token === null || !this.#redis.live(expires)) return null;
    return {
      id: roomId,
      sharerToken: token,
      meta: meta ?? '',
      passwordHash: hash || null,
      createdAt: Number(created),
      expiresAt: Number(expires),
      sharerPeerId: sharer || null,
    };
  }

  async deleteRoom(roomId: string): Promise<boolean> {
    return (await this.#redis.room('delete', roomId, this.#now(), [])) === 1;
  }

  async setSharerOnline(roomId: string, peerId: string): Promise<boolean> {
    return (await this.#redis.room('sharerOnline', roomId, this.#now(), [peerId])) === 1;
  }

  async setSharerOffline(roomId: string, peerId: string): Promise<void> {
    await this.#redis.room('sharerOffline', roomId, this.#now(), [peerId]);
  }

  async addMember(
    roomId: string,
    member: Member,
    limit: number,
    perAddress?: number,
  ): Promise<AddMemberResult> {
    return (await this.#redis.room('addMember', roomId, this.#now(), [
      member.peerId,
      member.role,
      member.address ?? '',
      limit,
      perAddress ?? -1,
      SHARER_SOCKETS,
      version(),
      this.liveness.processId,
      this.liveness.ttlMs,
    ])) as AddMemberResult;
  }

  async getMember(roomId: string, peerId: string): Promise<Member | null> {
    const [expires, entry] = await this.#redis.read(roomId, (m) =>
      m.hget(this.#redis.key('peers', roomId), `m:${peerId}`),
    );
    return this.#redis.live(expires) && typeof entry === 'string'
      ? parseMember(peerId, entry)
      : null;
  }

  async listMembers(roomId: string): Promise<Member[]> {
    const [expires, peers] = await this.#redis.read(roomId, (m) =>
      m.hgetall(this.#redis.key('peers', roomId)),
    );
    if (!this.#redis.live(expires)) return [];
    return membersOf(peers as Record<string, string>);
  }

  async removeMember<T>(
    roomId: string,
    peerId: string,
    leave: (swarm: SwarmState) => T,
  ): Promise<MemberRemoval<T> | null> {
    return this.#steps.run(roomId, peerId, true, (swarm) => leave(swarm));
  }

  async addPartners(roomId: string, a: string, b: string): Promise<void> {
    await this.#redis.room('addPartners', roomId, this.#now(), [a, b, version()]);
  }

  async updateSwarm<T>(
    roomId: string,
    peerId: string,
    step: (swarm: SwarmState, room: SwarmRoom) => T,
  ): Promise<T | null> {
    const done = await this.#steps.run(roomId, peerId, false, step);
    return done && done.result;
  }

  async tendSwarm<T>(roomId: string, step: (swarm: SwarmState) => T): Promise<T | null> {
    const done = await this.#steps.run(roomId, null, false, step);
    return done && done.result;
  }

  async readSwarm<T>(roomId: string, read: (swarm: Readonly<SwarmState>) => T): Promise<T | null> {
    const [expires, swarm] = await this.#redis.read(roomId, (m) =>
      m.hget(this.#redis.key('room', roomId), 'swarm'),
    );
    if (!this.#redis.live(expires) || typeof swarm !== 'string') return null;
    return read(JSON.parse(swarm) as SwarmState);
  }

  async sweep(): Promise<string[]> {
    const expired: string[] = [];
    for (;;) {
      const batch = (await this.#redis.script(
        SWEEP,
        [this.#redis.key('expiries'), this.#redis.key('swarm-due')],
        [this.#redis.prefix, this.#now(), BATCH],
      )) as string[];
      expired.push(...batch);
      if (batch.length < BATCH) return expired;
    }
  }

  /**
   * Rooms with a lease due now that no process has tended, each claimed for `claimMs` (another
   * process takes it after that, should this one not tend it). A lease's own process ends it on
   * a timer; this finds those whose process is gone.
   */
  async claimDueSwarms(claimMs: number): Promise<string[]> {
    const now = this.#now();
    return (await this.#redis.script(
      CLAIM_DUE,
      [this.#redis.key('swarm-due')],
      [now, now + claimMs, BATCH],
    )) as string[];
  }

  async countRooms(): Promise<number> {
    return this.#redis.call(() =>
      this.#redis.client.zcount(this.#redis.key('expiries'), `(${this.#now()}`, '+inf'),
    );
  }

  async ready(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#readyTimeoutMs);
    });
    try {
      const pong = this.#redis.client.ping().then(
        (reply) => reply === 'PONG',
        () => false,
      );
      return await Promise.race([pong, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    // The connection is the service's: it closes it after everything that uses it.
  }
}
