/**
 * The Redis room store against a real redis-server: the very suite the memory store passes, each
 * test under its own key prefix; then two stores on two connections (as two processes would
 * have) taking swarm steps on one room at once, where no update may be lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../testing/redis.js';
import { createLogger } from '../../server/log.js';
import { connectRedis, redisReady } from '../../server/redis.js';
import { RoomSwarms } from '../../server/swarm/room-swarms.js';
import { RedisRoomStore } from '../../server/store/redis.js';
import { roomStoreSuite } from '../../server/store/store-suite.js';
import type { RoomStoreOptions } from '../../server/store/store.js';

let server: RedisServer;
const clients: Redis[] = [];
let prefixes = 0;

async function connect(): Promise<Redis> {
  const client = connectRedis(server.url, createLogger({ level: 'silent' }));
  clients.push(client);
  await redisReady(client);
  return client;
}

before(async () => {
  server = await startRedis();
  await connect();
});

after(async () => {
  for (const client of clients) client.disconnect();
  await server.stop();
});

roomStoreSuite(
  'redis',
  (options) => new RedisRoomStore({ ...options, client: clients[0], prefix: `t${++prefixes}:` }),
);

describe('RedisRoomStore across processes', () => {
  const options: RoomStoreOptions = { roomGraceMs: 60_000, roomMaxAgeMs: 600_000 };

  /** Two stores over one Redis, each with its own connection. */
  async function twoStores(wrap: (client: Redis) => Redis = (c) => c) {
    const prefix = `x${++prefixes}:`;
    const one = new RedisRoomStore({ ...options, client: wrap(await connect()), prefix });
    const two = new RedisRoomStore({ ...options, client: await connect(), prefix });
    return [one, two] as const;
  }

  test('concurrent swarm steps from two stores lose no update', async () => {
    const [one, two] = await twoStores();
    const room = await one.createRoom('bWV0YQ');
    await one.addMember(room.id, { peerId: 'a', role: 'recipient' }, 10);
    await two.addMember(room.id, { peerId: 'b', role: 'recipient' }, 10);
    const bump = (swarm: { finished: number }) => ++swarm.finished;
    const steps = 100;
    const results = await Promise.all([
      ...Array.from({ length: steps }, () => one.updateSwarm(room.id, 'a', bump)),
      ...Array.from({ length: steps }, () => two.updateSwarm(room.id, 'b', bump)),
      ...Array.from({ length: steps }, () => two.tendSwarm(room.id, bump)),
    ]);
    assert.equal(await one.readSwarm(room.id, (s) => s.finished), 3 * steps);
    // Each step saw a different count: none wrote over another's.
    assert.equal(new Set(results).size, 3 * steps);
  });

  test("a step whose room changed meanwhile runs again on the other's result", async () => {
    // Store one's first write is held until store two has written a step of its own.
    let roomId = '';
    let held = false;
    const [one, two] = await twoStores((client) => {
      const evalsha = client.evalsha.bind(client);
      client.evalsha = (async (...args: Parameters<Redis['evalsha']>) => {
        if (!held && roomId && args.includes(`x${prefixes}:room:${roomId}`)) {
          held = true;
          await two.updateSwarm(roomId, 'b', (s) => s.claimed.push('from-two'));
        }
        return evalsha(...args);
      }) as Redis['evalsha'];
      return client;
    });
    const room = await two.createRoom('bWV0YQ');
    await two.addMember(room.id, { peerId: 'a', role: 'recipient' }, 10);
    await two.addMember(room.id, { peerId: 'b', role: 'recipient' }, 10);
    roomId = room.id;
    const seen: string[][] = [];
    await one.updateSwarm(room.id, 'a', (s) => {
      seen.push([...s.claimed]);
      s.claimed.push('from-one');
    });
    assert.ok(held, 'the write was held');
    assert.deepEqual(seen, [[], ['from-two']], 'the step ran again on fresh state');
    assert.deepEqual(await one.readSwarm(room.id, (s) => s.claimed), ['from-two', 'from-one']);
  });

  test('recipients asking through two processes at once share the seeds and queue in order', async () => {
    const [one, two] = await twoStores();
    const swarms = [new RoomSwarms(one), new RoomSwarms(two)];
    const room = await one.createRoom('bWV0YQ');
    await one.addMember(room.id, { peerId: 'S', role: 'sharer' }, 100);
    await one.setSharerOnline(room.id, 'S');
    await swarms[0].setSeed(room.id, 'S', { have: 'all', seeding: true }, 3);
    const recipients = Array.from({ length: 12 }, (_, i) => `r${i}`);
    for (const peerId of recipients) {
      assert.equal(await two.addMember(room.id, { peerId, role: 'recipient' }, 100), 'ok');
    }
    const outcomes = await Promise.all(
      recipients.map(async (peerId, i) => {
        const result = await swarms[i % 2].requestSources(room.id, peerId, { exclude: [] }, 4);
        return result?.outcome;
      }),
    );
    const served = outcomes.filter((o) => o?.kind === 'sources');
    const places = outcomes.flatMap((o) => (o?.kind === 'queued' ? [o.position] : []));
    assert.equal(served.length, 3, 'as many as the sharer has room for');
    assert.deepEqual(
      places.sort((x, y) => x - y),
      Array.from({ length: 9 }, (_, i) => i + 1),
    );
    const state = await swarms[1].inspect(room.id);
    assert.equal(state?.seeds[0].load, 3);
    assert.equal(state?.queue.length, 9);
    for (const s of swarms) s.close();
  });
});
