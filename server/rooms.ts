/**
 * The rooms REST API (`/rooms`): a sharer creates, restores and stops its room; anyone with the
 * link reads it; a password room takes tries and answers a right one with a room token. Every new
 * room is counted against its client address's limits, and every password try against the
 * address's and the room's, before any hashing. Room state is the store's; this module keeps only
 * its rate-limit counters, and knows nothing of sockets beyond the `onRoomClosed` callback.
 */
import { Hono, type Context } from 'hono';
import * as v from 'valibot';
import {
  CreateRoomBodySchema,
  PROTOCOL_VERSION,
  PasswordBodySchema,
  RestoreRoomBodySchema,
  RoomIdSchema,
  type CreateRoomBody,
  type CreateRoomReply,
  type PasswordReply,
  type RoomClosed,
  type RoomInfo,
} from '../protocol/index.js';
import { memoryLimits, type LiveRooms, type SharedLimits } from './budget.js';
import type { Config } from './config.js';
import { errorKind, roomTag, type Logger } from './log.js';
import type { ServiceMetrics } from './metrics.js';
import { ApiError, jsonBody, limitBody, tooManyRequests, unavailable } from './middleware.js';
import { HasherBusy, createHasher, type Hasher } from './password.js';
import {
  roomIdFor,
  type CreateRoomOptions,
  type RoomRecord,
  type RoomStore,
} from './store/store.js';
import { roomTokens, tokensMatch, type RoomTokens } from './tokens.js';

export interface RoomRoutesOptions {
  config: Config;
  store: RoomStore;
  logger: Logger;
  /** The rate key of the client making a request (see ./address.ts). */
  client: (c: Context) => string;
  /** Told when a sharer stops sharing, so the room's sockets hear of it. */
  onRoomClosed?: (roomId: string, reason: RoomClosed['reason']) => void;
  /** Room tokens, shared with the signalling handlers; made from the config when absent. */
  tokens?: RoomTokens;
  /** The password hash; scrypt by default. */
  hasher?: Hasher;
  /** The clock for rate-limit windows and tokens. */
  now?: () => number;
  /** Where the rate-limit counters live; this process (on `now`) when absent. */
  limits?: SharedLimits;
  /** The rooms each client address has open; made from the config and `limits` when absent. */
  liveRooms?: LiveRooms;
  /** Counts wrong passwords. */
  metrics?: ServiceMetrics;
}

/** A create-room body holds a sealed blob of at most 8 KiB plus a little JSON. */
const MAX_BODY_BYTES = 16 * 1024;
/** A password body is a version and a 43-character value. */
const MAX_PASSWORD_BODY_BYTES = 1024;

export function roomRoutes(options: RoomRoutesOptions): Hono {
  const { config, store, logger, onRoomClosed, client } = options;
  const now = options.now ?? Date.now;
  const tokens =
    options.tokens ?? roomTokens({ secret: config.tokenSecret, ttlMs: config.roomTokenTtlMs, now });
  const hasher = options.hasher ?? createHasher();
  const limits = options.limits ?? memoryLimits(now);
  const windowMs = config.rateWindowMs;
  const creations = limits.windows('creations', { windowMs, limit: config.roomsPerAddress });
  const triesByAddress = limits.windows('tries-by-address', {
    windowMs,
    limit: config.passwordTriesPerAddress,
  });
  const triesByRoom = limits.windows('tries-by-room', {
    windowMs,
    limit: config.passwordTriesPerRoom,
  });
  const busy = () => tooManyRequests('The service is busy checking passwords', 1_000);
  const liveRooms =
    options.liveRooms ??
    limits.liveRooms(config.liveRoomsPerAddress, async (id) => (await store.getRoom(id)) !== null);
  // The counters out of reach (Redis away): the request is refused with 503, never let through
  // uncounted. Taking a count back, or recording a room, is logged and let go instead: the
  // counters then err on the strict side, or a room counts for nothing until it ends.
  const counted = <T>(counting: Promise<T>): Promise<T> =>
    counting.catch((err: unknown) => {
      logger.warn('limits.unavailable', { kind: errorKind(err) });
      throw unavailable();
    });
  const settled = async (counting: Promise<unknown>): Promise<void> => {
    try {
      await counting;
    } catch (err) {
      logger.warn('limits.unsettled', { kind: errorKind(err) });
    }
  };

  /**
   * Makes a room within the limits every new room meets: its metadata's size, the rooms its
   * client address may start in the window and may hold open; a password room's `passwordAuth`
   * is hashed here. `make` is the store's creation or restoration, null when the room turned out
   * to live already (then nothing is counted).
   */
  const admitRoom = async (
    c: Context,
    body: CreateRoomBody,
    make: (options: CreateRoomOptions) => Promise<RoomRecord | null>,
  ): Promise<RoomRecord | null> => {
    const tooLong = metaTooLong(body, config.maxMetaChars);
    if (tooLong) throw tooLong;
    const key = client(c);
    // Without the counters a room is not made either (503): with Redis away its store is too,
    // and a room nobody counted would let one address past its budget.
    const verdict = await counted(creations.check(key));
    if (!verdict.allowed) {
      throw tooManyRequests('Too many shares started from this address', verdict.retryAfterMs);
    }
    const place = await counted(liveRooms.admit(key)).catch(async (err: unknown) => {
      await settled(creations.refund(key));
      throw err;
    });
    if (!place) {
      await settled(creations.refund(key));
      throw new ApiError(
        429,
        'too-many-shares',
        `This address has ${config.liveRoomsPerAddress} shares open; stop one before starting another.`,
      );
    }
    let room: RoomRecord | null = null;
    try {
      let passwordHash: string | undefined;
      if (body.passwordAuth !== undefined) {
        try {
          passwordHash = await hasher.hash(body.passwordAuth);
        } catch (err) {
          if (!(err instanceof HasherBusy)) throw err;
          throw busy();
        }
      }
      room = await make({ passwordHash });
    } finally {
      await settled(place.settle(room?.id ?? null));
      if (!room) await settled(creations.refund(key));
    }
    return room;
  };
  const created = (c: Context, room: RoomRecord, status: 200 | 201) => {
    c.header('Location', `/rooms/${room.id}`);
    return c.json<CreateRoomReply>(
      {
        v: PROTOCOL_VERSION,
        roomId: room.id,
        sharerToken: room.sharerToken,
        expiresAt: room.expiresAt,
      },
      status,
    );
  };
  // Metadata past the limit is refused as too large whether or not it is also past the
  // protocol's own bound, which the schema checks first.
  const explainBody = (raw: unknown) =>
    versionMismatch(raw) ?? metaTooLong(raw, config.maxMetaChars);

  const rooms = new Hono();

  rooms.post(
    '/',
    limitBody(MAX_BODY_BYTES),
    jsonBody(CreateRoomBodySchema, { explain: explainBody }),
    async (c) => {
      const body = c.get('body');
      const room = await admitRoom(c, body, (options) => store.createRoom(body.meta, options));
      if (!room) throw new Error('createRoom made no room');
      logger.info('room.created', {
        room: roomTag(room.id),
        password: body.passwordAuth !== undefined,
      });
      return created(c, room, 201);
    },
  );

  // A sharer whose room the service lost (a restart, with rooms in memory) makes it again under
  // the same id, so the links it gave out still lead to it. The id is the hash of the sharer
  // token, so nobody else can claim it, and a room that lives is left exactly as it is.
  rooms.put(
    '/:id',
    limitBody(MAX_BODY_BYTES),
    jsonBody(RestoreRoomBodySchema, { explain: explainBody }),
    async (c) => {
      const { sharerToken, ...body } = c.get('body');
      const id = c.req.param('id');
      if (roomIdFor(sharerToken) !== id) {
        throw new ApiError(403, 'not-allowed', 'Only the sharer can restore this room.');
      }
      const live = await store.getRoom(id);
      if (live) return created(c, live, 200);
      const room = await admitRoom(c, body, (options) =>
        store.restoreRoom(sharerToken, body.meta, options),
      );
      if (!room) return created(c, await findRoom(store, id), 200);
      logger.info('room.restored', {
        room: roomTag(room.id),
        password: body.passwordAuth !== undefined,
      });
      return created(c, room, 201);
    },
  );

  rooms.get('/:id', async (c) => {
    const room = await findRoom(store, c.req.param('id'));
    const passwordRequired = room.passwordHash !== null;
    // A password room's metadata (sealed, but its size and existence still say something) is
    // for those who gave the password.
    const showMeta = !passwordRequired || tokens.verify(bearer(c), room);
    return c.json<RoomInfo>({
      v: PROTOCOL_VERSION,
      roomId: room.id,
      ...(showMeta ? { meta: room.meta } : {}),
      passwordRequired,
      sharerOnline: room.sharerPeerId !== null,
      createdAt: room.createdAt,
      expiresAt: room.expiresAt,
    });
  });

  rooms.post(
    '/:id/password',
    limitBody(MAX_PASSWORD_BODY_BYTES),
    jsonBody(PasswordBodySchema, { explain: versionMismatch }),
    async (c) => {
      // Both limits are settled before any hashing, so a flood of guesses costs the service
      // a counter each, never a turn of the thread pool. Without the counters no try is made
      // (503): an uncounted try would be a free guess.
      const key = client(c);
      const byAddress = await counted(triesByAddress.check(key));
      if (!byAddress.allowed) throw tooManyRequests('Too many tries', byAddress.retryAfterMs);
      const room = await findRoom(store, c.req.param('id'));
      if (room.passwordHash === null) {
        throw new ApiError(400, 'bad-request', 'This share has no password.');
      }
      const byRoom = await counted(triesByRoom.check(room.id));
      if (!byRoom.allowed) throw tooManyRequests('Too many tries', byRoom.retryAfterMs);
      let right: boolean;
      try {
        right = await hasher.verify(c.get('body').passwordAuth, room.passwordHash);
      } catch (err) {
        if (!(err instanceof HasherBusy)) throw err;
        await settled(Promise.all([triesByAddress.refund(key), triesByRoom.refund(room.id)]));
        throw busy();
      }
      if (!right) {
        logger.info('room.bad-password', { room: roomTag(room.id) });
        options.metrics?.passwordFailures.inc();
        throw new ApiError(403, 'bad-password', 'That is not the password of this share.');
      }
      // A right answer is not guessing: it leaves the counters as they were.
      await settled(Promise.all([triesByAddress.refund(key), triesByRoom.refund(room.id)]));
      logger.info('room.password-accepted', { room: roomTag(room.id) });
      return c.json<PasswordReply>(tokens.issue(room));
    },
  );

  rooms.delete('/:id', async (c) => {
    const room = await findRoom(store, c.req.param('id'));
    const given = bearer(c);
    if (given === undefined) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new ApiError(401, 'not-allowed', 'Only the sharer can stop sharing this room.');
    }
    if (!tokensMatch(given, room.sharerToken)) {
      throw new ApiError(403, 'not-allowed', 'Only the sharer can stop sharing this room.');
    }
    if (await store.deleteRoom(room.id)) {
      await settled(liveRooms.forget(room.id));
      logger.info('room.stopped', { room: roomTag(room.id) });
      onRoomClosed?.(room.id, 'stopped');
    }
    return c.body(null, 204);
  });

  return rooms;
}

/** The token of an `Authorization: Bearer <token>` header. */
function bearer(c: Context): string | undefined {
  return /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
}

/** The room `id` names; a 404 `ApiError` when there is none. */
async function findRoom(store: RoomStore, id: string): Promise<RoomRecord> {
  // A malformed id names no room either; the client's answer is the same.
  const room = v.is(RoomIdSchema, id) ? await store.getRoom(id) : null;
  if (!room) {
    throw new ApiError(404, 'room-not-found', 'This share does not exist or has expired.');
  }
  return room;
}

function metaTooLong(raw: unknown, maxChars: number): ApiError | undefined {
  if (typeof raw === 'object' && raw !== null && 'meta' in raw) {
    const { meta } = raw;
    if (typeof meta === 'string' && meta.length > maxChars) {
      return new ApiError(
        413,
        'limit-exceeded',
        `The file's details are longer than this service accepts (${maxChars} characters).`,
      );
    }
  }
  return undefined;
}

function versionMismatch(raw: unknown): ApiError | undefined {
  if (typeof raw === 'object' && raw !== null && 'v' in raw && raw.v !== PROTOCOL_VERSION) {
    return new ApiError(
      400,
      'protocol-mismatch',
      `The service speaks protocol version ${PROTOCOL_VERSION}; reload the page to update.`,
    );
  }
  return undefined;
}
