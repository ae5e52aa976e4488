/**
 * Whether a Redis connection is up, as server/redis.ts follows it for both the log and the
 * widgets' `service` event: one change per transition, however many errors and reconnection
 * attempts come between, the same for everyone who asks about the same client. The events are
 * played on a client that never connects; the log is read from a client that cannot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../../server/log.js';
import { connectRedis, redisAvailability, type AvailabilityChange } from '../../server/redis.js';
import { freePort } from '../../testing/ports.js';
import { until } from '../../testing/wait.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { name: 'ECONNREFUSED' });

test('one change per transition, heard alike by everyone asking about the client', () => {
  const client = new Redis({ lazyConnect: true });
  const first: AvailabilityChange[] = [];
  const second: AvailabilityChange[] = [];
  redisAvailability(client).onChange((change) => first.push(change));
  redisAvailability(client).onChange((change) => second.push(change));

  // Never ready: each failed attempt is an error and a close; only the first close changes.
  for (let attempt = 0; attempt < 3; attempt++) {
    client.emit('error', refused());
    client.emit('close');
  }
  client.emit('ready');
  client.emit('ready');
  // An error with the connection still up changes nothing, but names the loss that follows.
  client.emit('error', refused());
  client.emit('close');
  client.emit('end');
  client.emit('ready');
  client.emit('close');

  assert.deepEqual(first, [
    { up: false, was: undefined, kind: 'ECONNREFUSED' },
    { up: true, was: false },
    { up: false, was: true, kind: 'ECONNREFUSED' },
    { up: true, was: false },
    { up: false, was: true, kind: 'closed' },
  ]);
  assert.deepEqual(second, first);
});

test('the log has one line for a connection that fails attempt after attempt', async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', write: (line) => lines.push(line) });
  const client = connectRedis(`redis://127.0.0.1:${await freePort()}`, logger, { name: 'test' });
  let errors = 0;
  client.on('error', () => errors++);
  try {
    await until(() => errors >= 4, { timeout: 10_000, message: 'the client never retried' });
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      logged.map(({ event, name }) => ({ event, name })),
      [{ event: 'redis.unreachable', name: 'test' }],
    );
  } finally {
    client.disconnect();
  }
});
