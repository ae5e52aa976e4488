/**
 * The behaviour every `SharedLimits` must have, as a suite that takes a fixture: the memory
 * counters run it in limits.test.ts and the Redis ones, against a real redis-server, in
 * test/node/limits-redis.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { SharedLimits } from './budget.js';
import type { WindowLimiter } from './limits.js';

export interface LimitsFixture {
  /** Fresh counters, sharing nothing with another case's. */
  limits: SharedLimits;
  /** Lets `ms` pass on the counters' clock. */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** `windowMs` is the window the cases use: short where the clock is real. */
export function limitsSuite(
  name: string,
  windowMs: number,
  setup: () => Promise<LimitsFixture>,
): void {
  describe(`SharedLimits: ${name}`, () => {
    let fixture: LimitsFixture;
    beforeEach(async () => {
      fixture = await setup();
    });
    afterEach(async () => {
      await fixture.close();
    });

    const allowedOf = async (limiter: WindowLimiter, key: string, hits: number) => {
      const verdicts = [];
      for (let i = 0; i < hits; i++) verdicts.push(await limiter.check(key));
      return verdicts.map((v) => v.allowed);
    };

    test('allows `limit` hits per window, then says how long to wait', async () => {
      const limiter = fixture.limits.windows('a', { limit: 3, windowMs });
      assert.deepEqual(await allowedOf(limiter, 'k', 3), [true, true, true]);
      const refused = await limiter.check('k');
      assert.equal(refused.allowed, false);
      assert.ok(
        refused.retryAfterMs > 0 && refused.retryAfterMs <= windowMs,
        `${refused.retryAfterMs}`,
      );
      assert.equal((await limiter.check('other')).allowed, true, 'keys are independent');
      await fixture.elapse(windowMs);
      assert.deepEqual(await allowedOf(limiter, 'k', 4), [true, true, true, false], 'a new window');
    });

    test('counts exactly under concurrent hits', async () => {
      const limiter = fixture.limits.windows('a', { limit: 5, windowMs });
      const verdicts = await Promise.all(Array.from({ length: 40 }, () => limiter.check('k')));
      assert.equal(verdicts.filter((v) => v.allowed).length, 5);
    });

    test('kinds of hit are apart', async () => {
      const one = fixture.limits.windows('one', { limit: 1, windowMs });
      const two = fixture.limits.windows('two', { limit: 1, windowMs });
      assert.equal((await one.check('k')).allowed, true);
      assert.equal((await two.check('k')).allowed, true);
      assert.equal((await one.check('k')).allowed, false);
    });

    test('refused hits are not counted: a refund then lets exactly one through', async () => {
      const limiter = fixture.limits.windows('a', { limit: 2, windowMs });
      assert.deepEqual(await allowedOf(limiter, 'k', 5), [true, true, false, false, false]);
      await limiter.refund('k');
      assert.deepEqual(await allowedOf(limiter, 'k', 2), [true, false]);
    });

    test('a refund never goes below zero nor carries into another window', async () => {
      const limiter = fixture.limits.windows('a', { limit: 2, windowMs });
      await limiter.refund('fresh');
      await limiter.refund('fresh');
      assert.deepEqual(await allowedOf(limiter, 'fresh', 3), [true, true, false]);
      await fixture.elapse(windowMs);
      await limiter.refund('fresh');
      assert.deepEqual(await allowedOf(limiter, 'fresh', 3), [true, true, false]);
    });

    test('live rooms: counts rooms per address, creations in flight included', async () => {
      const existing = new Set<string>();
      const rooms = fixture.limits.liveRooms(2, async (id) => existing.has(id));
      const first = await rooms.admit('a');
      const second = await rooms.admit('a');
      assert.ok(first && second);
      assert.equal(await rooms.admit('a'), null, 'two creations in flight hold both places');
      await first.settle('r1');
      existing.add('r1');
      await second.settle(null);
      const third = await rooms.admit('a');
      assert.ok(third, 'a creation that made no room gave its place back');
      await third.settle('r2');
      await third.settle(null);
      existing.add('r2');
      assert.equal(await rooms.admit('a'), null, 'only the first settle counts');
      const other = await rooms.admit('b');
      assert.ok(other, 'other addresses are apart');
      await other.settle(null);
    });

    test('live rooms: a forgotten room, or one the store no longer has, frees its place', async () => {
      const existing = new Set<string>();
      const asked: string[] = [];
      const rooms = fixture.limits.liveRooms(2, async (id) => {
        asked.push(id);
        return existing.has(id);
      });
      for (const id of ['r1', 'r2']) {
        await (await rooms.admit('a'))!.settle(id);
        existing.add(id);
      }
      assert.equal(await rooms.admit('a'), null);
      await rooms.forget('r1');
      await rooms.forget('r1');
      await rooms.forget('never-counted');
      const third = await rooms.admit('a');
      assert.ok(third, 'a stopped room frees its place');
      await third.settle('r3');
      existing.add('r3');
      asked.length = 0;
      existing.delete('r2');
      const fourth = await rooms.admit('a');
      assert.ok(fourth, 'a room the store no longer has is dropped');
      assert.deepEqual(asked.sort(), ['r2', 'r3'], 'the store was asked about each room held');
      await fourth.settle(null);
      asked.length = 0;
      const fifth = await rooms.admit('a');
      assert.ok(fifth);
      assert.deepEqual(asked, [], 'below the limit the store is not asked');
      await fifth.settle('r4');
      existing.add('r4');
      assert.equal(await rooms.admit('a'), null);
    });
  });
}
