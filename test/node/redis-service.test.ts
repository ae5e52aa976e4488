/**
 * Two service processes' worth of service (two `createService`s) on one redis-server, as behind a
 * load balancer: a sharer on one and recipients on the other exchange sealed signals, the swarm's
 * queue moves across them, and a lease whose process is gone is still ended by the other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sealedExchange } from './support.js';
import { startRedis, type RedisServer } from '../../testing/redis.js';
import { redisReady } from '../../server/redis.js';
import {
  join,
  nextEvent,
  request,
  startService,
  waitFor,
  type Harness,
} from '../../server/test-support.js';

/** Waits until what each service sends through Redis reaches every other one. */
export async function linked(services: Harness[]): Promise<void> {
  for (const h of services) await redisReady(h.service.redis!);
  type Probe = (from: number) => void;
  const heard = services.map(() => new Set<number>());
  services.forEach((h, i) => {
    const io = h.service.io as unknown as { on(event: 'probe', listener: Probe): void };
    io.on('probe', (from) => heard[i].add(from));
  });
  await waitFor(() => {
    services.forEach((h, i) => {
      const io = h.service.io as unknown as { serverSideEmit(event: 'probe', from: number): void };
      io.serverSideEmit('probe', i);
    });
    return heard.every((set, i) => set.size === services.length - 1 && !set.has(i));
  }, 15_000);
}

describe('two services on one Redis', () => {
  let redis: RedisServer;
  let one: Harness;
  let two: Harness;

  before(async () => {
    redis = await startRedis();
    const config = {
      redisUrl: redis.url,
      swarmCapacity: 1,
      swarmLeaseMs: 400,
      logLevel: 'warn' as const,
    };
    one = await startService({ config });
    two = await startService({ config });
    await linked([one, two]);
  });

  after(async () => {
    await one?.close();
    await two?.close();
    await redis?.stop();
  });

  test('a sharer on one and a recipient on the other exchange sealed signals', async () => {
    let connects = 0;
    // The room and the sharer's socket on one, the recipient's socket on two.
    await sealedExchange({
      ...one,
      connect: (options, via) => (connects++ === 0 ? one : two).connect(options, via ?? undefined),
    });
    assert.equal(connects, 2);
  });

  test("the queue moves across them: one's release serves the other's waiter", async () => {
    const room = await one.createRoom();
    const sharer = await one.connect();
    const r1 = await two.connect();
    const r2 = await one.connect();
    const r3 = await two.connect();
    try {
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      for (const r of [r1, r2, r3]) await join(r, room.roomId);
      assert.deepEqual(await request(r1, 'sources', {}), { ok: true, sources: [sharerId] });
      assert.deepEqual(await request(r2, 'sources', {}), { ok: true, sources: [], position: 1 });
      assert.deepEqual(await request(r3, 'sources', {}), { ok: true, sources: [], position: 2 });
      const r2Assigned = nextEvent(r2, 'assigned', 5_000);
      const r3Moved = nextEvent(r3, 'queue', 5_000);
      assert.deepEqual(await request(r1, 'release', { peerId: sharerId }), { ok: true });
      assert.deepEqual(await r2Assigned, { sources: [sharerId] });
      assert.deepEqual(await r3Moved, { position: 1 });
    } finally {
      for (const s of [sharer, r1, r2, r3]) s.disconnect();
    }
  });

  test('a lease that runs out in a room nobody speaks in moves the queue, whoever made it', async () => {
    const room = await two.createRoom();
    const sharer = await two.connect();
    const r1 = await one.connect();
    const r2 = await two.connect();
    try {
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      await join(r1, room.roomId);
      const r2Id = await join(r2, room.roomId);
      const r2Assigned = nextEvent(r2, 'assigned', 10_000);
      assert.deepEqual(await request(r1, 'sources', {}), { ok: true, sources: [sharerId] });
      assert.deepEqual(await request(r2, 'sources', {}), { ok: true, sources: [], position: 1 });
      // Every lease timer goes, as they would with the process whose step set them: what ends
      // r1's lease now is the services claiming due leases from Redis.
      one.service.swarms.close();
      two.service.swarms.close();
      assert.deepEqual(await r2Assigned, { sources: [sharerId] });
      const swarm = await two.service.swarms.inspect(room.roomId);
      assert.deepEqual(Object.keys(swarm?.leases ?? {}), [r2Id]);
    } finally {
      for (const s of [sharer, r1, r2]) s.disconnect();
    }
  });

  test('a burst between one pair asks Redis once; a peer that left is refused after it', async () => {
    const room = await one.createRoom();
    const sharer = await one.connect();
    const recipient = await two.connect();
    const store = one.service.store;
    const getMember = store.getMember.bind(store);
    let asked = 0;
    store.getMember = (roomId, peerId) => {
      asked++;
      return getMember(roomId, peerId);
    };
    try {
      await join(sharer, room.roomId, 'sharer', room.sharerToken);
      const recipientId = await join(recipient, room.roomId);
      const heard: unknown[] = [];
      recipient.on('signal', (msg: unknown) => heard.push(msg));
      asked = 0;
      for (let i = 0; i < 10; i++) {
        assert.deepEqual(await request(sharer, 'signal', { to: recipientId, envelope: `e${i}` }), {
          ok: true,
        });
      }
      await waitFor(() => heard.length === 10, 5_000);
      // The first relay asks for both members; the nine after it are trusted.
      assert.equal(asked, 2);

      recipient.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const ack = await request(sharer, 'signal', { to: recipientId, envelope: 'late' });
      assert.equal((ack as { error?: { code: string } }).error?.code, 'peer-not-found');
    } finally {
      store.getMember = getMember;
      sharer.disconnect();
      recipient.disconnect();
    }
  });
});
