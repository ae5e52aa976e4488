/**
 * Puts the service together: the Hono app and Socket.IO on one HTTP server and port, the room
 * store, and the sweeper that closes expired rooms. `close()` ends every socket, connection and
 * timer, so a process (or a test run) that closes its service exits by itself.
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from './app.js';
import { AddressBudget, LiveRooms } from './budget.js';
import { defaultConfig, type Config } from './config.js';
import { iceTickets } from './ice.js';
import { createLogger, errorKind, roomTag, type Logger } from './log.js';
import type { Hasher } from './password.js';
import { createSignalling, type RelayHook, type SignallingServer } from './signalling.js';
import type { StaticDirs } from './static.js';
import { MemoryRoomStore } from './store/memory.js';
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
}

export interface Service {
  app: Hono;
  io: SignallingServer;
  httpServer: HttpServer;
  store: RoomStore;
  /** The rooms' swarms, run over `store`. */
  swarms: RoomSwarms;
  /** Sockets and messages per client address. */
  budget: AddressBudget;
  /** Open rooms per client address. */
  liveRooms: LiveRooms;
  /** Starts listening (port 0 picks a free one) and starts the sweeper. */
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  /** Stops the sweeper, closes every socket and connection, then the store. */
  close(): Promise<void>;
}

export function createService(options: ServiceOptions = {}): Service {
  const config = options.config ?? { ...defaultConfig };
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const store =
    options.store ??
    new MemoryRoomStore({
      roomGraceMs: config.roomGraceMs,
      roomMaxAgeMs: config.roomMaxAgeMs,
      now: options.now,
    });
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
  const budget = new AddressBudget({ config, now: options.now });
  const liveRooms = new LiveRooms(
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
    liveRooms,
    ...options.staticDirs,
    onRoomClosed: (roomId, reason) => closeRoom(roomId, reason),
  });
  const httpServer = createAdaptorServer({ fetch: app.fetch }) as HttpServer;
  const signalling = createSignalling(httpServer, {
    config,
    store,
    swarms,
    logger,
    tokens,
    iceTickets: tickets,
    budget,
    relayHook: options.relayHook,
  });
  closeRoom = signalling.closeRoom;

  let sweeper: NodeJS.Timeout | undefined;
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      const expired = await store.sweep();
      for (const roomId of expired) {
        liveRooms.forget(roomId);
        signalling.closeRoom(roomId, 'expired');
        logger.info('room.expired', { room: roomTag(roomId) });
      }
    } catch (err) {
      logger.error('sweep.failed', { kind: errorKind(err) });
    } finally {
      sweeping = false;
    }
  };

  let closed: Promise<void> | undefined;

  return {
    app,
    io: signalling.io,
    httpServer,
    store,
    swarms,
    budget,
    liveRooms,

    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        httpServer.once('error', onError);
        httpServer.listen(port, host, () => {
          httpServer.off('error', onError);
          sweeper ??= setInterval(() => void sweep(), config.sweepIntervalMs);
          const bound = (httpServer.address() as AddressInfo).port;
          resolve({ port: bound, url: `http://${displayHost(host)}:${bound}` });
        });
      });
    },

    close() {
      closed ??= (async () => {
        clearInterval(sweeper);
        swarms.close();
        await new Promise<void>((resolve) => {
          // io.close() disconnects every socket and closes the HTTP server; open keep-alive
          // connections would hold that close open, so they go too.
          signalling.io.close(() => resolve());
          httpServer.closeAllConnections();
        });
        await store.close();
      })();
      return closed;
    },
  };
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
