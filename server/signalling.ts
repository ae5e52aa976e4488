/**
 * The real-time side of the service: Socket.IO handlers that admit sockets to rooms (a password
 * room's recipients only with a room token), relay each sealed envelope to exactly one addressed
 * member of the sender's room, and run the swarm: seeds joining and leaving the pool, sources
 * assigned or a queue place given, releases and reports, with `assigned`, `queue` and coalesced
 * `swarm` events to the sockets concerned. Every message passes a per-socket rate limit; payloads
 * are validated at runtime; every failure is an error acknowledgement, never a throw. Room and
 * swarm state live in the store, and the swarm's rules in server/swarm/, not in this module.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { Server, type Socket } from 'socket.io';
import * as v from 'valibot';
import {
  JoinRequestSchema,
  PEER_ID_PATTERN,
  PROTOCOL_VERSION,
  ReleaseSchema,
  ReportSchema,
  SeedStatusSchema,
  SignalOutSchema,
  SourcesRequestSchema,
  errorAck,
  type Ack,
  type ClientToServerEvents,
  type RoomClosed,
  type ServerToClientEvents,
  type SourcesReply,
  type SwarmStats,
} from '../protocol/index.js';
import { requestAllowed, type Config } from './config.js';
import { TokenBucket } from './limits.js';
import { errorKind, roomTag, type Logger } from './log.js';
import type { Role, RoomStore } from './store/store.js';
import { RoomSwarms, type SwarmUpdate } from './swarm/room-swarms.js';
import { sameStats } from './swarm/steps.js';
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
  /** The rooms' swarms over `store`; made from it when absent. */
  swarms?: RoomSwarms;
  logger: Logger;
  relayHook?: RelayHook;
  /** Checks room tokens at join; shared with the REST API that issues them. */
  tokens?: RoomTokens;
}

export interface Signalling {
  io: SignallingServer;
  /** Tells a room's sockets that it closed and takes them out of it. */
  closeRoom(roomId: string, reason: RoomClosed['reason']): void;
}

/**
 * A room's `swarm` counts go out at most this often: the first change at once, later ones
 * within the window together at its end, so a busy room of many members is never flooded.
 */
export const SWARM_STATS_INTERVAL_MS = 250;

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

/** An event the service answers: how its payload is checked, and what handles it. */
interface Handler {
  schema: v.GenericSchema;
  handle: (socket: SignallingSocket, payload: unknown) => Promise<Ack<object>>;
  /** A refusal more telling than "not valid", for some invalid payloads. */
  onInvalid?: (raw: unknown) => ErrorAck | undefined;
}

function handler<S extends v.GenericSchema>(
  schema: S,
  handle: (socket: SignallingSocket, payload: v.InferOutput<S>) => Promise<Ack<object>>,
  onInvalid?: Handler['onInvalid'],
): Handler {
  // Sound: `dispatch` hands `handle` only what `schema` parsed.
  return { schema, handle: handle as Handler['handle'], onInvalid };
}

/**
 * Events a client may send without an ack. Relays are most of the service's traffic: answering
 * each would double the messages it writes (and, at 2,000 relays a second, its p99 latency), so
 * the widget sends them without one and hears back only when one failed.
 */
const ACKLESS: ReadonlySet<string> = new Set(['signal']);

/** An event that arrived while an earlier one of its socket was being handled. */
interface Pending {
  event: string;
  handler: Handler;
  args: unknown[];
}

/** What the service keeps per socket besides Socket.IO's own. */
class SocketState {
  /** Refusals since `refusedSince`: past the burst allowance within the window is a flood. */
  refused = 0;
  refusedSince = 0;
  /** An event is being handled; later ones wait in `waiting`, in order. */
  busy = false;
  waiting: Pending[] | null = null;

  constructor(readonly bucket: TokenBucket) {}
}

export function createSignalling(httpServer: HttpServer, options: SignallingOptions): Signalling {
  const { config, store, logger } = options;
  const swarms = options.swarms ?? new RoomSwarms(store);
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

  // Engine.io keeps each connection's upgrade request for as long as the connection lives, and
  // nothing here reads it after the handshake (Socket.IO's `socket.handshake` is built from it
  // and unused; the client address that limits count is read by the REST API). Dropping it, and
  // the headers its upgrade response still holds on to, saves about half a kilobyte a socket.
  io.engine.on('connection', (raw: { request: IncomingMessage | null }) => {
    const req = raw.request;
    raw.request = null;
    if (req) {
      req.headers = {};
      req.rawHeaders = [];
    }
  });

  io.on('connection', (socket) => {
    logger.debug('socket.connected', { sockets: io.engine.clientsCount });
    // Two closures and one small object a socket; every other function here is shared by all
    // sockets (a middleware, a listener per event and a promise chain per socket came to about
    // a kilobyte a socket).
    const state = new SocketState(
      new TokenBucket(config.socketMessagesPerSecond, config.socketMessageBurst),
    );
    socket.onAny((event: unknown, ...args: unknown[]) => receive(socket, state, event, args));
    socket.on('disconnect', () => {
      leave(socket).catch((err: unknown) => {
        logger.error('socket.leave-failed', { kind: errorKind(err) });
      });
    });
  });

  /** Each event the service answers: its payload's schema and its handler. */
  const handlers = new Map<string, Handler>([
    ['join', handler(JoinRequestSchema, join, versionMismatch)],
    ['sources', handler(SourcesRequestSchema, sources)],
    ['signal', handler(SignalOutSchema, signal)],
    ['seed', handler(SeedStatusSchema, seed)],
    ['release', handler(ReleaseSchema, release)],
    ['report', handler(ReportSchema, report)],
  ]);

  /**
   * Every incoming event arrives here before any handler: first the rate limit, then the event
   * name. What is refused goes no further; the rest is handled in order of arrival.
   */
  function receive(
    socket: SignallingSocket,
    state: SocketState,
    event: unknown,
    args: unknown[],
  ): void {
    // A packet decoded just before the connection closed still arrives; it is not handled.
    if (!socket.connected) return;
    const ack = args.at(-1);
    if (!state.bucket.take()) {
      const now = performance.now();
      if (now - state.refusedSince > FLOOD_WINDOW_MS) {
        state.refused = 0;
        state.refusedSince = now;
      }
      if (++state.refused > config.socketMessageBurst) {
        logger.warn('socket.flooding', { refused: state.refused });
        socket.disconnect(true);
        return;
      }
      logger.debug('socket.rejected', { event: 'any', code: 'rate-limited' });
      answer(
        socket,
        event,
        args,
        errorAck('rate-limited', 'Too many messages; slow down and try again.'),
      );
      return;
    }
    const known = typeof event === 'string' ? handlers.get(event) : undefined;
    if (!known) {
      logger.debug('socket.rejected', { event: 'unknown', code: 'bad-request' });
      if (typeof ack === 'function') reply(ack, errorAck('bad-request', 'Unknown event.'));
      return;
    }
    // One socket's events are handled one after another: a store that answers out of order
    // (Redis, say) must not let a candidate overtake the offer it belongs to.
    if (state.busy) {
      (state.waiting ??= []).push({ event: event as string, handler: known, args });
      return;
    }
    state.busy = true;
    void drain(socket, state, { event: event as string, handler: known, args });
  }

  async function drain(
    socket: SignallingSocket,
    state: SocketState,
    first: Pending,
  ): Promise<void> {
    for (let next: Pending | undefined = first; next; next = state.waiting?.shift()) {
      try {
        await dispatch(socket, next.event, next.handler, next.args);
      } catch {
        // `dispatch` settles every failure itself; only a broken log sink could land here.
      }
    }
    state.busy = false;
  }

  /**
   * Runs one event: takes the ack off the end, validates the single payload, runs the handler and
   * acknowledges. Without an ack function the event is dropped, except a relay (`signal`): that
   * is answered only if it failed, with `signal-failed`.
   */
  async function dispatch(
    socket: SignallingSocket,
    event: string,
    { schema, handle, onInvalid }: Handler,
    args: unknown[],
  ): Promise<void> {
    const acked = typeof args.at(-1) === 'function';
    if (!acked && !ACKLESS.has(event)) {
      logger.debug('socket.rejected', { event, code: 'no-ack' });
      return;
    }
    let res: Ack<object>;
    try {
      if (args.length !== (acked ? 2 : 1) || !isPlainObject(args[0])) {
        res = errorAck('bad-request', `"${event}" takes one object as its payload.`);
      } else {
        const parsed = v.safeParse(schema, args[0]);
        res = parsed.success
          ? await handle(socket, parsed.output)
          : (onInvalid?.(args[0]) ??
            errorAck(
              'bad-request',
              `The "${event}" payload is not valid: ${parsed.issues[0].message}`.slice(0, 300),
            ));
      }
    } catch (err) {
      logger.error('socket.handler-failed', { event, kind: errorKind(err) });
      res = errorAck('internal', 'The service failed to handle this message.');
    }
    if (!res.ok) logger.debug('socket.rejected', { event, code: res.error.code });
    answer(socket, event, args, res);
  }

  /**
   * Answers an event through its ack; one of the ACKLESS events sent without an ack hears only
   * of a failure, as `signal-failed` naming the addressee.
   */
  function answer(socket: SignallingSocket, event: unknown, args: unknown[], res: Ack<object>) {
    const ack = args.at(-1);
    if (typeof ack === 'function') reply(ack, res);
    else if (!res.ok && typeof event === 'string' && ACKLESS.has(event)) {
      const payload = args[0];
      const to =
        isPlainObject(payload) && typeof payload.to === 'string' && PEER_ID_PATTERN.test(payload.to)
          ? payload.to
          : '';
      socket.emit('signal-failed', { to, error: res.error });
    }
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
    let update: SwarmUpdate | null = null;
    if (req.role === 'sharer') {
      await store.setSharerOnline(room.id, socket.id);
      update = await swarms.setSeed(
        room.id,
        socket.id,
        { have: 'all', seeding: true },
        config.swarmCapacity,
      );
    }
    if (!socket.connected) {
      // The socket left while we were busy; take it out again. Waiters its arrival served are
      // told, as of any source that vanishes: their links fail and they ask again.
      const removal = await swarms.leave(room.id, socket.id);
      await store.setSharerOffline(room.id, socket.id);
      if (update) announce(room.id, update);
      if (removal) announce(room.id, removal.result);
      return errorAck('not-allowed', 'The connection closed.');
    }
    socket.data.roomId = room.id;
    socket.data.role = req.role;
    await socket.join(channel(room.id));
    // The newcomer hears the counts before its acknowledgement, from the room or on its own.
    if (!(update && announce(room.id, update))) {
      const stats = await swarms.stats(room.id);
      if (stats) socket.emit('swarm', stats);
    }
    logger.info('room.joined', { room: roomTag(room.id), role: req.role });
    return { ok: true, peerId: socket.id };
  }

  /** The room and role of a socket that may use the swarm events, or the refusal. */
  function recipientOf(socket: SignallingSocket): string | ErrorAck {
    const { roomId, role } = socket.data;
    if (roomId === undefined) return errorAck('not-allowed', 'Join a room first.');
    if (role !== 'recipient') {
      return errorAck('not-allowed', 'The sharer serves its room; only recipients do this.');
    }
    return roomId;
  }

  const gone = () => errorAck('room-not-found', 'This share does not exist or has expired.');

  async function sources(
    socket: SignallingSocket,
    req: v.InferOutput<typeof SourcesRequestSchema>,
  ): Promise<Ack<SourcesReply>> {
    const roomId = recipientOf(socket);
    if (typeof roomId !== 'string') return roomId;
    const result = await swarms.requestSources(
      roomId,
      socket.id,
      { exclude: req.exclude ?? [], max: req.max },
      config.swarmMaxSources,
    );
    if (!result) return gone();
    announce(roomId, result.update);
    const { outcome } = result;
    if (outcome.kind === 'no-sources') {
      return errorAck('no-sources', 'Nobody is sharing this file right now.');
    }
    if (outcome.kind === 'queued') {
      logger.debug('swarm.queued', { room: roomTag(roomId), position: outcome.position });
      return { ok: true, sources: [], position: outcome.position };
    }
    return { ok: true, sources: outcome.sources };
  }

  async function seed(
    socket: SignallingSocket,
    status: v.InferOutput<typeof SeedStatusSchema>,
  ): Promise<Ack> {
    const roomId = recipientOf(socket);
    if (typeof roomId !== 'string') return roomId;
    const update = await swarms.setSeed(roomId, socket.id, status, config.swarmCapacity);
    if (!update) return gone();
    announce(roomId, update);
    return { ok: true };
  }

  async function release(
    socket: SignallingSocket,
    msg: v.InferOutput<typeof ReleaseSchema>,
  ): Promise<Ack> {
    const roomId = recipientOf(socket);
    if (typeof roomId !== 'string') return roomId;
    const update = await swarms.release(roomId, socket.id, msg.peerId);
    if (!update) return gone();
    announce(roomId, update);
    return { ok: true };
  }

  async function report(
    socket: SignallingSocket,
    msg: v.InferOutput<typeof ReportSchema>,
  ): Promise<Ack> {
    const roomId = recipientOf(socket);
    if (typeof roomId !== 'string') return roomId;
    const result = await swarms.report(roomId, socket.id, msg.peerId, msg.reason);
    if (!result) return gone();
    logger.info('swarm.reported', {
      room: roomTag(roomId),
      reason: msg.reason,
      evicted: result.evicted,
    });
    announce(roomId, result.update);
    return { ok: true };
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
    deliver(out.to, { from: socket.id, envelope: out.envelope });
    return { ok: true };
  }

  /**
   * A relayed envelope goes straight to its socket when that is in this process, skipping the
   * adapter's broadcast path (a room lookup and a pre-encoded frame, built for rooms of many:
   * about 5 % of the relay's CPU), and through its socket-id room otherwise, which a cluster
   * adapter carries to the process holding it.
   */
  function deliver(to: string, msg: { from: string; envelope: string }): void {
    const local = io.sockets.sockets.get(to);
    if (local) local.emit('signal', msg);
    else io.to(to).emit('signal', msg);
  }

  async function leave(socket: SignallingSocket): Promise<void> {
    const { roomId, role } = socket.data;
    logger.debug('socket.disconnected', { sockets: io.engine.clientsCount });
    if (roomId === undefined) return;
    const removal = await swarms.leave(roomId, socket.id);
    if (role === 'sharer') await store.setSharerOffline(roomId, socket.id);
    const partners = removal?.partners ?? [];
    for (const partner of partners) io.to(partner).emit('peer-left', { peerId: socket.id });
    if (removal) announce(roomId, removal.result);
    logger.info('room.left', {
      room: roomTag(roomId),
      role: role ?? 'recipient',
      partners: partners.length,
    });
  }

  /**
   * Tells the sockets what a swarm step changed: sources to each waiter served, new places to
   * each waiter that moved, and the counts to the room (coalesced). True when the counts went
   * out to the room just now.
   */
  function announce(roomId: string, update: SwarmUpdate): boolean {
    for (const { peerId, sources } of update.served) io.to(peerId).emit('assigned', { sources });
    for (const { peerId, position } of update.moved) io.to(peerId).emit('queue', { position });
    if (update.served.length > 0) {
      logger.debug('swarm.served', { room: roomTag(roomId), waiters: update.served.length });
    }
    return update.statsChanged ? statsChanged(roomId, update.stats) : false;
  }

  /** Per room with counts sent in the last window: what was sent, and whether more changed. */
  const windows = new Map<
    string,
    { sent: SwarmStats; dirty: boolean; timer: ReturnType<typeof setTimeout> }
  >();

  function statsChanged(roomId: string, stats: SwarmStats): boolean {
    const open = windows.get(roomId);
    if (open) {
      open.dirty = true;
      return false;
    }
    io.to(channel(roomId)).emit('swarm', stats);
    openWindow(roomId, stats);
    return true;
  }

  function openWindow(roomId: string, sent: SwarmStats): void {
    const timer = setTimeout(() => {
      closeWindow(roomId).catch((err: unknown) => {
        windows.delete(roomId);
        logger.error('swarm.stats-failed', { kind: errorKind(err) });
      });
    }, SWARM_STATS_INTERVAL_MS);
    // A pending count must not keep a closing process alive.
    timer.unref();
    windows.set(roomId, { sent, dirty: false, timer });
  }

  /** The window ends: what changed within it goes out in one event, which opens the next. */
  async function closeWindow(roomId: string): Promise<void> {
    const open = windows.get(roomId);
    windows.delete(roomId);
    if (!open?.dirty) return;
    const stats = await swarms.stats(roomId);
    if (!stats || windows.has(roomId) || sameStats(stats, open.sent)) return;
    io.to(channel(roomId)).emit('swarm', stats);
    openWindow(roomId, stats);
  }

  function closeRoom(roomId: string, reason: RoomClosed['reason']): void {
    const open = windows.get(roomId);
    if (open) clearTimeout(open.timer);
    windows.delete(roomId);
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
