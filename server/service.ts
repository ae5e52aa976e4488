/**
 * Puts the service together: the Hono app and Socket.IO on one HTTP server and port, the room
 * store (in memory, or in Redis with `REDIS_URL`, shared by every process on it), the sweeper that
 * closes expired rooms and, with Redis, tends leases whose own process is gone and takes the
 * members of dead processes out of their rooms (./liveness.ts), and the metrics
 * (on a port of their own when configured). `drain()` shuts down gracefully (./drain.ts);
 * `close()` ends every socket, connection and timer at once, so a process (or a test run) that
 * closes its service exits by itself.
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Redis } from 'ioredis';
import { createApp } from './app.js';
import { AddressBudget, memoryLimits, type LiveRooms, type SharedLimits } from './budget.js';
import { defaultConfig, type Config } from './config.js';
import { countRequests, drain } from './drain.js';
import { redisLimits } from './limits-redis.js';
import { iceTickets } from './ice.js';
import { processLiveness } from './liveness.js';
import { createLogger, errorKind, roomTag, type Logger } from './log.js';
import { metricsListener, ServiceMetrics } from './metrics.js';
import type { Hasher } from './password.js';
import { createSignalling, type RelayHook, type SignallingServer } from './signalling.js';
import type { StaticDirs } from './static.js';
import { adapterRedis, connectRedis } from './redis.js';
import { MemoryRoomStore } from './store/memory.js';
import { RedisRoomStore, type RedisRoomStoreOptions } from './store/redis.js';
import type { RoomStore } from './store/store.js';
import { RoomSwarms } from './swarm/room-swarms.js';
import { roomTokens } from './tokens.js';

export interface ServiceOptions {
  config?: Config;
  store?: RoomStore;
  logger?: Logger;
  /** Test seam: a hostile relay that may alter, redirect or drop envelopes. */
  relayHook?: RelayHook;
  /** Where the widget build and the demo page are; the project's `dist/` and `demo/` by default. */
  staticDirs?: Partial<StaticDirs>;
  /** The clock for room expiry, rate-limit windows and room tokens; tests pass a fake one. */
  now?: () => number;
  /** Test seam: the password hash (scrypt by default). */
  hasher?: Hasher;
  /** The metrics registry; one of the service's own by default. */
  metrics?: ServiceMetrics;
  /**
   * The Redis connection (see server/redis.ts's `connectRedis`), which the caller then closes;
   * made from `config.redisUrl` (and closed with the service) when absent and that is set.
   */
  redis?: Redis;
  /**
   * Where the counters that processes share live (connections and rooms per address, password
   * tries): this process by default; `redisLimits` (./limits-redis.ts) shares them.
   */
  limits?: SharedLimits;
  /** With Redis: this process's heartbeat (see server/store/redis-liveness.ts for defaults). */
  liveness?: Pick<RedisRoomStoreOptions, 'heartbeatMs' | 'heartbeatTtlMs'>;
}

export interface Service {
  app: Hono;
  io: SignallingServer;
  httpServer: HttpServer;
  store: RoomStore;
  /** The Redis connection rooms and sockets share, if the service uses Redis. */
  redis: Redis | null;
  /** The rooms' swarms, run over `store`. */
  swarms: RoomSwarms;
  /** Sockets and messages per client address. */
  budget: AddressBudget;
  /** Open rooms per client address. */
  liveRooms: LiveRooms;
  metrics: ServiceMetrics;
  /**
   * Starts listening (port 0 picks a free one), and on `METRICS_PORT` when set, and starts the
   * sweeper.
   */
  listen(
    port?: number,
    host?: string,
  ): Promise<{ port: number; url: string; metricsUrl: string | null }>;
  /** True once `drain()` was called. */
  readonly draining: boolean;
  /**
   * Refuses new requests and connections, tells connected widgets to reconnect elsewhere, waits
   * (at most `ms`, `DRAIN_MS` by default) for what is under way, then closes. Resolves with
   * whether the deadline cut anything short.
   */
  drain(ms?: number): Promise<{ forced: boolean }>;
  /** Stops the sweeper, closes every socket and connection, then the store. */
  close(): Promise<void>;
}

export function createService(options: ServiceOptions = {}): Service {
  const config = options.config ?? { ...defaultConfig };
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const metrics = options.metrics ?? new ServiceMetrics();
  if (config.metricsToken !== null || config.metricsPort !== null) metrics.withProcessMetrics();
  let draining = false;
  let drained: Promise<{ forced: boolean }> | undefined;
  const isDraining = () => draining;
  const ownsRedis = !options.redis && config.redisUrl !== null;
  const redis =
    options.redis ??
    (config.redisUrl === null ? null : connectRedis(config.redisUrl, logger, { name: 'service' }));
  // Every error a Redis connection reports (a lost connection, a refused command) is counted.
  redis?.on('error', () => metrics.redisErrors.inc());
  const adapterClient = redis && adapterRedis(redis, logger);
  adapterClient?.on('error', () => metrics.redisErrors.inc());
  const roomOptions = {
    roomGraceMs: config.roomGraceMs,
    roomMaxAgeMs: config.roomMaxAgeMs,
    now: options.now,
  };
  const store: RoomStore =
    options.store ??
    (redis
      ? new RedisRoomStore({ ...roomOptions, ...options.liveness, client: redis })
      : new MemoryRoomStore(roomOptions));
  const swarms = new RoomSwarms(store, {
    now: options.now,
    leaseMs: config.swarmLeaseMs,
    eventsPerSecond: config.swarmEventsPerRoomPerSecond,
  });
  if (config.trustedProxy !== null && 'hops' in config.trustedProxy) {
    // Anyone who reaches the port directly writes the client address the limits count.
    logger.warn('config.trusted-proxy-hops', {
      hops: config.trustedProxy.hops,
      safeIf: 'port-only-reachable-through-proxies',
    });
  }
  // With Redis the counters are shared by every process; config validation has made sure
  // TOKEN_SECRET is set, which also keys the hashed addresses there.
  const limits =
    options.limits ??
    (redis && config.tokenSecret !== null
      ? redisLimits({
          redis,
          secret: config.tokenSecret,
          roomMaxAgeMs: config.roomMaxAgeMs,
          now: options.now,
        })
      : memoryLimits(options.now));
  const budget = new AddressBudget({ config, now: options.now, limits });
  const liveRooms = limits.liveRooms(
    config.liveRoomsPerAddress,
    async (id) => (await store.getRoom(id)) !== null,
  );

  // One signer for both sides: the REST API issues room tokens, the join handler checks them.
  const tokens = roomTokens({
    secret: config.tokenSecret,
    ttlMs: config.roomTokenTtlMs,
    now: options.now,
  });

  // The join handler issues ice tickets, `GET /ice` reads them.
  const tickets = iceTickets({
    secret: config.tokenSecret,
    ttlMs: config.roomMaxAgeMs,
    now: options.now,
  });

  // The app needs to tell sockets about closed rooms, and the sockets need the HTTP server that
  // the app becomes: the callback closes that loop once both exist.
  let closeRoom: (roomId: string, reason: 'stopped' | 'expired') => void = () => {};
  const app = createApp({
    config,
    store,
    logger,
    tokens,
    iceTickets: tickets,
    hasher: options.hasher,
    now: options.now,
    limits,
    liveRooms,
    metrics,
    draining: isDraining,
    ...options.staticDirs,
    onRoomClosed: (roomId, reason) => closeRoom(roomId, reason),
  });
  const httpServer = createAdaptorServer({ fetch: app.fetch }) as HttpServer;
  const requests = countRequests(httpServer);
  const signalling = createSignalling(httpServer, {
    config,
    store,
    swarms,
    logger,
    tokens,
    iceTickets: tickets,
    budget,
    metrics,
    draining: isDraining,
    relayHook: options.relayHook,
    adapterRedis: adapterClient ?? undefined,
    redis: redis ?? undefined,
  });
  closeRoom = signalling.closeRoom;
  metrics.observe({
    sockets: () => signalling.io.engine.clientsCount,
    rooms: () => store.countRooms(),
    swarm: store.swarmTotals?.bind(store),
    draining: isDraining,
  });
  const metricsServer = config.metricsPort === null ? null : metricsListener(metrics);

  let sweeper: NodeJS.Timeout | undefined;
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      const expired = await store.sweep();
      for (const roomId of expired) {
        signalling.closeRoom(roomId, 'expired');
        logger.info('room.expired', { room: roomTag(roomId) });
        await liveRooms.forget(roomId).catch((err: unknown) => {
          // Its place is freed anyway once its address reaches the limit and the store is asked.
          logger.warn('limits.unsettled', { kind: errorKind(err) });
        });
      }
    } catch (err) {
      logger.error('sweep.failed', { kind: errorKind(err) });
    } finally {
      sweeping = false;
    }
  };

  // Each lease has a timer in the process whose step made it; with several processes, one that
  // is gone leaves its leases to this: every process claims due ones from the shared store now
  // and then (each for one of its own lease periods, so a claimer that dies passes it on) and
  // ends them as its timer would have.
  let tender: NodeJS.Timeout | undefined;
  let tending = false;
  const tend = async () => {
    if (tending || !store.claimDueSwarms) return;
    tending = true;
    try {
      for (const roomId of await store.claimDueSwarms(config.swarmLeaseMs)) {
        const update = await swarms.expire(roomId);
        if (update) swarms.onExpired?.(roomId, update);
      }
    } catch (err) {
      logger.warn('swarm.tend-failed', { kind: errorKind(err) });
    } finally {
      tending = false;
    }
  };

  // With a shared store, members of processes that died without a departure are cleaned up by a
  // live one; a process given up while cut off sends its sockets in rooms to join again.
  const liveness =
    store.liveness &&
    processLiveness({
      liveness: store.liveness,
      logger,
      depart: ({ roomId, peerId, role }) => signalling.depart(roomId, peerId, role),
      rejoinAll: () => {
        for (const socket of signalling.io.sockets.sockets.values()) {
          // As a drain does (./drain.ts): the client reconnects and the widget joins again.
          if (socket.data.roomId !== undefined) socket.conn.close();
        }
      },
    });

  let closed: Promise<void> | undefined;

  const service: Service = {
    app,
    io: signalling.io,
    httpServer,
    store,
    redis,
    swarms,
    budget,
    liveRooms,
    metrics,

    async listen(port = config.port, host = config.host) {
      const bound = await listenOn(httpServer, port, host);
      const metricsPort =
        metricsServer &&
        (await listenOn(metricsServer, config.metricsPort ?? 0, config.metricsHost));
      sweeper ??= setInterval(() => void sweep(), config.sweepIntervalMs);
      if (store.claimDueSwarms) tender ??= setInterval(() => void tend(), tendIntervalMs(config));
      liveness?.start();
      return {
        port: bound,
        url: `http://${displayHost(host)}:${bound}`,
        metricsUrl: metricsPort
          ? `http://${displayHost(config.metricsHost)}:${metricsPort}/metrics`
          : null,
      };
    },

    get draining() {
      return isDraining();
    },

    drain(ms = config.drainMs) {
      draining = true;
      drained ??= drain({
        httpServer,
        signalling,
        logger,
        requests,
        ms,
        close: () => service.close(),
      });
      return drained;
    },

    close() {
      closed ??= (async () => {
        clearInterval(sweeper);
        clearInterval(tender);
        liveness?.stop();
        swarms.close();
        metricsServer?.close();
        metricsServer?.closeAllConnections();
        await new Promise<void>((resolve) => {
          // io.close() disconnects every socket and closes the HTTP server; open keep-alive
          // connections would hold that close open, so they go too.
          signalling.io.close(() => resolve());
          httpServer.closeAllConnections();
        });
        // Departures of the sockets just closed reach the store before it closes.
        await signalling.idle();
        // Its members are gone, so nobody need wait for its heartbeat to expire.
        await liveness?.retire().catch((err: unknown) => {
          logger.warn('process.retire-failed', { kind: errorKind(err) });
        });
        await store.close();
        adapterClient?.disconnect();
        if (ownsRedis) redis?.disconnect();
      })();
      return closed;
    },
  };
  return service;
}

/** Listens on `port` (0: a free one) and resolves with the port bound. */
function listenOn(server: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** How often leases left by a gone process are looked for: a lease runs late by at most this. */
export function tendIntervalMs(config: Config): number {
  return Math.max(100, Math.min(config.sweepIntervalMs, Math.round(config.swarmLeaseMs / 4)));
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
