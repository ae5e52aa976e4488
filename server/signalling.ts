/**
 * The real-time side of the service: Socket.IO handlers that admit sockets to rooms (a password
 * room's recipients only with a room token), name the peers a recipient should fetch from, and
 * relay each sealed envelope to exactly one addressed member of the sender's room. Every message
 * passes a per-socket rate limit; payloads are validated at runtime; every failure is an error
 * acknowledgement, never a throw. Room state lives in the store, not in this module.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import * as v from 'valibot';
import {
  JoinRequestSchema,
  PROTOCOL_VERSION,
  SignalOutSchema,
  SourcesRequestSchema,
  errorAck,
  type Ack,
  type ClientToServerEvents,
  type RoomClosed,
  type ServerToClientEvents,
} from '../src/protocol/index.js';
import { requestAllowed, type Config } from './config.js';
import { TokenBucket } from './limits.js';
import { errorKind, roomTag, type Logger } from './log.js';
import type { Role, RoomRecord, RoomStore } from './store/store.js';
import { roomTokens, tokensMatch, type RoomTokens } from './tokens.js';

export interface RelayMessage {
  from: string;
  to: string;
  envelope: string;
}

/**
 * A test seam standing in for a hostile service: it sees every envelope before delivery and may
 * alter it, send it elsewhere (`to`) or drop it (`null`).
 */
export type RelayHook = (
  msg: RelayMessage,
) =>
  | Pick<RelayMessage, 'to' | 'envelope'>
  | null
  | Promise<Pick<RelayMessage, 'to' | 'envelope'> | null>;

export interface SourceQuery {
  store: RoomStore;
  room: RoomRecord;
  /** The peer asking. */
  requester: string;
  /** Peers the requester does not want again. */
  exclude: readonly string[];
}

/**
 * Decides whom a recipient fetches from; an empty list means nobody can serve it now. The swarm
 * replaces this with seed assignment and a queue.
 */
export type SourcePicker = (query: SourceQuery) => Promise<string[]>;

/** Today's only source is the sharer, while its socket is connected. */
export const sharerSources: SourcePicker = async ({ room, requester, exclude }) => {
  const sharer = room.sharerPeerId;
  return sharer && sharer !== requester && !exclude.includes(sharer) ? [sharer] : [];
};

export interface SocketData {
  roomId?: string;
  role?: Role;
}

export type SignallingServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;
type SignallingSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

export interface SignallingOptions {
  config: Config;
  store: RoomStore;
  logger: Logger;
  relayHook?: RelayHook;
  pickSources?: SourcePicker;
  /** Checks room tokens at join; shared with the REST API that issues them. */
  tokens?: RoomTokens;
}

export interface Signalling {
  io: SignallingServer;
  /** Tells a room's sockets that it closed and takes them out of it. */
  closeRoom(roomId: string, reason: RoomClosed['reason']): void;
}

const EVENTS = new Set(['join', 'sources', 'signal']);

/**
 * A socket refused more messages than its burst allowance within this long is flooding on
 * purpose (a well-behaved client backs off at its first `rate-limited`), and is disconnected.
 */
const FLOOD_WINDOW_MS = 10_000;

/**
 * Socket.IO rooms named after store rooms get a prefix, so no room name can ever equal a socket
 * id (every socket is also in a room named after its own id, which is how relays address it).
 */
const channel = (roomId: string) => `room:${roomId}`;

type ErrorAck = Extract<Ack, { ok: false }>;

export function createSignalling(httpServer: HttpServer, options: SignallingOptions): Signalling {
  const { config, store, logger } = options;
  const pickSources = options.pickSources ?? sharerSources;
  const tokens =
    options.tokens ?? roomTokens({ secret: config.tokenSecret, ttlMs: config.roomTokenTtlMs });
  const io: SignallingServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: config.maxHttpBufferSize,
    cors: {
      origin: config.allowedOrigins === '*' ? '*' : config.allowedOrigins,
      methods: ['GET', 'POST'],
    },
    // CORS does not cover WebSocket upgrades; this check does, for both transports.
    allowRequest: (req, callback) => {
      const allowed = requestAllowed(config, req.headers.origin, req.headers.host);
      callback(allowed ? null : 'origin not allowed', allowed);
    },
  });

  io.engine.on('connection_error', (err: { code?: unknown }) => {
    logger.debug('engine.rejected', { code: typeof err.code === 'number' ? err.code : -1 });
  });
  // Long-polling responses and the WebSocket upgrade bypass the Hono app and its headers.
  io.engine.on('headers', (headers: Record<string, string>) => {
    headers['X-Content-Type-Options'] = 'nosniff';
    headers['Referrer-Policy'] = 'no-referrer';
  });

  io.on('connection', (socket) => {
    logger.debug('socket.connected', { sockets: io.engine.clientsCount });
    // One socket's events are handled one after another: a store that answers out of order
    // (Redis, say) must not let a candidate overtake the offer it belongs to.
    let tail = Promise.resolve();
    const inOrder = (task: () => Promise<void>) => {
      tail = tail.then(task).catch(() => {
        // `dispatch` settles every failure itself; only a broken log sink could land here.
      });
    };

    // Every incoming event passes here before any handler: first the rate limit, then the
    // event name. What is refused goes no further.
    const bucket = new TokenBucket(config.socketMessagesPerSecond, config.socketMessageBurst);
    let refused = 0;
    let refusedSince = 0;
    socket.use(([event, ...args], next) => {
      const ack = args.at(-1);
      if (!bucket.take()) {
        const now = performance.now();
        if (now - refusedSince > FLOOD_WINDOW_MS) {
          refused = 0;
          refusedSince = now;
        }
        if (++refused > config.socketMessageBurst) {
          logger.warn('socket.flooding', { refused });
          socket.disconnect(true);
          return;
        }
        logger.debug('socket.rejected', { event: 'any', code: 'rate-limited' });
        if (typeof ack === 'function') {
          reply(ack, errorAck('rate-limited', 'Too many messages; slow down and try again.'));
        }
        return;
      }
      if (typeof event === 'string' && EVENTS.has(event)) return next();
      logger.debug('socket.rejected', { event: 'unknown', code: 'bad-request' });
      if (typeof ack === 'function') reply(ack, errorAck('bad-request', 'Unknown event.'));
    });

    socket.on('join', (...args: unknown[]) =>
      inOrder(() =>
        dispatch('join', args, JoinRequestSchema, (req) => join(socket, req), versionMismatch),
      ),
    );
    socket.on('sources', (...args: unknown[]) =>
      inOrder(() =>
        dispatch('sources', args, SourcesRequestSchema, (req) =>
          sources(socket, req.exclude ?? []),
        ),
      ),
    );
    socket.on('signal', (...args: unknown[]) =>
      inOrder(() => dispatch('signal', args, SignalOutSchema, (msg) => signal(socket, msg))),
    );
    socket.on('disconnect', () => {
      leave(socket).catch((err: unknown) => {
        logger.error('socket.leave-failed', { kind: errorKind(err) });
      });
    });
  });

  /**
   * Runs one event: takes the ack off the end, validates the single payload, runs the handler and
   * acknowledges. Without an ack function the event is dropped (the protocol always asks for one).
   */
  function dispatch<S extends v.GenericSchema>(
    event: string,
    args: unknown[],
    schema: S,
    handle: (payload: v.InferOutput<S>) => Promise<Ack<object>>,
    onInvalid?: (raw: unknown) => ErrorAck | undefined,
  ): Promise<void> {
    const ack = args.at(-1);
    if (typeof ack !== 'function') {
      logger.debug('socket.rejected', { event, code: 'no-ack' });
      return Promise.resolve();
    }
    const run = async (): Promise<Ack<object>> => {
      if (args.length !== 2 || !isPlainObject(args[0])) {
        return errorAck('bad-request', `"${event}" takes one object as its payload.`);
      }
      const parsed = v.safeParse(schema, args[0]);
      if (!parsed.success) {
        return (
          onInvalid?.(args[0]) ??
          errorAck(
            'bad-request',
            `The "${event}" payload is not valid: ${parsed.issues[0].message}`.slice(0, 300),
          )
        );
      }
      return handle(parsed.output);
    };
    return run()
      .catch((err: unknown) => {
        logger.error('socket.handler-failed', { event, kind: errorKind(err) });
        return errorAck('internal', 'The service failed to handle this message.');
      })
      .then((res) => {
        if (!res.ok) logger.debug('socket.rejected', { event, code: res.error.code });
        reply(ack, res);
      });
  }

  async function join(
    socket: SignallingSocket,
    req: v.InferOutput<typeof JoinRequestSchema>,
  ): Promise<Ack<{ peerId: string }>> {
    const current = socket.data.roomId;
    if (current !== undefined) {
      if (await store.getMember(current, socket.id)) {
        return errorAck('not-allowed', 'This connection has already joined a room.');
      }
      // Its room closed or expired meanwhile; the socket is free to join another.
      await socket.leave(channel(current));
      socket.data.roomId = undefined;
      socket.data.role = undefined;
    }
    const room = await store.getRoom(req.roomId);
    if (!room) return errorAck('room-not-found', 'This share does not exist or has expired.');
    if (
      req.role === 'sharer' &&
      (req.sharerToken === undefined || !tokensMatch(req.sharerToken, room.sharerToken))
    ) {
      return errorAck('not-allowed', 'Only the sharer of this room may join as sharer.');
    }
    // Without the token a recipient never becomes a member, so it can neither be named as a
    // source nor address anyone, and no peer's envelope (SDP, candidates) ever reaches it.
    if (req.role === 'recipient' && room.passwordHash !== null && !tokens.verify(req.token, room)) {
      return errorAck('not-allowed', 'This share needs its password.');
    }
    const added = await store.addMember(
      room.id,
      { peerId: socket.id, role: req.role },
      config.maxSocketsPerRoom,
    );
    if (added === 'room-not-found') {
      return errorAck('room-not-found', 'This share does not exist or has expired.');
    }
    if (added === 'full') return errorAck('limit-exceeded', 'This share has too many peers.');
    if (req.role === 'sharer') await store.setSharerOnline(room.id, socket.id);
    if (!socket.connected) {
      // The socket left while we were busy; take it out again.
      await store.removeMember(room.id, socket.id);
      await store.setSharerOffline(room.id, socket.id);
      return errorAck('not-allowed', 'The connection closed.');
    }
    socket.data.roomId = room.id;
    socket.data.role = req.role;
    await socket.join(channel(room.id));
    logger.info('room.joined', { room: roomTag(room.id), role: req.role });
    return { ok: true, peerId: socket.id };
  }

  async function sources(
    socket: SignallingSocket,
    exclude: readonly string[],
  ): Promise<Ack<{ sources: string[] }>> {
    const roomId = socket.data.roomId;
    if (roomId === undefined) return errorAck('not-allowed', 'Join a room first.');
    const room = await store.getRoom(roomId);
    if (!room) return errorAck('room-not-found', 'This share does not exist or has expired.');
    const found = await pickSources({ store, room, requester: socket.id, exclude });
    if (found.length === 0) {
      return errorAck('no-sources', 'Nobody is sharing this file right now.');
    }
    return { ok: true, sources: found };
  }

  async function signal(
    socket: SignallingSocket,
    msg: v.InferOutput<typeof SignalOutSchema>,
  ): Promise<Ack> {
    const roomId = socket.data.roomId;
    if (roomId === undefined) return errorAck('not-allowed', 'Join a room first.');
    if (msg.envelope.length > config.maxEnvelopeChars) {
      return errorAck(
        'limit-exceeded',
        `This message is longer than this service relays (${config.maxEnvelopeChars} characters).`,
      );
    }
    if (!(await store.getMember(roomId, socket.id))) {
      return errorAck('room-not-found', 'This share does not exist or has expired.');
    }
    if (msg.to === socket.id || !(await store.getMember(roomId, msg.to))) {
      return errorAck('peer-not-found', 'That peer is not in this room.');
    }
    await store.addPartners(roomId, socket.id, msg.to);
    let out: Pick<typeof msg, 'to' | 'envelope'> | null = msg;
    if (options.relayHook) {
      out = await options.relayHook({ from: socket.id, to: msg.to, envelope: msg.envelope });
      // A hostile relay answers the sender as if all went well.
      if (out === null || (out.to !== msg.to && !(await store.getMember(roomId, out.to)))) {
        return { ok: true };
      }
    }
    io.to(out.to).emit('signal', { from: socket.id, envelope: out.envelope });
    return { ok: true };
  }

  async function leave(socket: SignallingSocket): Promise<void> {
    const { roomId, role } = socket.data;
    logger.debug('socket.disconnected', { sockets: io.engine.clientsCount });
    if (roomId === undefined) return;
    const partners = await store.removeMember(roomId, socket.id);
    if (role === 'sharer') await store.setSharerOffline(roomId, socket.id);
    for (const partner of partners) io.to(partner).emit('peer-left', { peerId: socket.id });
    logger.info('room.left', {
      room: roomTag(roomId),
      role: role ?? 'recipient',
      partners: partners.length,
    });
  }

  function closeRoom(roomId: string, reason: RoomClosed['reason']): void {
    io.to(channel(roomId)).emit('room-closed', { reason });
    io.in(channel(roomId)).socketsLeave(channel(roomId));
  }

  return { io, closeRoom };
}

function versionMismatch(raw: unknown): ErrorAck | undefined {
  if (typeof raw === 'object' && raw !== null && 'v' in raw && raw.v !== PROTOCOL_VERSION) {
    return errorAck(
      'protocol-mismatch',
      `The service speaks protocol version ${PROTOCOL_VERSION}; reload the page to update.`,
    );
  }
  return undefined;
}

/** Object schemas accept arrays and buffers with no offending keys; payloads are never those. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function reply(ack: unknown, res: unknown): void {
  try {
    (ack as (res: unknown) => void)(res);
  } catch {
    // The socket may have gone; there is nobody left to tell.
  }
}
