/**
 * The service's Redis connection (with `REDIS_URL`): it reconnects forever, and while Redis is
 * away commands fail at once (no offline queue, few retries) so requests are refused quickly
 * instead of piling up. Outages are logged once each, not once per reconnect attempt.
 */
import { Redis } from 'ioredis';
import { errorKind, type Logger } from './log.js';

/** The longest wait between reconnect attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000;

export function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  let down = false;
  redis.on('error', (err) => {
    if (down) return;
    down = true;
    logger.warn('redis.unreachable', { kind: errorKind(err) });
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('redis.ready');
  });
  return redis;
}
