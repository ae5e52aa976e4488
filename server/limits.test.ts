import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { memoryLimits } from './budget.js';
import { MemoryWindowLimiter, TokenBucket } from './limits.js';
import { limitsSuite } from './limits-suite.js';

limitsSuite('memory', 60_000, () => {
  let clock = 1_000_000;
  return Promise.resolve({
    limits: memoryLimits(() => clock),
    elapse: (ms) => {
      clock += ms;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
});

describe('MemoryWindowLimiter', () => {
  test('the window starts at the first hit; the wait counts down to its end', async () => {
    let clock = 0;
    const limiter = new MemoryWindowLimiter({ limit: 3, windowMs: 60_000, now: () => clock });
    for (let i = 0; i < 3; i++)
      assert.deepEqual(await limiter.check('a'), { allowed: true, retryAfterMs: 0 });
    assert.deepEqual(await limiter.check('a'), { allowed: false, retryAfterMs: 60_000 });
    clock = 59_001;
    assert.deepEqual(await limiter.check('a'), { allowed: false, retryAfterMs: 999 });
    clock = 60_000;
    assert.equal((await limiter.check('a')).allowed, true, 'a new window');
  });

  test('forgets expired windows, and bounds its memory under a flood of keys', async () => {
    let clock = 0;
    const limiter = new MemoryWindowLimiter({
      limit: 1,
      windowMs: 1_000,
      now: () => clock,
      maxKeys: 100,
    });
    for (let i = 0; i < 10_000; i++) await limiter.check(`key ${i}`);
    assert.equal(limiter.size, 100);
    clock = 1_000;
    await limiter.check('fresh');
    assert.equal(limiter.size, 1, 'expired windows are dropped');
  });
});

describe('TokenBucket', () => {
  test('lets a burst through, then the refill rate', () => {
    let clock = 0;
    const bucket = new TokenBucket(10, 5, () => clock);
    for (let i = 0; i < 5; i++) assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
    assert.equal(bucket.msUntilToken(), 100);
    clock = 60;
    assert.equal(bucket.take(), false);
    assert.equal(Math.round(bucket.msUntilToken()), 40, 'the wait counts down');
    clock = 100;
    assert.equal(bucket.take(), true, 'one token per 100 ms');
    assert.equal(bucket.take(), false);
    clock = 100_000;
    for (let i = 0; i < 5; i++) assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false, 'never more than the burst');
  });
});
