/**
 * The real-time side of the service: a Socket.IO server whose every incoming event passes the
 * per-socket pipeline (./signalling/pipeline.ts) to one of the handlers named here, for joining
 * and leaving rooms (./signalling/membership.ts), relaying sealed envelopes
 * (./signalling/relay.ts) and the swarm (./signalling/swarm-events.ts), whose changes the
 * announcer tells the sockets concerned. Each connection is admitted against its client
 * address's budget (./budget.ts) before it may send anything. Room and swarm state live in the
 * store, not here.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import type * as v from 'valibot';
import {
  JoinRequestSchema,
  ReleaseSchema,
  ReportSchema,
  SeedStatusSchema,
  SignalOutSchema,
  SourcesRequestSchema,
  type Ack,
  type RoomClosed,
} from '../protocol/index.js';
import { addressResolver, rateKey } from './address.js';
import { AddressBudget, type Admission } from './budget.js';
import { requestAllowed, type Config } from './config.js';
import { errorKind, type Logger } from './log.js';
import { ServiceMetrics } from './metrics.js';
import { redisAvailability } from './redis.js';
import {
  channel,
  type RelayHook,
  type SignallingContext,
  type SignallingServer,
  type SignallingSocket,
} from './signalling/context.js';
import { depart, join, leave, versionMismatch } from './signalling/membership.js';
import { SocketPipeline, handler, type Handler } from './signalling/pipeline.js';
import { envelopeTooLong, signal, tellSignalFailed } from './signalling/relay.js';
import { SwarmAnnouncer } from './signalling/swarm-announcer.js';
import { release, report, seed, sources } from './signalling/swarm-events.js';
import { UNAVAILABLE_RETRY_MS, type Role, type RoomStore } from './store/store.js';
import type { RoomSwarms } from './swarm/room-swarms.js';
import { iceTickets, type IceTickets } from './ice.js';
import { roomTokens, type RoomTokens } from './tokens.js';

export type { RelayHook, SignallingServer } from './signalling/context.js';
export { SWARM_STATS_INTERVAL_MS } from './signalling/swarm-announcer.js';

export interface SignallingOptions {
  config: Config;
  store: RoomStore;
  /** The rooms' swarms, run over this same `store` (over another, the two would diverge). */
  swarms: RoomSwarms;
  logger: Logger;
  relayHook?: RelayHook;
  /** Checks room tokens at join; shared with the REST API that issues them. */
  tokens?: RoomTokens;
  /** Sockets and messages per client address; made from the config when absent. */
  budget?: AddressBudget;
  metrics?: ServiceMetrics;
  /** While true, new connections are refused (the service is shutting down). */
  draining?: () => boolean;
  /**
   * With Redis (see server/redis.ts's `adapterRedis`): messages to sockets and rooms reach the
   * sockets of every process on it, through Socket.IO's Redis Streams adapter.
   */
  adapterRedis?: Redis;
  /** Signs the ice tickets join acknowledgements carry when TURN is configured (see ice.ts). */
  iceTickets?: IceTickets;
  /**
   * The connection the store uses (see server/redis.ts's `connectRedis`): this process's sockets
   * hear when it is lost and when it is back (the `service` event).
   */
  redis?: Redis;
}

export interface Signalling {
  io: SignallingServer;
  /** Tells a room's sockets that it closed and takes them out of it. */
  closeRoom(roomId: string, reason: RoomClosed['reason']): void;
  /** Resolves once the departures of sockets already gone are settled in the store. */
  idle(): Promise<void>;
  /** Takes a member whose socket is gone with no departure (its process died) out of its room. */
  depart(roomId: string, peerId: string, role: Role): Promise<void>;
}

export function createSignalling(httpServer: HttpServer, options: SignallingOptions): Signalling {
  const { config, store, swarms, logger } = options;
  const metrics = options.metrics ?? new ServiceMetrics();
  const io: SignallingServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: config.maxHttpBufferSize,
    cors: {
      origin: config.allowedOrigins === '*' ? '*' : config.allowedOrigins,
      methods: ['GET', 'POST'],
    },
    // CORS does not cover WebSocket upgrades; this check does, for both transports.
    allowRequest: (req, callback) => {
      // A draining service refuses too: the widget's client retries, through a load balancer
      // on another process.
      const refusal = options.draining?.()
        ? 'draining'
        : requestAllowed(config, req.headers.origin)
          ? null
          : 'origin';
      if (refusal === null) return callback(null, true);
      metrics.connectionsRefused.inc({ code: refusal });
      callback(refusal === 'draining' ? 'shutting down' : 'origin not allowed', false);
    },
    // A connection that never joins the namespace holds a place for this long at most.
    connectTimeout: JOIN_NAMESPACE_TIMEOUT_MS,
    // A stream, unlike pub/sub, keeps what was sent while a process was cut off from Redis, and
    // supports connection state recovery, which stays off: widgets join again instead
    // (docs/redis.md).
    ...(options.adapterRedis && { adapter: createAdapter(options.adapterRedis) }),
  });
  const budget = options.budget ?? new AddressBudget({ config });
  const connections = configureEngine(io, logger, config, budget);
  io.use(async (socket, next) => {
    const admission = await connections.get(socket.conn)?.admitted;
    if (admission?.ok) return next();
    // The refusal reaches the client as `connect_error` with `data`, which a refused engine
    // connection (allowRequest) could not carry; then the connection goes.
    const error = admission?.error ?? { code: 'internal', message: 'Connection not admitted.' };
    logger.debug('socket.refused', { code: error.code });
    metrics.connectionsRefused.inc({ code: error.code });
    next(Object.assign(new Error(error.message), { data: error }));
    setImmediate(() => socket.conn.close());
  });

  const ctx: SignallingContext = {
    io,
    config,
    store,
    swarms,
    tokens:
      options.tokens ?? roomTokens({ secret: config.tokenSecret, ttlMs: config.roomTokenTtlMs }),
    logger,
    iceTickets:
      config.turnSecret === null
        ? null
        : (options.iceTickets ??
          iceTickets({ secret: config.tokenSecret, ttlMs: config.roomMaxAgeMs })),
    announcer: new SwarmAnnouncer(io, swarms, logger),
    metrics,
    relayHook: options.relayHook,
    sharedStore: options.adapterRedis !== undefined,
  };
  /** The handler of an event whose payload `schema` checks, run with this service's context. */
  const on = <S extends v.GenericSchema>(
    schema: S,
    handle: (
      context: SignallingContext,
      socket: SignallingSocket,
      payload: v.InferOutput<S>,
    ) => Promise<Ack<object>>,
    options?: Parameters<typeof handler>[2],
  ) => handler(schema, (socket, payload) => handle(ctx, socket, payload), options);
  const handlers = new Map<string, Handler>([
    ['join', on(JoinRequestSchema, join, { onInvalid: versionMismatch })],
    ['sources', on(SourcesRequestSchema, sources)],
    [
      'signal',
      on(SignalOutSchema, signal, {
        tellFailure: tellSignalFailed,
        onInvalid: (raw) => envelopeTooLong(raw, config.maxEnvelopeChars),
      }),
    ],
    ['seed', on(SeedStatusSchema, seed)],
    ['release', on(ReleaseSchema, release)],
    ['report', on(ReportSchema, report)],
  ]);
  const pipeline = new SocketPipeline({
    config,
    logger,
    handlers,
    refused: (event, code) => metrics.refused.inc({ event, code }),
  });
  // Leases that end while nobody in their room speaks still move its queue.
  swarms.onExpired = (roomId, update) => ctx.announcer.announce(roomId, update);

  // Departures under way, so a closing service lets them reach the store before closing it.
  const leaving = new Set<Promise<void>>();
  io.on('connection', (socket) => {
    const connection = connections.get(socket.conn);
    socket.data.address = connection?.address;
    logger.debug('socket.connected', { sockets: io.engine.clientsCount });
    // Two closures (the pipeline's listener and this one) and one small object a socket; every
    // other function here is shared by all sockets, so that what each socket holds stays small
    // when the service holds thousands of them.
    if (!connection?.admission?.ok) return;
    pipeline.attach(socket, connection.admission.bucket);
    socket.on('disconnect', () => {
      const left = leave(ctx, socket).catch((err: unknown) => {
        logger.error('socket.leave-failed', { kind: errorKind(err) });
      });
      leaving.add(left);
      void left.finally(() => leaving.delete(left));
    });
  });

  function closeRoom(roomId: string, reason: RoomClosed['reason']): void {
    ctx.announcer.forget(roomId);
    swarms.forget(roomId);
    io.to(channel(roomId)).emit('room-closed', { reason });
    io.in(channel(roomId)).socketsLeave(channel(roomId));
  }

  if (options.redis) tellAvailability(io, options.redis);

  return {
    io,
    closeRoom,
    idle: async () => void (await Promise.all(leaving)),
    depart: (roomId, peerId, role) => depart(ctx, roomId, peerId, role),
  };
}

/**
 * Tells every socket of this process when `redis` goes from ready to lost and back, as
 * ./redis.ts's `redisAvailability` sees it. Only this process's (`io.local`): the adapter that
 * reaches the others runs over the same Redis, and each process tells its own.
 */
function tellAvailability(io: SignallingServer, redis: Redis): void {
  redisAvailability(redis).onChange(({ up, was }) => {
    // A connection that was never ready has not been lost: nobody heard it was there.
    if (!up && was === undefined) return;
    io.local.emit(
      'service',
      up ? { available: true } : { available: false, retryAfterMs: UNAVAILABLE_RETRY_MS },
    );
  });
}

/** How long a connection may take to join the namespace (an honest client does it at once). */
const JOIN_NAMESPACE_TIMEOUT_MS = 10_000;
/** How long a refused connection is kept for its refusal to be read, when it does not join. */
const REFUSED_LINGER_MS = 1_000;

/**
 * An Engine.IO connection's client address (its rate key) and its budget's verdict, which takes
 * a moment when the connection window is counted in Redis.
 */
interface Connection {
  address: string;
  /** Resolves with the verdict once it is in. */
  admitted: Promise<Admission>;
  /** The verdict, from then on (before the namespace lets the socket in). */
  admission?: Admission;
}

/**
 * What Engine.IO does below Socket.IO: every new connection's client address read from its
 * handshake and admitted against that address's budget (both, by engine connection, are returned
 * for the namespace to act on), its refusals logged, its headers, its memory.
 */
function configureEngine(
  io: SignallingServer,
  logger: Logger,
  config: Config,
  budget: AddressBudget,
): WeakMap<object, Connection> {
  io.engine.on('connection_error', (err: { code?: unknown }) => {
    logger.debug('engine.rejected', { code: typeof err.code === 'number' ? err.code : -1 });
  });
  // Long-polling responses and the WebSocket upgrade bypass the Hono app and its headers.
  io.engine.on('headers', (headers: Record<string, string>) => {
    headers['X-Content-Type-Options'] = 'nosniff';
    headers['Referrer-Policy'] = 'no-referrer';
  });

  // Engine.io keeps each connection's upgrade request for as long as the connection lives, and
  // nothing here reads it after the handshake (Socket.IO's `socket.handshake` is built from it
  // and unused; the client address that limits count is read here first, once). Dropping it, and
  // the headers its upgrade response still holds on to, saves about half a kilobyte a socket.
  const connections = new WeakMap<object, Connection>();
  const resolveAddress = addressResolver(config);
  io.engine.on('connection', (raw: EngineConnection) => {
    const req = raw.request;
    const forwardedFor = req?.headers['x-forwarded-for'];
    const address = rateKey(
      resolveAddress(
        req?.socket.remoteAddress,
        Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor,
      ),
    );
    const connection: Connection = {
      address,
      admitted: budget.admit(address).then((admission) => {
        connection.admission = admission;
        if (!admission.ok) setTimeout(() => raw.close(), REFUSED_LINGER_MS).unref();
        return admission;
      }),
    };
    connections.set(raw, connection);
    // A connection that closes before its verdict gives its place back once the verdict is in.
    raw.once('close', () => void connection.admitted.then((a) => a.ok && a.close()));
    raw.request = null;
    if (req) {
      req.headers = {};
      req.rawHeaders = [];
    }
  });
  return connections;
}

/** The part of an Engine.IO connection used here. */
interface EngineConnection {
  request: IncomingMessage | null;
  once(event: 'close', listener: () => void): void;
  close(): void;
}
