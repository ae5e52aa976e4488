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

/** A client for `url`, connecting at once, that never gives up reconnecting. */
export function connectRedis(url: string, logger: Logger, options: RedisOptions = {}): Redis {
  return watch(
    new Redis(url, {
      // Retry forever: 50 ms, 100 ms, ... up to REDIS_MAX_BACKOFF_MS between attempts.
      retryStrategy: (times) => Math.min(times * 50, REDIS_MAX_BACKOFF_MS),
      // A command sent while the connection is down fails now, not after reconnects.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      // Commands issued in the same tick go out in one write: a relay's store questions and the
      // adapter's publishes would otherwise be a system call each, most of a busy process's
      // time spent on Redis.
      enableAutoPipelining: true,
    }),
    logger,
    options.name ?? 'redis',
  );
}

/**
 * A connection for the Socket.IO Redis Streams adapter, made from the service's: its publishes
 * fail fast like every other command, but the connections the adapter duplicates from it for its
 * blocking stream reads and its pub/sub wait for Redis instead, with no command timeout. Their
 * read loop starts the next read as soon as one fails, which would spin while Redis is down; and
 * a read blocks for seconds by design.
 */
export function adapterRedis(client: Redis, logger: Logger): Redis {
  const publisher = watch(client.duplicate(), logger, 'adapter');
  publisher.duplicate = (override) => {
    const reader = Redis.prototype.duplicate.call(publisher, {
      enableOfflineQueue: true,
      ...override,
    });
    delete reader.options.commandTimeout;
    return reader;
  };
  // The adapter publishes heartbeats and other passing messages without awaiting them; one that
  // fails while Redis is down is dropped (as everything sent then is), not an unhandled rejection.
  publisher.publish = ((...args: Parameters<Redis['publish']>) => {
    const sent = Redis.prototype.publish.apply(publisher, args);
    sent.catch(() => {});
    return sent;
  }) as Redis['publish'];
  return publisher;
}

/** Logs (without the URL, which may carry a password) when `client` loses and regains Redis. */
function watch(client: Redis, logger: Logger, name: string): Redis {
  redisAvailability(client).onChange((change) => {
    if (change.up) logger.info('redis.ready', { name });
    else logger.warn('redis.unreachable', { name, kind: change.kind });
  });
  return client;
}

/**
 * A change of whether a Redis connection is up: `was` is undefined when it had been neither ready
 * nor lost; a loss's `kind` is that of the last error reported since the connection was last
 * ready, or 'closed' if none was.
 */
export type AvailabilityChange =
  { up: true; was: boolean | undefined } | { up: false; was: boolean | undefined; kind: string };

/** Who hears when a Redis connection goes up or down. */
export interface RedisAvailability {
  /** Calls `listener` once per change, however many errors and reconnections lie between. */
  onChange(listener: (change: AvailabilityChange) => void): void;
}

const availabilities = new WeakMap<Redis, RedisAvailability>();

/**
 * The one place that follows whether `client` is up, shared by all who ask about the same client
 * (the log above, the widgets' `service` event in ./signalling.ts). Up once ready; down once the
 * connection closes or the client ends. ioredis emits an error at every failed attempt and
 * sometimes with the connection still up: errors change nothing by themselves, they only name the
 * loss.
 */
export function redisAvailability(client: Redis): RedisAvailability {
  let availability = availabilities.get(client);
  if (availability) return availability;
  const listeners: ((change: AvailabilityChange) => void)[] = [];
  let up: boolean | undefined = client.status === 'ready' ? true : undefined;
  let failure: string | undefined;
  const change = (now: boolean, kind = 'closed') => {
    if (up === now) return;
    const was = up;
    up = now;
    const told: AvailabilityChange = now ? { up: true, was } : { up: false, was, kind };
    for (const listener of listeners) listener(told);
  };
  client.on('ready', () => {
    failure = undefined;
    change(true);
  });
  client.on('error', (err: unknown) => {
    failure = errorKind(err);
  });
  const lost = () => {
    const kind = failure;
    failure = undefined;
    change(false, kind);
  };
  client.on('close', lost);
  client.on('end', lost);
  availability = { onChange: (listener) => void listeners.push(listener) };
  availabilities.set(client, availability);
  return availability;
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
