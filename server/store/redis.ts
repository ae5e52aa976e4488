/**
 * The room store for several processes: every room lives in Redis (two hashes with a TTL, see
 * ./redis-scripts.ts), and every change is one Lua script, so processes sharing a Redis never see
 * or make a half-done change. Expiry follows the injected clock like the memory store's; the keys'
 * TTLs only reclaim rooms no process swept. Redis Cluster is not supported (the scripts touch
 * shared sorted sets beside each room's keys).
 *
 * A swarm step is JavaScript (server/swarm/steps.ts), so it runs here, between a read and an
 * optimistic compare-and-set: the read takes the room's swarm and a version tag, the step runs on
 * the parsed state, and a script writes the result only if the tag is unchanged, else the step
 * runs again on fresh state. That suits one shared connection, where WATCH/MULTI would need a
 * connection per concurrent transaction (WATCH is per connection), and a script also keeps the
 * room's expiry and the lease-due set in step with the write.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { randomId } from '../../protocol/index.js';
import { emptySwarm, hasRecipientSeed, type SwarmState } from '../swarm/state.js';
import { RedisLiveness } from './redis-liveness.js';
import { CLAIM_DUE, ROOM_SCRIPTS, SWEEP } from './redis-scripts.js';
import type {
  AddMemberResult,
  CreateRoomOptions,
  Member,
  MemberRemoval,
  Role,
  RoomRecord,
  RoomStore,
  RoomStoreOptions,
  SwarmRoom,
} from './store.js';
import { freshRoom, roomIdFor, SHARER_SOCKETS, StoreUnavailable } from './store.js';

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

/** How long a room's keys outlive its expiry, so a sweep on any process still finds them. */
const TTL_MARGIN_MS = 60_000;
/** Times a swarm step runs before a room too busy to write it in turn fails the call. */
const MAX_ATTEMPTS = 100;
/** Rooms one script sweeps or claims at a time. */
const BATCH = 100;

const ROOM_FIELDS = ['token', 'meta', 'hash', 'created', 'expires', 'sharer'] as const;

type Script = keyof typeof ROOM_SCRIPTS;

export class RedisRoomStore implements RoomStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #graceMs: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #readyTimeoutMs: number;
  readonly #emptySwarm = JSON.stringify(emptySwarm());
  /** Each room's latest swarm step from this process, which the next one waits for. */
  readonly #stepping = new Map<string, Promise<void>>();
  readonly liveness: RedisLiveness;

  constructor(options: RedisRoomStoreOptions) {
    this.#redis = options.client;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#graceMs = options.roomGraceMs;
    this.#maxAgeMs = options.roomMaxAgeMs;
    this.#now = options.now ?? Date.now;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 1_000;
    this.liveness = new RedisLiveness({
      prefix: this.#prefix,
      script: (lua, keys, args) => this.#script(lua, keys, args),
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
    const made = await this.#room('restore', id, now, [
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
    const [token, meta, hash, created, expires, sharer] = await this.#call(() =>
      this.#redis.hmget(this.#key('room', roomId), ...ROOM_FIELDS),
    );
    if (token === null || !this.#live(expires)) return null;
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
    return (await this.#room('delete', roomId, this.#now(), [])) === 1;
  }

  async setSharerOnline(roomId: string, peerId: string): Promise<boolean> {
    return (await this.#room('sharerOnline', roomId, this.#now(), [peerId])) === 1;
  }

  async setSharerOffline(roomId: string, peerId: string): Promise<void> {
    await this.#room('sharerOffline', roomId, this.#now(), [peerId]);
  }

  async addMember(
    roomId: string,
    member: Member,
    limit: number,
    perAddress?: number,
  ): Promise<AddMemberResult> {
    return (await this.#room('addMember', roomId, this.#now(), [
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
    const [expires, entry] = await this.#read(roomId, (m) =>
      m.hget(this.#key('peers', roomId), `m:${peerId}`),
    );
    return this.#live(expires) && typeof entry === 'string' ? parseMember(peerId, entry) : null;
  }

  async listMembers(roomId: string): Promise<Member[]> {
    const [expires, peers] = await this.#read(roomId, (m) => m.hgetall(this.#key('peers', roomId)));
    if (!this.#live(expires)) return [];
    return membersOf(peers as Record<string, string>);
  }

  async removeMember<T>(
    roomId: string,
    peerId: string,
    leave: (swarm: SwarmState) => T,
  ): Promise<MemberRemoval<T> | null> {
    return this.#step(roomId, peerId, true, (swarm) => leave(swarm));
  }

  async addPartners(roomId: string, a: string, b: string): Promise<void> {
    await this.#room('addPartners', roomId, this.#now(), [a, b, version()]);
  }

  async updateSwarm<T>(
    roomId: string,
    peerId: string,
    step: (swarm: SwarmState, room: SwarmRoom) => T,
  ): Promise<T | null> {
    const done = await this.#step(roomId, peerId, false, step);
    return done && done.result;
  }

  async tendSwarm<T>(roomId: string, step: (swarm: SwarmState) => T): Promise<T | null> {
    const done = await this.#step(roomId, null, false, step);
    return done && done.result;
  }

  async readSwarm<T>(roomId: string, read: (swarm: Readonly<SwarmState>) => T): Promise<T | null> {
    const [expires, swarm] = await this.#read(roomId, (m) =>
      m.hget(this.#key('room', roomId), 'swarm'),
    );
    if (!this.#live(expires) || typeof swarm !== 'string') return null;
    return read(JSON.parse(swarm) as SwarmState);
  }

  async sweep(): Promise<string[]> {
    const expired: string[] = [];
    for (;;) {
      const batch = (await this.#script(
        SWEEP,
        [this.#key('expiries'), this.#key('swarm-due')],
        [this.#prefix, this.#now(), BATCH],
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
    return (await this.#script(
      CLAIM_DUE,
      [this.#key('swarm-due')],
      [now, now + claimMs, BATCH],
    )) as string[];
  }

  async countRooms(): Promise<number> {
    return this.#call(() => this.#redis.zcount(this.#key('expiries'), `(${this.#now()}`, '+inf'));
  }

  async ready(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#readyTimeoutMs);
    });
    try {
      const pong = this.#redis.ping().then(
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

  /**
   * Runs a swarm step with optimistic concurrency: read the swarm, the room's members and the
   * version, run the step on that, write only if the version did not move, else again. With
   * `leave`, `peerId` leaves the room in the same write.
   */
  async #step<T>(
    roomId: string,
    peerId: string | null,
    leave: boolean,
    step: (swarm: SwarmState, room: SwarmRoom) => T,
  ): Promise<MemberRemoval<T> | null> {
    // One step per room at a time from this process: conflicts then come only from other
    // processes, and a busy room does not make its own steps retry each other.
    const previous = this.#stepping.get(roomId) ?? Promise.resolve();
    const run = previous.then(() => this.#attempt(roomId, peerId, leave, step));
    const tail = run.then(
      () => {},
      () => {},
    );
    this.#stepping.set(roomId, tail);
    void tail.then(() => {
      if (this.#stepping.get(roomId) === tail) this.#stepping.delete(roomId);
    });
    return run;
  }

  async #attempt<T>(
    roomId: string,
    peerId: string | null,
    leave: boolean,
    step: (swarm: SwarmState, room: SwarmRoom) => T,
  ): Promise<MemberRemoval<T> | null> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.#now();
      const [expires, fields, peers] = await this.#read(roomId, (m) =>
        m.hmget(this.#key('room', roomId), 'swarm', 'ver').hgetall(this.#key('peers', roomId)),
      );
      const [swarmJson, ver] = fields as (string | null)[];
      if (!this.#live(expires) || swarmJson === null || ver === null) return null;
      const peerMap = peers as Record<string, string>;
      let room: SwarmRoom | undefined;
      if (peerId !== null) {
        const entry = peerMap[`m:${peerId}`];
        if (entry === undefined) return null;
        const partners = new Set((peerMap[`p:${peerId}`] ?? '').split(' '));
        room = {
          member: parseMember(peerId, entry),
          has: (other) => `m:${other}` in peerMap,
          linkedWith: (other) => partners.has(other),
        };
      }
      const swarm = JSON.parse(swarmJson) as SwarmState;
      const before = hasRecipientSeed(swarm);
      const result = step(swarm, room as SwarmRoom);
      const written = (await this.#room('writeSwarm', roomId, now, [
        ver,
        version(),
        JSON.stringify(swarm),
        flag(before),
        flag(hasRecipientSeed(swarm)),
        swarm.nextExpiry ?? '',
        leave && peerId !== null ? peerId : '',
      ])) as [number, string[]?];
      if (written[0] === -1) return null;
      if (written[0] === 1) return { partners: written[1] ?? [], result };
    }
    throw new Error(`swarm step on a room kept conflicting after ${MAX_ATTEMPTS} attempts`);
  }

  /** The room's expiry and what `more` reads, in one transaction. */
  async #read(
    roomId: string,
    more: (m: ReturnType<Redis['multi']>) => ReturnType<Redis['multi']>,
  ): Promise<[string | null, ...unknown[]]> {
    const replies = await this.#call(() =>
      more(this.#redis.multi().hget(this.#key('room', roomId), 'expires')).exec(),
    );
    if (!replies) throw new StoreUnavailable('Redis discarded a transaction');
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [string | null, ...unknown[]];
  }

  #room(script: Script, roomId: string, now: number, args: (string | number)[]): Promise<unknown> {
    return this.#script(
      ROOM_SCRIPTS[script],
      [
        this.#key('room', roomId),
        this.#key('peers', roomId),
        this.#key('expiries'),
        this.#key('swarm-due'),
        this.#prefix,
      ],
      [roomId, now, this.#graceMs, this.#maxAgeMs, TTL_MARGIN_MS, ...args],
    );
  }

  /** Runs a script by its hash, loading it first where Redis does not know it (after a restart). */
  #script(lua: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const sha = sha1(lua);
    return this.#call(async () => {
      try {
        return await this.#redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return this.#redis.eval(lua, keys.length, ...keys, ...args);
      }
    });
  }

  /** Runs a Redis call; a failure to reach Redis becomes `StoreUnavailable`. */
  async #call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      // A ReplyError is Redis refusing a command (a bug here), not Redis being away.
      if (err instanceof Error && err.name === 'ReplyError') throw err;
      throw new StoreUnavailable('Redis is unreachable', { cause: err });
    }
  }

  #live(expires: string | null | undefined): boolean {
    return typeof expires === 'string' && Number(expires) > this.#now();
  }

  #key(kind: 'room' | 'peers' | 'expiries' | 'swarm-due', roomId?: string): string {
    return roomId === undefined ? `${this.#prefix}${kind}` : `${this.#prefix}${kind}:${roomId}`;
  }
}

const shas = new Map<string, string>();
function sha1(lua: string): string {
  let sha = shas.get(lua);
  if (!sha) shas.set(lua, (sha = createHash('sha1').update(lua).digest('hex')));
  return sha;
}

/** A fresh version tag: random, so a room made again under the same id never repeats one. */
function version(): string {
  return randomId(12);
}

function flag(value: boolean): string {
  return value ? '1' : '0';
}

/** `role` or `role address`, as ./redis-scripts.ts stores a member. */
function parseMember(peerId: string, entry: string): Member {
  const space = entry.indexOf(' ');
  if (space < 0) return { peerId, role: entry as Role };
  return { peerId, role: entry.slice(0, space) as Role, address: entry.slice(space + 1) };
}

function membersOf(peers: Record<string, string>): Member[] {
  return Object.entries(peers)
    .filter(([field]) => field.startsWith('m:'))
    .map(([field, entry]) => parseMember(field.slice(2), entry));
}
