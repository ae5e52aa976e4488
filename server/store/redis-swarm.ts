/**
 * The Redis room store's swarm steps (see ./redis.ts). A swarm step is JavaScript
 * (server/swarm/steps.ts), so it runs here, between a read and an optimistic compare-and-set: the
 * read takes the room's swarm and a version tag, the step runs on the parsed state, and a script
 * writes the result only if the tag is unchanged, else the step runs again on fresh state. That
 * suits one shared connection, where WATCH/MULTI would need a connection per concurrent
 * transaction (WATCH is per connection), and a script also keeps the room's expiry and the
 * lease-due set in step with the write.
 */
import { hasRecipientSeed, type SwarmState } from '../swarm/state.js';
import { parseMember, version, type RedisAccess } from './redis-access.js';
import type { MemberRemoval, SwarmRoom } from './store.js';

/** Times a swarm step runs before a room too busy to write it in turn fails the call. */
const MAX_ATTEMPTS = 100;

export class RedisSwarmSteps {
  readonly #redis: RedisAccess;
  /** Each room's latest swarm step from this process, which the next one waits for. */
  readonly #stepping = new Map<string, Promise<void>>();

  constructor(redis: RedisAccess) {
    this.#redis = redis;
  }

  /**
   * Runs a swarm step with optimistic concurrency: read the swarm, the room's members and the
   * version, run the step on that, write only if the version did not move, else again. With
   * `leave`, `peerId` leaves the room in the same write.
   */
  run<T>(
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
    const redis = this.#redis;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = redis.now();
      const [expires, fields, peers] = await redis.read(roomId, (m) =>
        m.hmget(redis.key('room', roomId), 'swarm', 'ver').hgetall(redis.key('peers', roomId)),
      );
      const [swarmJson, ver] = fields as (string | null)[];
      if (!redis.live(expires) || swarmJson === null || ver === null) return null;
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
      const written = (await redis.room('writeSwarm', roomId, now, [
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
      // Another process wrote first. Retrying at once let two processes stepping one room in
      // lockstep starve one of them; a random pause, longer after each loss, breaks the step.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.random() * 2 ** Math.min(attempt, 6)),
      );
    }
    throw new Error(`swarm step on a room kept conflicting after ${MAX_ATTEMPTS} attempts`);
  }
}

function flag(value: boolean): string {
  return value ? '1' : '0';
}
