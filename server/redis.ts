/**
 * The service's Redis connection (`REDIS_URL`): one ioredis client shared by the room store, the
 * rate limits and the Socket.IO adapter. While Redis is unreachable the client reconnects forever
 * with a capped backoff, and every command fails at once instead of queueing: a request then gets
 * a quick 503 rather than hanging, and nothing stale is replayed when Redis returns.
 */
import { Redis } from 'ioredis';
import { errorKind, type Logger } from './log.js';

/** The longest pause between two reconnection attempts. */
export const REDIS_MAX_BACKOFF_MS = 2_000;

/** How long one command may wait for its reply before it fails (the connection is then dropped). */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;

export interface RedisOptions {
  /** A name for the connection in the log, e.g. 'store' or 'adapter'. */
  name?: string;
}

/**
 * A client for `url`, connecting at once. It logs (without the URL, which may carry a password)
 * when it loses and regains Redis, and never gives up reconnecting.
 */
export function connectRedis(url: string, logger: Logger, options: RedisOptions = {}): Redis {
  const name = options.name ?? 'redis';
  const client = new Redis(url, {
    // Retry forever: 50 ms, 100 ms, ... up to REDIS_MAX_BACKOFF_MS between attempts.
    retryStrategy: (times) => Math.min(times * 50, REDIS_MAX_BACKOFF_MS),
    // A command sent while the connection is down fails now, not after reconnects.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  });
  // ioredis emits an error for every failed attempt; the log gets one line per change instead.
  let up: boolean | undefined;
  client.on('ready', () => {
    if (up !== true) logger.info('redis.ready', { name });
    up = true;
  });
  client.on('error', (err: unknown) => {
    if (up !== false) logger.warn('redis.unreachable', { name, kind: errorKind(err) });
    up = false;
  });
  return client;
}

/** Resolves once `client` is ready, or rejects after `timeoutMs`. */
export function redisReady(client: Redis, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
