/**
 * The Redis counters against a real redis-server (started here on a free port): the shared
 * suite, then what only shared counters have: several clients counting together, keys that
 * expire and carry no address, and calls that fail at once while Redis is away.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../testing/redis.js';
import { limitsSuite } from '../../server/limits-suite.js';
import { redisLimits } from '../../server/limits-redis.js';
import { createLogger } from '../../server/log.js';
import { connectRedis } from '../../server/redis.js';
import { sleep, waitFor } from '../../server/test-support.js';

const SECRET = 'a test secret of at least thirty-two characters';
const WINDOW_MS = 300;

let server: RedisServer;
const clients: Redis[] = [];

/** A client as a service process would have it. */
async function connect(): Promise<Redis> {
  const redis = connectRedis(server.url, createLogger({ level: 'silent' }));
  clients.push(redis);
  await waitFor(() => redis.status === 'ready', 10_000);
  return redis;
}

before(async () => {
  server = await startRedis();
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await server.stop();
});

limitsSuite('redis', WINDOW_MS, async () => {
  const redis = await connect();
  return {
    limits: redisLimits({
      redis,
      secret: SECRET,
      roomMaxAgeMs: 60_000,
      prefix: `${randomUUID()}:`,
    }),
    // Windows run on Redis's clock; a few milliseconds more cover setTimeout's rounding.
    elapse: async (ms) => {
      await sleep(ms + 5);
    },
    close: async () => {
      await redis.quit();
    },
  };
});

describe('Redis limits shared by several processes', () => {
  test('two clients count one window together, exactly under concurrent hits', async () => {
    const prefix = `${randomUUID()}:`;
    const options = { secret: SECRET, roomMaxAgeMs: 60_000, prefix };
    const one = redisLimits({ ...options, redis: await connect() }).windows('w', {
      limit: 7,
      windowMs: 60_000,
    });
    const two = redisLimits({ ...options, redis: await connect() }).windows('w', {
      limit: 7,
      windowMs: 60_000,
    });
    const verdicts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? one : two).check('203.0.113.7')),
    );
    assert.equal(verdicts.filter((v) => v.allowed).length, 7);
    await one.refund('203.0.113.7');
    assert.equal((await two.check('203.0.113.7')).allowed, true, "one's refund is two's too");
    assert.equal((await two.check('203.0.113.7')).allowed, false);
  });

  test('two clients hold one set of live rooms per address', async () => {
    const prefix = `${randomUUID()}:`;
    const existing = new Set<string>();
    const exists = async (id: string) => existing.has(id);
    const options = { secret: SECRET, roomMaxAgeMs: 60_000, prefix };
    const one = redisLimits({ ...options, redis: await connect() }).liveRooms(2, exists);
    const two = redisLimits({ ...options, redis: await connect() }).liveRooms(2, exists);
    await (await one.admit('a'))!.settle('r1');
    await (await two.admit('a'))!.settle('r2');
    existing.add('r1').add('r2');
    assert.equal(await one.admit('a'), null);
    assert.equal(await two.admit('a'), null);
    await two.forget('r1');
    assert.ok(await one.admit('a'), 'a room stopped through one process frees its place in all');
  });

  test('keys expire with their window or room, and hold no client address', async () => {
    const redis = await connect();
    const prefix = `${randomUUID()}:`;
    let clock = 1_000_000;
    const limits = redisLimits({
      redis,
      secret: SECRET,
      roomMaxAgeMs: 30_000,
      prefix,
      now: () => clock,
    });
    const address = '203.0.113.7';
    await limits.windows('w', { limit: 5, windowMs: 60_000 }).check(address);
    const rooms = limits.liveRooms(1, async () => true);
    await (await rooms.admit(address))!.settle('room-1');
    const keys = await redis.keys(`${prefix}*`);
    assert.equal(keys.length, 3, keys.join(' '));
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      assert.ok(ttl > 0 && ttl <= 60_000, `${key}: ${ttl}`);
      const dump = key + (await redis.dumpBuffer(key))!.toString('latin1');
      assert.ok(!dump.includes(address), `${key} holds the address`);
    }

    // A creation whose process died before it settled holds its place for a minute at most; a
    // room, for the room's maximum age at most, should nobody ever say it ended.
    assert.equal(await rooms.admit(address), null);
    clock += 30_001;
    const place = await rooms.admit(address);
    assert.ok(place, 'the room entry expired');
    clock += 59_999;
    assert.equal(await rooms.admit(address), null, 'the unsettled creation holds its place');
    clock += 1;
    assert.ok(await rooms.admit(address), 'the unsettled creation expired');
  });

  test('while Redis is away every call fails at once; when it returns they work again', async () => {
    const redis = await connect();
    const limits = redisLimits({
      redis,
      secret: SECRET,
      roomMaxAgeMs: 60_000,
      prefix: `${randomUUID()}:`,
    });
    const window = limits.windows('w', { limit: 5, windowMs: 60_000 });
    const rooms = limits.liveRooms(5, async () => true);
    await server.stop();
    try {
      await waitFor(() => redis.status !== 'ready', 10_000);
      // Each call is refused, not queued until Redis returns (the test would time out).
      await assert.rejects(window.check('k'));
      await assert.rejects(window.refund('k'));
      await assert.rejects(rooms.admit('k'));
      await assert.rejects(rooms.forget('r'));
    } finally {
      await server.start();
    }
    await waitFor(() => redis.status === 'ready', 10_000);
    assert.equal((await window.check('k')).allowed, true);
    assert.ok(await rooms.admit('k'));
  });
});
