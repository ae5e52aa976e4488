/**
 * The HTTP side of the service as a Hono app: the rooms REST API, ICE configuration, a health
 * check and the static widget and demo. It holds no state of its own (that is the store's) and
 * knows nothing of sockets beyond the `onRoomClosed` callback it is given.
 */
import { Hono } from 'hono';
import {
  CreateRoomBodySchema,
  PROTOCOL_VERSION,
  RoomIdSchema,
  type CreateRoomReply,
  type IceConfig,
  type RoomClosed,
  type RoomInfo,
} from '../src/protocol/index.js';
import * as v from 'valibot';
import type { Config } from './config.js';
import { errorKind, roomTag, type Logger } from './log.js';
import {
  ApiError,
  apiCors,
  errorReply,
  jsonBody,
  limitBody,
  noStore,
  originGuard,
  securityHeaders,
} from './middleware.js';
import { staticRoutes, type StaticDirs } from './static.js';
import type { RoomRecord, RoomStore } from './store/store.js';
import { tokensMatch } from './tokens.js';

export interface AppOptions extends Partial<StaticDirs> {
  /** `distDir` and `demoDir` default to the project's `dist/` and `demo/`. */
  config: Config;
  store: RoomStore;
  logger: Logger;
  /** Told when a sharer stops sharing over REST, so the room's sockets hear of it. */
  onRoomClosed?: (roomId: string, reason: RoomClosed['reason']) => void;
}

/** A create-room body holds a sealed blob of at most 8 KiB plus a little JSON. */
const MAX_BODY_BYTES = 16 * 1024;

export function createApp(options: AppOptions): Hono {
  const { config, logger } = options;
  const app = new Hono();

  app.use(securityHeaders());
  for (const path of ['/rooms/*', '/ice', '/healthz']) {
    app.use(path, apiCors(config), originGuard(config), noStore());
  }
  app.route('/rooms', roomRoutes(options));
  app.get('/ice', (c) => c.json<IceConfig>({ iceServers: config.iceServers }));
  app.get('/healthz', async (c) =>
    c.json({ ok: true, v: PROTOCOL_VERSION, rooms: await options.store.countRooms() }),
  );
  app.route('/', staticRoutes({ distDir: options.distDir, demoDir: options.demoDir }));

  app.notFound((c) => errorReply(c, 404, 'bad-request', 'There is nothing at this address.'));
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorReply(c, err.status, err.code, err.message);
    logger.error('http.error', { kind: errorKind(err) });
    return errorReply(c, 500, 'internal', 'The service failed to handle this request.');
  });
  return app;
}

function roomRoutes({ store, logger, onRoomClosed }: AppOptions): Hono {
  const rooms = new Hono();

  rooms.post(
    '/',
    limitBody(MAX_BODY_BYTES),
    jsonBody(CreateRoomBodySchema, { explain: versionMismatch }),
    async (c) => {
      const room = await store.createRoom(c.get('body').meta);
      logger.info('room.created', { room: roomTag(room.id) });
      c.header('Location', `/rooms/${room.id}`);
      return c.json<CreateRoomReply>(
        {
          v: PROTOCOL_VERSION,
          roomId: room.id,
          sharerToken: room.sharerToken,
          expiresAt: room.expiresAt,
        },
        201,
      );
    },
  );

  rooms.get('/:id', async (c) => {
    const room = await findRoom(store, c.req.param('id'));
    return c.json<RoomInfo>({
      v: PROTOCOL_VERSION,
      roomId: room.id,
      meta: room.meta,
      sharerOnline: room.sharerPeerId !== null,
      createdAt: room.createdAt,
      expiresAt: room.expiresAt,
    });
  });

  rooms.delete('/:id', async (c) => {
    const room = await findRoom(store, c.req.param('id'));
    const match = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '');
    if (!match) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new ApiError(401, 'not-allowed', 'Only the sharer can stop sharing this room.');
    }
    if (!tokensMatch(match[1]!, room.sharerToken)) {
      throw new ApiError(403, 'not-allowed', 'Only the sharer can stop sharing this room.');
    }
    if (await store.deleteRoom(room.id)) {
      logger.info('room.stopped', { room: roomTag(room.id) });
      onRoomClosed?.(room.id, 'stopped');
    }
    return c.body(null, 204);
  });

  return rooms;
}

async function findRoom(store: RoomStore, id: string): Promise<RoomRecord> {
  // A malformed id names no room either; the client's answer is the same.
  const room = v.is(RoomIdSchema, id) ? await store.getRoom(id) : null;
  if (!room) {
    throw new ApiError(404, 'room-not-found', 'This share does not exist or has expired.');
  }
  return room;
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
