/**
 * The routes for whoever runs the service, not for widgets: liveness (`/healthz`), readiness
 * (`/readyz`), the metrics (`/metrics`, behind `METRICS_TOKEN`), and the guard that answers
 * every other request `503` while the service drains. See docs/operations.md.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import type { Config } from './config.js';
import { errorKind, type Logger } from './log.js';
import { metricsAccess, type ServiceMetrics } from './metrics.js';
import { errorReply } from './middleware.js';
import type { RoomStore } from './store/store.js';

export interface OperationsOptions {
  config: Pick<Config, 'metricsToken'>;
  store: Pick<RoomStore, 'ready'>;
  logger: Logger;
  metrics: ServiceMetrics;
  draining: () => boolean;
}

/** Paths a draining service still answers: the probes and the metrics. */
const OPERATIONS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Why the service is not ready, in the words `/readyz` answers with. */
const NOT_READY = {
  draining: 'The service is shutting down; send new work to another process.',
  store: 'The service cannot reach its room store.',
} as const;

export function operationsRoutes(options: OperationsOptions): Hono {
  const { config, store, logger, metrics, draining } = options;
  const ops = new Hono();

  // Alive: the process answers. Nothing here waits on the store, so a store outage does not
  // get a healthy process restarted.
  ops.get('/healthz', (c) => c.json({ ok: true, v: PROTOCOL_VERSION }));

  ops.get('/readyz', async (c) => {
    let reason: keyof typeof NOT_READY | null = draining() ? 'draining' : null;
    if (reason === null) {
      const ready = await store.ready().catch((err: unknown) => {
        logger.warn('store.not-ready', { kind: errorKind(err) });
        return false;
      });
      if (!ready) reason = 'store';
    }
    if (reason === null) return c.json({ ready: true, v: PROTOCOL_VERSION });
    c.header('Retry-After', '1');
    return c.json({ ready: false, reason, message: NOT_READY[reason] }, 503);
  });

  ops.get('/metrics', async (c) => {
    const access = metricsAccess(config.metricsToken, c.req.header('authorization'));
    // Without a token the metrics are not on this port at all (see METRICS_PORT).
    if (access === 'hidden') return c.notFound();
    if (access === 'denied') {
      c.header('WWW-Authenticate', 'Bearer');
      return errorReply(c, 401, 'not-allowed', 'The metrics need the METRICS_TOKEN bearer token.');
    }
    return c.body(await metrics.text(), 200, { 'Content-Type': metrics.contentType });
  });
  return ops;
}

/**
 * While the service drains, every request but the operations paths gets `503` with a clear
 * body and `Connection: close`, so that clients and load balancers open their next connection
 * (to another process) instead of reusing this one.
 */
export function drainGuard(draining: () => boolean): MiddlewareHandler {
  return async function drainGuard(c, next) {
    if (!draining()) return next();
    c.header('Connection', 'close');
    if (OPERATIONS_PATHS.has(c.req.path)) return next();
    c.header('Retry-After', '1');
    return errorReply(
      c,
      503,
      'server-unreachable',
      'The service is shutting down; try again in a moment.',
    );
  };
}
