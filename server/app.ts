/**
 * The HTTP side of the service as a Hono app: the headers and guards every request passes, the
 * route groups (the rooms REST API in ./rooms.ts, ICE configuration in ./ice.ts, the probes and
 * metrics in ./operations.ts, the static widget and demo in ./static.ts) and how an error becomes
 * a reply. Room state is the store's, and the app knows nothing of sockets beyond the
 * `onRoomClosed` callback it is given.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import type { RoomClosed } from '../protocol/index.js';
import { addressResolver, rateKey } from './address.js';
import { memoryLimits, type LiveRooms, type SharedLimits } from './budget.js';
import type { Config } from './config.js';
import { errorKind, type Logger } from './log.js';
import { ServiceMetrics } from './metrics.js';
import {
  ApiError,
  apiCors,
  apiHeaders,
  errorReply,
  noStore,
  originGuard,
  securityHeaders,
} from './middleware.js';
import { drainGuard, operationsRoutes } from './operations.js';
import { iceRoutes, iceTickets, type IceTickets } from './ice.js';
import type { Hasher } from './password.js';
import { roomRoutes } from './rooms.js';
import { staticRoutes, type StaticDirs } from './static.js';
import {
  StoreUnavailable,
  UNAVAILABLE_MESSAGE,
  UNAVAILABLE_RETRY_MS,
  type RoomStore,
} from './store/store.js';
import type { RoomTokens } from './tokens.js';

export interface AppOptions extends Partial<StaticDirs> {
  /** `distDir` and `demoDir` default to the project's `dist/` and `demo/`. */
  config: Config;
  store: RoomStore;
  logger: Logger;
  /** Told when a sharer stops sharing over REST, so the room's sockets hear of it. */
  onRoomClosed?: (roomId: string, reason: RoomClosed['reason']) => void;
  /** Room tokens, shared with the signalling handlers; made from the config when absent. */
  tokens?: RoomTokens;
  /** Ice tickets, shared with the join handler that issues them; made from the config when absent. */
  iceTickets?: IceTickets;
  /** The password hash; scrypt by default (tests may count or slow it). */
  hasher?: Hasher;
  /** The clock for rate-limit windows and tokens. */
  now?: () => number;
  /** Where the rate-limit counters live; this process (on `now`) when absent. */
  limits?: SharedLimits;
  /**
   * The rooms each client address has open, shared with whoever sweeps expired rooms; made from
   * the config and `limits` when absent.
   */
  liveRooms?: LiveRooms;
  /** Counts refusals and wrong passwords; a registry of its own when absent. */
  metrics?: ServiceMetrics;
  /** While true, the app answers `503` to all but the operations paths (see ./operations.ts). */
  draining?: () => boolean;
}

export function createApp(options: AppOptions): Hono {
  const { config, logger } = options;
  const metrics = options.metrics ?? new ServiceMetrics();
  const draining = options.draining ?? (() => false);
  const app = new Hono();

  app.use(securityHeaders());
  for (const path of ['/rooms/*', '/ice', '/healthz', '/readyz']) {
    app.use(path, apiCors(config), originGuard(config), noStore(), apiHeaders());
  }
  app.use(drainGuard(draining));
  const resolveAddress = addressResolver(config);
  const client = (c: Context) =>
    rateKey(resolveAddress(peerAddress(c), c.req.header('x-forwarded-for')));
  app.route('/rooms', roomRoutes({ ...options, metrics, client }));
  app.route(
    '/ice',
    iceRoutes({
      config,
      store: options.store,
      tickets:
        options.iceTickets ??
        iceTickets({ secret: config.tokenSecret, ttlMs: config.roomMaxAgeMs, now: options.now }),
      client,
      limits: options.limits ?? memoryLimits(options.now),
      now: options.now,
    }),
  );
  app.route('/', operationsRoutes({ ...options, metrics, draining }));
  app.route('/', staticRoutes({ distDir: options.distDir, demoDir: options.demoDir }));

  app.notFound((c) => errorReply(c, 404, 'bad-request', 'There is nothing at this address.'));
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      metrics.requestsRefused.inc({ code: err.code });
      for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
      return errorReply(c, err.status, err.code, err.message, err.params);
    }
    if (err instanceof StoreUnavailable) {
      c.header('Retry-After', String(UNAVAILABLE_RETRY_MS / 1000));
      return errorReply(c, 503, 'service-unavailable', UNAVAILABLE_MESSAGE, {
        retryAfterMs: UNAVAILABLE_RETRY_MS,
      });
    }
    logger.error('http.error', { kind: errorKind(err) });
    return errorReply(c, 500, 'internal', 'The service failed to handle this request.');
  });
  return app;
}

/**
 * The TCP peer of the request; absent when the app is called in memory (`app.request`), which
 * has no connection and on which Hono's helper would throw.
 */
function peerAddress(c: Context): string | undefined {
  return c.env === undefined ? undefined : getConnInfo(c).remote.address;
}
