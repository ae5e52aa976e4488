/**
 * Process liveness on one redis-server shared by two services: when one dies without a word (no
 * heartbeat, nothing more reaches Redis, its sockets gone with no departure), the other takes its
 * members out of their rooms within a heartbeat TTL and a period: partners hear `peer-left`, the
 * queue moves, the places are free. A live process that beats slowly keeps its members, and a
 * process given up while cut off sends its sockets to join again. A process's set of members
 * forgets those of rooms that are deleted or expire.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { PROTOCOL_VERSION } from '../../protocol/index.js';
import { startRedis, type RedisServer } from '../../testing/redis.js';
import { redisReady } from '../../server/redis.js';
import { createLogger } from '../../server/log.js';
import { connectRedis } from '../../server/redis.js';
import { RedisRoomStore } from '../../server/store/redis.js';
import {
  assertError,
  join,
  nextEvent,
  request,
  startService,
  waitFor,
  type Client,
  type Harness,
} from '../../server/test-support.js';

const HEARTBEAT_MS = 200;
const TTL_MS = 1_500;
/** How long cleaning may take after a death: one TTL and one period, and slack for a busy machine. */
const CLEANED_WITHIN_MS = TTL_MS + HEARTBEAT_MS + 3_000;

describe('process liveness on one Redis', () => {
  let redis: RedisServer;
  const open: Harness[] = [];

  before(async () => {
    redis = await startRedis();
  });

  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });

  after(async () => {
    await redis?.stop();
  });

  async function service(liveness = { heartbeatMs: HEARTBEAT_MS, heartbeatTtlMs: TTL_MS }) {
    const h = await startService({
      config: { redisUrl: redis.url, swarmCapacity: 1, maxSocketsPerRoom: 4, logLevel: 'info' },
      liveness,
    });
    open.push(h);
    await redisReady(h.service.redis!);
    return h;
  }

  /**
   * What a SIGKILL leaves: nothing more reaches Redis (no heartbeat, no departure) and the
   * process's sockets are gone. Its close then only fails to tell Redis anything.
   */
  async function crash(h: Harness): Promise<void> {
    h.service.redis!.disconnect();
    await h.close();
  }

  const livenessOf = (h: Harness) => (h.service.store as RedisRoomStore).liveness;

  test("a dead process's members leave their rooms: peer-left, the queue moves, places free", async () => {
    const a = await service();
    const b = await service();
    const room = await a.createRoom();
    const sharer = await a.connect();
    const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const [r1, r2] = [await b.connect(), await b.connect()];
    const r1Id = await join(r1, room.roomId);
    const r2Id = await join(r2, room.roomId);
    const r3 = await a.connect();
    await join(r3, room.roomId);
    // The room is full: the sharer's place and three recipients.
    const late = await a.connect();
    const full = { v: PROTOCOL_VERSION, roomId: room.roomId, role: 'recipient' };
    assertError(await request(late, 'join', full), 'limit-exceeded', 'a full room');
    // r1 holds the sharer (capacity 1) and exchanged an envelope with it; r2, then r3, wait.
    assert.deepEqual(await request(r1, 'sources', {}), { ok: true, sources: [sharerId] });
    assert.deepEqual(await request(r1, 'signal', { to: sharerId, envelope: 'AAAA' }), {
      ok: true,
    });
    assert.deepEqual(await request(r2, 'sources', {}), { ok: true, sources: [], position: 1 });
    assert.deepEqual(await request(r3, 'sources', {}), { ok: true, sources: [], position: 2 });
    const peerLeft = nextEvent<{ peerId: string }>(sharer, 'peer-left', CLEANED_WITHIN_MS);
    const r3Assigned = nextEvent(r3, 'assigned', CLEANED_WITHIN_MS);

    await crash(b);
    const started = performance.now();
    // Nothing left the room when b died: its members are still there until a live process
    // finds its heartbeat gone.
    const members = await a.service.store.listMembers(room.roomId);
    assert.ok(members.some((m) => m.peerId === r1Id) && members.some((m) => m.peerId === r2Id));

    assert.deepEqual(await peerLeft, { peerId: r1Id });
    assert.deepEqual(await r3Assigned, { sources: [sharerId] });
    await waitFor(async () => (await a.service.store.listMembers(room.roomId)).length === 2, 5_000);
    assert.ok(performance.now() - started < CLEANED_WITHIN_MS, 'cleaned within TTL + a period');
    const swarm = await a.service.swarms.inspect(room.roomId);
    assert.deepEqual(swarm?.queue, []);
    assert.equal((await a.service.store.getRoom(room.roomId))?.sharerPeerId, sharerId);
    // Both places b held are free again.
    await join(late, room.roomId);
    await join(await a.connect(), room.roomId);
    assert.ok(a.logs.some((line) => line.includes('"process.orphan-left"')));
  });

  test("a dead process's sharer socket goes offline and its sharer places are free", async () => {
    const a = await service();
    const b = await service();
    const room = await a.createRoom();
    const sharer = await b.connect();
    const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const recipient = await a.connect();
    await join(recipient, room.roomId);
    assert.deepEqual(await request(recipient, 'sources', {}), { ok: true, sources: [sharerId] });
    const seedsGone = waitForSwarm(recipient, (s) => s.seeds === 0);

    await crash(b);
    await waitFor(
      async () => (await a.service.store.getMember(room.roomId, sharerId)) === null,
      CLEANED_WITHIN_MS,
    );
    await seedsGone;
    const record = await a.service.store.getRoom(room.roomId);
    assert.equal(record?.sharerPeerId, null, 'the room is served by nobody now');
    // The sharer's token gets both its sockets again, and serves the room from a.
    const again = [await a.connect(), await a.connect()];
    for (const socket of again) await join(socket, room.roomId, 'sharer', room.sharerToken);
    assert.notEqual((await a.service.store.getRoom(room.roomId))?.sharerPeerId, null);
  });

  test('a live process that beats slowly keeps its members', async () => {
    const a = await service();
    // b beats every two thirds of a TTL, each beat a further tenth of a TTL late.
    const b = await service({ heartbeatMs: (TTL_MS * 2) / 3, heartbeatTtlMs: TTL_MS });
    const slow = livenessOf(b);
    const beat = slow.beat.bind(slow);
    let beats = 0;
    slow.beat = async () => {
      await new Promise((resolve) => setTimeout(resolve, TTL_MS / 10));
      beats++;
      return beat();
    };
    const cleaner = livenessOf(a);
    const claim = cleaner.claimOrphans.bind(cleaner);
    let claims = 0;
    cleaner.claimOrphans = async (ms) => {
      const orphans = await claim(ms);
      claims++;
      return orphans;
    };
    const room = await a.createRoom();
    const sharer = await a.connect();
    const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const recipient = await b.connect();
    const recipientId = await join(recipient, room.roomId);
    assert.deepEqual(await request(recipient, 'signal', { to: sharerId, envelope: 'AAAA' }), {
      ok: true,
    });
    const left: unknown[] = [];
    sharer.on('peer-left', (event) => left.push(event));
    // a looks for dead processes every period once it has beaten for a TTL; b stays across
    // several of b's beats and many of a's looks.
    const beatsAtStart = beats;
    await waitFor(() => claims >= 15 && beats >= beatsAtStart + 3, 15_000);
    assert.ok(await a.service.store.getMember(room.roomId, recipientId), 'still a member');
    assert.deepEqual(left, []);
    assert.ok(!a.logs.some((line) => line.includes('"process.orphan-left"')));
  });

  test('a process given up while cut off from Redis sends its sockets to join again', async () => {
    const a = await service();
    const b = await service();
    const room = await a.createRoom();
    const sharer = await a.connect();
    await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const recipient: Client = await b.connect();
    const recipientId = await join(recipient, room.roomId);
    const bRedis: Redis = b.service.redis!;
    const dropped = nextEvent<string>(recipient, 'disconnect', 3 * CLEANED_WITHIN_MS);

    bRedis.disconnect();
    await waitFor(
      async () => (await a.service.store.getMember(room.roomId, recipientId)) === null,
      CLEANED_WITHIN_MS,
    );
    const given = livenessOf(b).processId;
    await bRedis.connect();
    // b's next beat finds it was given up: its socket, no member any more, must join again.
    assert.equal(await dropped, 'transport close');
    assert.notEqual(livenessOf(b).processId, given);
    assert.ok(b.logs.some((line) => line.includes('"process.given-up"')));
  });
});

describe("a process's member set", () => {
  let redis: RedisServer;
  let client: Redis;

  before(async () => {
    redis = await startRedis();
    client = connectRedis(redis.url, createLogger({ level: 'silent' }));
    await redisReady(client);
  });

  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  test('forgets the members of rooms that are deleted or expire, so it does not grow', async () => {
    let now = 1_000_000;
    const store = new RedisRoomStore({
      client,
      prefix: 'set:',
      processId: 'p1',
      roomGraceMs: 1_000,
      roomMaxAgeMs: 10_000,
      now: () => now,
    });
    const owned = () => client.smembers('set:proc-members:p1');
    const [one, two] = [await store.createRoom('bWV0YQ'), await store.createRoom('bWV0YQ')];
    for (const [room, peer] of [
      [one.id, 'a'],
      [one.id, 'b'],
      [two.id, 'c'],
    ]) {
      assert.equal(await store.addMember(room, { peerId: peer, role: 'recipient' }, 10), 'ok');
    }
    assert.equal((await owned()).length, 3);
    await store.removeMember(one.id, 'a', () => null);
    assert.deepEqual((await owned()).sort(), [`${one.id} b`, `${two.id} c`].sort());
    assert.equal(await store.deleteRoom(one.id), true);
    assert.deepEqual(await owned(), [`${two.id} c`]);
    now += 2_000;
    assert.deepEqual(await store.sweep(), [two.id]);
    assert.deepEqual(await owned(), []);
  });
});

/** Resolves once the room's counts, as `socket` hears them, satisfy `done`. */
function waitForSwarm(socket: Client, done: (stats: { seeds: number }) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const listener = (stats: { seeds: number }) => {
      if (!done(stats)) return;
      socket.off('swarm', listener);
      resolve();
    };
    socket.on('swarm', listener);
  });
}
