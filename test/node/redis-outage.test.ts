/**
 * Redis goes away under a running service and comes back: meanwhile the service stays up, REST
 * answers 503 `service-unavailable` and socket calls fail with the same code; every connected
 * socket hears once that the service is unavailable and once that it is back; afterwards rooms
 * are created and joined again without a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PROTOCOL_VERSION, type ServiceStatus } from '../../protocol/index.js';
import { startRedis, type RedisServer } from '../../testing/redis.js';
import { redisReady } from '../../server/redis.js';
import {
  assertError,
  join,
  nextEvent,
  recordEvents,
  request,
  settled,
  startService,
  waitFor,
  type Harness,
} from '../../server/test-support.js';

describe('Redis outage', () => {
  let redis: RedisServer;
  let h: Harness;

  before(async () => {
    redis = await startRedis();
    h = await startService({ config: { redisUrl: redis.url, logLevel: 'info' } });
    await redisReady(h.service.redis!);
  });

  after(async () => {
    await h?.close();
    await redis?.stop();
  });

  const createRoom = () =>
    fetch(`${h.url}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: PROTOCOL_VERSION, meta: 'c2VhbGVkLW1ldGE' }),
    });

  test('answers 503 and tells sockets while Redis is down, and resumes when it is back', async () => {
    const room = await h.createRoom();
    const sharer = await h.connect();
    const recipient = await h.connect();
    const late = await h.connect();
    try {
      await join(sharer, room.roomId, 'sharer', room.sharerToken);
      await join(recipient, room.roomId);
      assert.equal(await h.service.store.ready(), true);
      const sockets = [sharer, recipient, late];
      const seen = recordEvents(sockets);
      const told = (available: boolean) =>
        Promise.all(
          sockets.map(async (socket) => {
            const msg = await nextEvent<ServiceStatus>(socket, 'service', 15_000);
            assert.equal(msg.available, available);
            return msg;
          }),
        );

      const gone = told(false);
      await redis.stop();
      // Every socket of the process, in a room or not, hears it, with when to try again.
      for (const msg of await gone) {
        assert.deepEqual(msg, { available: false, retryAfterMs: 2_000 });
      }
      const down = await createRoom();
      assert.equal(down.status, 503);
      assert.equal(down.headers.get('retry-after'), '2');
      const body = (await down.json()) as { error: { code: string; retryAfterMs: number } };
      assert.equal(body.error.code, 'service-unavailable');
      assert.equal(body.error.retryAfterMs, 2_000);
      assert.equal((await fetch(`${h.url}/rooms/${room.roomId}`)).status, 503);
      const ack = await request(late, 'join', {
        v: PROTOCOL_VERSION,
        roomId: room.roomId,
        role: 'recipient',
      });
      assertError(ack, 'service-unavailable', 'a join while Redis is down');
      assertError(await request(recipient, 'sources', {}), 'service-unavailable', 'a swarm call');
      assert.equal(await h.service.store.ready(), false);
      assert.ok(sharer.connected && recipient.connected && late.connected, 'sockets stay');
      assert.ok(
        h.logs.some((line) => line.includes('"redis.unreachable"')),
        'the outage is logged',
      );
      // The client reports its first error at its first reconnection attempt (50 ms after the
      // loss), which the calls above may outrun; the metrics count it then.
      await waitFor(
        async () => ((await h.service.metrics.redisErrors.get()).values[0]?.value ?? 0) > 0,
        10_000,
      );

      const back = told(true);
      await redis.start();
      for (const msg of await back) assert.deepEqual(msg, { available: true });
      // The restarted Redis kept nothing (tests run it without persistence): new rooms work.
      await waitFor(async () => (await createRoom()).status === 201, 15_000);
      assert.equal(await h.service.store.ready(), true);
      // Once each way, however many reconnection attempts failed in between.
      await settled(sockets);
      for (const socket of sockets) {
        const service = seen.get(socket)!.filter(([event]) => event === 'service');
        assert.deepEqual(
          service.map(([, msg]) => (msg as ServiceStatus).available),
          [false, true],
        );
      }
      const again = await h.createRoom();
      const [newSharer, newRecipient] = [await h.connect(), await h.connect()];
      const sharerId = await join(newSharer, again.roomId, 'sharer', again.sharerToken);
      await join(newRecipient, again.roomId);
      assert.deepEqual(await request(newRecipient, 'sources', {}), {
        ok: true,
        sources: [sharerId],
      });
    } finally {
      for (const socket of [sharer, recipient, late]) socket.disconnect();
    }
  });
});
