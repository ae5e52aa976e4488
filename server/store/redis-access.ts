/**
 * How the Redis room store (./redis.ts) and its swarm steps (./redis-swarm.ts) reach Redis: keys
 * under the store's prefix, the scripts of ./redis-scripts.ts run by their hash, reads of a room
 * in one transaction, a lost connection turned into `StoreUnavailable`, and members read back in
 * the form the scripts store them. It holds no state of its own beyond the connection.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { randomId } from '../../protocol/index.js';
import { ROOM_SCRIPTS } from './redis-scripts.js';
import type { Member, Role } from './store.js';
import { StoreUnavailable } from './store.js';

/** How long a room's keys outlive its expiry, so a sweep on any process still finds them. */
export const TTL_MARGIN_MS = 60_000;

export type RoomScript = keyof typeof ROOM_SCRIPTS;

export interface RedisAccessOptions {
  /** The service's connection (see server/redis.ts); closing it is the service's business. */
  client: Redis;
  /** Put before every key. */
  prefix: string;
  roomGraceMs: number;
  roomMaxAgeMs: number;
  /** The store's clock, which room expiry follows. */
  now: () => number;
}

export class RedisAccess {
  readonly client: Redis;
  readonly prefix: string;
  readonly now: () => number;
  readonly #graceMs: number;
  readonly #maxAgeMs: number;

  constructor(options: RedisAccessOptions) {
    this.client = options.client;
    this.prefix = options.prefix;
    this.now = options.now;
    this.#graceMs = options.roomGraceMs;
    this.#maxAgeMs = options.roomMaxAgeMs;
  }

  /** The room's expiry and what `more` reads, in one transaction. */
  async read(
    roomId: string,
    more: (m: ReturnType<Redis['multi']>) => ReturnType<Redis['multi']>,
  ): Promise<[string | null, ...unknown[]]> {
    const replies = await this.call(() =>
      more(this.client.multi().hget(this.key('room', roomId), 'expires')).exec(),
    );
    if (!replies) throw new StoreUnavailable('Redis discarded a transaction');
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [string | null, ...unknown[]];
  }

  /** Runs one of the room scripts on `roomId`, with the KEYS and ARGV every one of them takes. */
  room(
    script: RoomScript,
    roomId: string,
    now: number,
    args: (string | number)[],
  ): Promise<unknown> {
    return this.script(
      ROOM_SCRIPTS[script],
      [
        this.key('room', roomId),
        this.key('peers', roomId),
        this.key('expiries'),
        this.key('swarm-due'),
        this.prefix,
      ],
      [roomId, now, this.#graceMs, this.#maxAgeMs, TTL_MARGIN_MS, ...args],
    );
  }

  /** Runs a script by its hash, loading it first where Redis does not know it (after a restart). */
  script(lua: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const sha = sha1(lua);
    return this.call(async () => {
      try {
        return await this.client.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return this.client.eval(lua, keys.length, ...keys, ...args);
      }
    });
  }

  /** Runs a Redis call; a failure to reach Redis becomes `StoreUnavailable`. */
  async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      // A ReplyError is Redis refusing a command (a bug here), not Redis being away.
      if (err instanceof Error && err.name === 'ReplyError') throw err;
      throw new StoreUnavailable('Redis is unreachable', { cause: err });
    }
  }

  /** Whether a room whose `expires` field reads so is alive now. */
  live(expires: string | null | undefined): boolean {
    return typeof expires === 'string' && Number(expires) > this.now();
  }

  key(kind: 'room' | 'peers' | 'expiries' | 'swarm-due', roomId?: string): string {
    return roomId === undefined ? `${this.prefix}${kind}` : `${this.prefix}${kind}:${roomId}`;
  }
}

const shas = new Map<string, string>();
function sha1(lua: string): string {
  let sha = shas.get(lua);
  if (!sha) shas.set(lua, (sha = createHash('sha1').update(lua).digest('hex')));
  return sha;
}

/** A fresh version tag: random, so a room made again under the same id never repeats one. */
export function version(): string {
  return randomId(12);
}

/** `role` or `role address`, as ./redis-scripts.ts stores a member. */
export function parseMember(peerId: string, entry: string): Member {
  const space = entry.indexOf(' ');
  if (space < 0) return { peerId, role: entry as Role };
  return { peerId, role: entry.slice(0, space) as Role, address: entry.slice(space + 1) };
}

/** The members in a room's peers hash. */
export function membersOf(peers: Record<string, string>): Member[] {
  return Object.entries(peers)
    .filter(([field]) => field.startsWith('m:'))
    .map(([field, entry]) => parseMember(field.slice(2), entry));
}
