import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBucket, WindowLimiter } from './limits.js';

describe('WindowLimiter', () => {
  test('allows `limit` hits per window from the first hit, then says how long to wait', () => {
    let clock = 0;
    const limiter = new WindowLimiter({ limit: 3, windowMs: 60_000, now: () => clock });
    for (let i = 0; i < 3; i++)
      assert.deepEqual(limiter.check('a'), { allowed: true, retryAfterMs: 0 });
    assert.deepEqual(limiter.check('a'), { allowed: false, retryAfterMs: 60_000 });
    assert.equal(limiter.check('b').allowed, true, 'keys are independent');
    clock = 59_001;
    assert.deepEqual(limiter.check('a'), { allowed: false, retryAfterMs: 999 });
    clock = 60_000;
    assert.equal(limiter.check('a').allowed, true, 'a new window');
  });

  test('a refund gives one hit back', () => {
    const limiter = new WindowLimiter({ limit: 1, windowMs: 1_000, now: () => 0 });
    assert.equal(limiter.check('a').allowed, true);
    assert.equal(limiter.check('a').allowed, false);
    limiter.refund('a');
    assert.equal(limiter.check('a').allowed, true);
    limiter.refund('unknown key');
  });

  test('forgets expired windows, and bounds its memory under a flood of keys', () => {
    let clock = 0;
    const limiter = new WindowLimiter({
      limit: 1,
      windowMs: 1_000,
      now: () => clock,
      maxKeys: 100,
    });
    for (let i = 0; i < 10_000; i++) limiter.check(`key ${i}`);
    assert.equal(limiter.size, 100);
    clock = 1_000;
    limiter.check('fresh');
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
