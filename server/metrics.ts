/**
 * The service's Prometheus metrics (prom-client), in a registry of the service's own so that
 * several services in one process (tests, benchmarks) never share a series. Counters are moved
 * where things happen (`metrics.relayed.inc()`, `metrics.redisErrors.inc()`); gauges of state are
 * read when scraped. Who may scrape is `metricsAccess`'s business, and `metricsListener`'s on
 * the separate port.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SwarmTotals } from './store/store.js';
import { tokensMatch } from './tokens.js';

/** What the gauges read on each scrape. */
export interface MetricsSources {
  /** Socket.IO (Engine.IO) connections held by this process. */
  sockets(): number;
  /** Rooms open in the store. */
  rooms(): Promise<number>;
  /** Seeds and waiting recipients over every room; absent when the store does not count them. */
  swarm?: () => Promise<SwarmTotals>;
  /** Whether the service is draining (shutting down). */
  draining(): boolean;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;

  /** Sealed envelopes relayed to their addressee. */
  readonly relayed = this.#counter('messages_relayed_total', 'Sealed envelopes relayed.');
  /** Socket messages answered with an error, by event (or `unknown`) and error code. */
  readonly refused = this.#counter(
    'messages_refused_total',
    'Socket messages refused, by event and error code.',
    ['event', 'code'] as const,
  );
  /** REST requests answered with an error of the API, by code. */
  readonly requestsRefused = this.#counter(
    'requests_refused_total',
    'REST requests refused, by error code.',
    ['code'] as const,
  );
  /** Socket.IO connections refused, by reason. */
  readonly connectionsRefused = this.#counter(
    'connections_refused_total',
    'Socket.IO connections refused, by reason (an error code, origin or draining).',
    ['code'] as const,
  );
  /** Wrong room passwords. */
  readonly passwordFailures = this.#counter('password_failures_total', 'Wrong room passwords.');
  /** Failed Redis commands and lost connections, counted by whoever talks to Redis. */
  readonly redisErrors = this.#counter('redis_errors_total', 'Redis errors.');

  #observed = false;
  #defaults = false;

  /** Adds the gauges of state, read from `sources` on each scrape; once, when the service exists. */
  observe(sources: MetricsSources): void {
    if (this.#observed) return;
    this.#observed = true;
    const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
      new Gauge({
        name: `p2p_share_${name}`,
        help,
        registers: [this.registry],
        async collect() {
          // NaN when the store does not answer: never a wrong count, and the scrape still works.
          this.set(await Promise.resolve(read()).catch(() => NaN));
        },
      });
    gauge('sockets', 'Socket.IO connections held by this process.', sources.sockets);
    gauge(
      'rooms',
      'Rooms open in the store (shared by all processes on one store).',
      sources.rooms,
    );
    gauge('draining', '1 while the service is shutting down, else 0.', () =>
      sources.draining() ? 1 : 0,
    );
    const { swarm } = sources;
    if (swarm) {
      gauge('seeds', 'Seeds in the pools of all rooms.', async () => (await swarm()).seeds);
      gauge('queue_depth', 'Recipients waiting in the queues of all rooms.', async () => {
        return (await swarm()).waiting;
      });
    }
  }

  /**
   * Adds prom-client's process metrics (CPU, memory, file descriptors, GC, event-loop lag) once;
   * only a service that exposes its metrics pays for their sampling.
   */
  withProcessMetrics(): this {
    if (!this.#defaults) {
      this.#defaults = true;
      collectDefaultMetrics({ register: this.registry });
    }
    return this;
  }

  /** The metrics in Prometheus' text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  #counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
    return new Counter<L>({
      name: `p2p_share_${name}`,
      help,
      labelNames,
      registers: [this.registry],
    });
  }
}

/**
 * Whether a request on the service's own port may read the metrics: only with `METRICS_TOKEN`
 * set and given as a bearer token (compared in constant time); 'hidden' when the service's port
 * does not serve them at all.
 */
export function metricsAccess(
  token: string | null,
  authorization: string | undefined,
): 'ok' | 'denied' | 'hidden' {
  if (token === null) return 'hidden';
  const given = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
  return given !== undefined && tokensMatch(given, token) ? 'ok' : 'denied';
}

/** The listener on `METRICS_PORT`: `GET /metrics` and nothing else, to whoever reaches it. */
export function metricsListener(metrics: ServiceMetrics): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is here.\n');
      return;
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('Metrics failed.\n'),
    );
  });
}
