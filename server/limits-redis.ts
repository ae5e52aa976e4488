/**
 * The shared limits in Redis, for several processes behind one balancer: each window counter is a
 * key with a TTL, each address's live rooms a sorted set. Every check is one Lua script, so it is
 * one round trip and atomic however many processes ask at once. Redis never holds a client
 * address: keys carry an HMAC of it under the service's secret. While Redis is away every call
 * rejects at once (see ./redis.ts), and callers refuse the request.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LiveRooms, RoomPlace, SharedLimits } from './budget.js';
import type { Verdict, WindowLimiter, WindowLimits } from './limits.js';

export interface RedisLimitsOptions {
  redis: Redis;
  /** Hashes the keys (TOKEN_SECRET); every process sharing the counters needs the same one. */
  secret: string;
  /** A room lives this long at most, so its place in its address's live rooms is kept no longer. */
  roomMaxAgeMs: number;
  /** Starts every key; tests give each case its own. */
  prefix?: string;
  /** The clock of the live rooms' entries (windows run on Redis's own clock). */
  now?: () => number;
}

/** How long a creation may hold its address's place before it settles (hashing included). */
const PENDING_MS = 60_000;
/** Live-room entries of creations still running start with this; room ids never do. */
const PENDING = 'pending:';

/**
 * One hit: counted only when it is within the limit (a refused one is taken back at once), and
 * the first hit of a window sets its expiry. Answers the count with this hit and the window's
 * remaining milliseconds. A counter found without an expiry gets one, so none outlives a window.
 */
const WINDOW_HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if count > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) end
return {count, ttl}`;

/** Takes one hit back, never below zero and never from a window that has ended. */
const WINDOW_REFUND = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 0`;

/**
 * ARGV: now, limit, the pending entry, its expiry. Drops entries past their expiry, then either
 * adds the pending entry (answering an empty list) or, at the limit, answers the entries held.
 * The key lives as long as its longest-lived entry.
 */
const LIVE_ADMIT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return redis.call('ZRANGE', KEYS[1], 0, -1)
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
local ttl = tonumber(ARGV[4]) - tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return {}`;

/**
 * KEYS[1]: the room's owner record, naming its address's set (a key the script reads from a
 * value: fine on one Redis, not on a cluster). ARGV[1]: the room id.
 */
const LIVE_FORGET = `
local set = redis.call('GET', KEYS[1])
if set then
  redis.call('ZREM', set, ARGV[1])
  redis.call('DEL', KEYS[1])
end
return 0`;

interface LimitCommands {
  p2pWindowHit(key: string, limit: number, windowMs: number): Promise<[number, number]>;
  p2pWindowRefund(key: string): Promise<number>;
  p2pLiveAdmit(
    key: string,
    now: number,
    limit: number,
    pending: string,
    expiry: number,
  ): Promise<string[]>;
  p2pLiveForget(ownerKey: string, roomId: string): Promise<number>;
}

type LimitRedis = Redis & LimitCommands;

function withCommands(redis: Redis): LimitRedis {
  redis.defineCommand('p2pWindowHit', { numberOfKeys: 1, lua: WINDOW_HIT });
  redis.defineCommand('p2pWindowRefund', { numberOfKeys: 1, lua: WINDOW_REFUND });
  redis.defineCommand('p2pLiveAdmit', { numberOfKeys: 1, lua: LIVE_ADMIT });
  redis.defineCommand('p2pLiveForget', { numberOfKeys: 1, lua: LIVE_FORGET });
  return redis as LimitRedis;
}

/** The shared limits of every process that uses this Redis with this secret and prefix. */
export function redisLimits({
  redis,
  secret,
  roomMaxAgeMs,
  prefix = 'p2p-share:',
  now = Date.now,
}: RedisLimitsOptions): SharedLimits {
  const commands = withCommands(redis);
  const hash = (key: string) =>
    createHmac('sha256', secret)
      .update(`p2p-share/limit-key\0${key}`)
      .digest('base64url')
      .slice(0, 22);
  return {
    windows: (name, limits) =>
      new RedisWindowLimiter(commands, `${prefix}limit:${name}:`, hash, limits),
    liveRooms: (limit, exists) =>
      new RedisLiveRooms(commands, prefix, hash, { limit, exists, roomMaxAgeMs, now }),
  };
}

/** Fixed windows as Redis keys that expire with them. */
class RedisWindowLimiter implements WindowLimiter {
  constructor(
    private readonly redis: LimitRedis,
    private readonly prefix: string,
    private readonly hash: (key: string) => string,
    private readonly limits: WindowLimits,
  ) {}

  async check(key: string): Promise<Verdict> {
    const { limit, windowMs } = this.limits;
    const [count, ttl] = await this.redis.p2pWindowHit(this.#key(key), limit, windowMs);
    return count <= limit
      ? { allowed: true, retryAfterMs: 0 }
      : { allowed: false, retryAfterMs: Math.max(1, ttl) };
  }

  async refund(key: string): Promise<void> {
    await this.redis.p2pWindowRefund(this.#key(key));
  }

  #key(key: string): string {
    return this.prefix + this.hash(key);
  }
}

interface LiveRoomsSettings {
  limit: number;
  exists: (roomId: string) => Promise<boolean>;
  roomMaxAgeMs: number;
  now: () => number;
}

/**
 * Each address's rooms as a sorted set of room ids scored by when they expire at the latest,
 * beside entries for creations still running (which expire on their own should a process die
 * mid-creation); each room names its set in an owner record, for `forget`.
 */
class RedisLiveRooms implements LiveRooms {
  constructor(
    private readonly redis: LimitRedis,
    private readonly prefix: string,
    private readonly hash: (key: string) => string,
    private readonly settings: LiveRoomsSettings,
  ) {}

  async admit(key: string): Promise<RoomPlace | null> {
    const set = `${this.prefix}live:${this.hash(key)}`;
    const pending = PENDING + randomUUID();
    const { limit, exists } = this.settings;
    const tryAdmit = () => {
      const now = this.settings.now();
      return this.redis.p2pLiveAdmit(set, now, limit, pending, now + PENDING_MS);
    };
    let held = await tryAdmit();
    if (held.length > 0) {
      // At the limit: rooms the store no longer has (expired before a sweep, or stopped through
      // a process that did not hear of them) free their places, then the address asks again.
      let freed = false;
      for (const roomId of held) {
        if (roomId.startsWith(PENDING) || (await exists(roomId))) continue;
        await this.redis.multi().zrem(set, roomId).del(this.#owner(roomId)).exec();
        freed = true;
      }
      if (!freed) return null;
      held = await tryAdmit();
      if (held.length > 0) return null;
    }
    let settled = false;
    return {
      settle: async (roomId) => {
        if (settled) return;
        settled = true;
        const tx = this.redis.multi().zrem(set, pending);
        if (roomId !== null) {
          const ttl = this.settings.roomMaxAgeMs;
          tx.zadd(set, this.settings.now() + ttl, roomId)
            .pexpire(set, ttl)
            .set(this.#owner(roomId), set, 'PX', ttl);
        }
        await tx.exec();
      },
    };
  }

  async forget(roomId: string): Promise<void> {
    await this.redis.p2pLiveForget(this.#owner(roomId), roomId);
  }

  #owner(roomId: string): string {
    return `${this.prefix}live-owner:${roomId}`;
  }
}
