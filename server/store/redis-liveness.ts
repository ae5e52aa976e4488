/**
 * Which processes sharing a Redis are alive, for the Redis room store (./redis.ts). Each process
 * keeps `proc:<id>`, a heartbeat key whose TTL it renews, and lists its id in `procs`; every room
 * member it adds names it (`o:<peer>` in the room's peers hash) and goes in its set
 * `proc-members:<id>` (see ./redis-scripts.ts). When a heartbeat is gone, one live process claims
 * that process's members and takes them out of their rooms as departures. A process that was
 * only cut off, and finds on its next heartbeat that it was given up (`proc-gone:<id>`), takes a
 * new id: its sockets' members are gone, so the service sends them to join again.
 */
import { randomId } from '../../protocol/index.js';
import type { Orphan, ProcessLiveness, Role } from './store.js';

export interface RedisLivenessOptions {
  prefix: string;
  /** Runs a script (the store's, which maps a lost connection to `StoreUnavailable`). */
  script: (lua: string, keys: string[], args: (string | number)[]) => Promise<unknown>;
  /** The store's clock, which room expiry follows. */
  now: () => number;
  /** How long after its process is given up a member set's key lives: a room's longest life. */
  keepMs: number;
  /** This process's id; random by default. */
  processId?: string;
  intervalMs?: number;
  ttlMs?: number;
}

/** How often a process renews its heartbeat and looks for members of dead processes. */
export const DEFAULT_HEARTBEAT_MS = 2_000;
/** How long a heartbeat lasts unrenewed: a process may stall this long, less one beat. */
export const DEFAULT_HEARTBEAT_TTL_MS = 8_000;

/**
 * The same keys as ./redis-scripts.ts's ADD_MEMBER, which also beats.
 * KEYS: proc:<id>, proc-members:<id>, procs, proc-gone:<id>. ARGV: the id, the heartbeat's TTL,
 * how long the member set lives. 0 when the process was given up (it must take a new id).
 */
const BEAT = `
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

/** KEYS: proc:<id>, proc-members:<id>, procs. ARGV: the id. A clean exit. */
const RETIRE = `
redis.call('DEL', KEYS[1])
if redis.call('SCARD', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[1]) end
return 1
`;

/**
 * KEYS: procs. ARGV: the prefix, the claiming process's id, how long a claim lasts, how long a
 * given-up process's tombstone lasts, the most members to return, the store's clock. For each
 * process whose heartbeat is gone and that no other live claim holds: claims it, marks it given
 * up, and returns members of it that are still members of live rooms (dropping entries that are
 * not); a process with none left leaves `procs`. Returns {room, peer, role} triples.
 */
const CLAIM_DEAD = `
local prefix, me, batch, now = ARGV[1], ARGV[2], tonumber(ARGV[5]), tonumber(ARGV[6])
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if #out >= batch then break end
  local claim = prefix .. 'proc-claim:' .. id
  local holder = redis.call('GET', claim)
  if redis.call('EXISTS', prefix .. 'proc:' .. id) == 0 and (not holder or holder == me) then
    local members = prefix .. 'proc-members:' .. id
    redis.call('SET', claim, me, 'PX', ARGV[3])
    redis.call('SET', prefix .. 'proc-gone:' .. id, '1', 'PX', ARGV[4])
    for _, entry in ipairs(redis.call('SRANDMEMBER', members, batch - #out)) do
      local room, peer = string.match(entry, '^(%S+) (%S+)$')
      local expires = room and redis.call('HGET', prefix .. 'room:' .. room, 'expires')
      local member = expires and redis.call('HGET', prefix .. 'peers:' .. room, 'm:' .. peer)
      if member and tonumber(expires) > now then
        out[#out + 1] = { room, peer, string.match(member, '^%S+') }
      else
        redis.call('SREM', members, entry)
      end
    end
    if redis.call('SCARD', members) == 0 then
      redis.call('SREM', KEYS[1], id)
      redis.call('DEL', claim)
    end
  end
end
return out
`;

/** Members handed to the cleaner at a time. */
const BATCH = 100;

export class RedisLiveness implements ProcessLiveness {
  readonly intervalMs: number;
  readonly ttlMs: number;
  #id: string;
  readonly #options: RedisLivenessOptions;

  constructor(options: RedisLivenessOptions) {
    this.#options = options;
    this.#id = options.processId ?? randomId(12);
    this.intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_MS;
    this.ttlMs = options.ttlMs ?? DEFAULT_HEARTBEAT_TTL_MS;
    if (this.ttlMs <= this.intervalMs) {
      throw new RangeError('a heartbeat must last longer than the time between two beats');
    }
  }

  get processId(): string {
    return this.#id;
  }

  async beat(): Promise<boolean> {
    if ((await this.#beat()) === 1) return true;
    this.#id = randomId(12);
    await this.#beat();
    return false;
  }

  async claimOrphans(claimMs: number): Promise<Orphan[]> {
    const { prefix, script, now, keepMs } = this.#options;
    const rows = (await script(
      CLAIM_DEAD,
      [`${prefix}procs`],
      [prefix, this.#id, claimMs, keepMs, BATCH, now()],
    )) as [string, string, string][];
    return rows.map(([roomId, peerId, role]) => ({ roomId, peerId, role: role as Role }));
  }

  async retire(): Promise<void> {
    const { prefix, script } = this.#options;
    await script(
      RETIRE,
      [`${prefix}proc:${this.#id}`, `${prefix}proc-members:${this.#id}`, `${prefix}procs`],
      [this.#id],
    );
  }

  #beat(): Promise<unknown> {
    const { prefix, script, keepMs } = this.#options;
    const id = this.#id;
    return script(
      BEAT,
      [
        `${prefix}proc:${id}`,
        `${prefix}proc-members:${id}`,
        `${prefix}procs`,
        `${prefix}proc-gone:${id}`,
      ],
      [id, this.ttlMs, keepMs],
    );
  }
}
