/**
 * A graceful shutdown. While it runs, the app answers new requests `503` and Socket.IO refuses
 * new connections (both read the service's draining flag); here, connected widgets are told to
 * go elsewhere by closing their Engine.IO connections under them, which socket.io-client answers
 * by reconnecting (through a load balancer, to another process) and the widget by joining its
 * room again. A server-side `socket.disconnect()` would not do: the client takes "io server
 * disconnect" as final. Then it waits for requests under way, and closes, by the deadline.
 */
import type { Server as HttpServer } from 'node:http';
import type { Logger } from './log.js';
import type { Signalling } from './signalling.js';

export interface DrainOptions {
  httpServer: HttpServer;
  signalling: Pick<Signalling, 'io'>;
  logger: Logger;
  /** Requests under way (see `countRequests`). */
  requests: () => number;
  /** The whole drain's budget, closing included. */
  ms: number;
  /** Closes the service: sockets, connections, store. */
  close: () => Promise<void>;
}

/** How often the drain closes its next batch of sockets and looks whether anything is left. */
const TICK_MS = 50;

/**
 * Counts the HTTP requests under way on `server`, from now on, so a drain can wait for them.
 * Engine.IO's long-polling requests count too, until their connection is closed.
 */
export function countRequests(server: HttpServer): () => number {
  let open = 0;
  server.on('request', (_req, res) => {
    open++;
    res.once('close', () => open--);
  });
  return () => open;
}

export async function drain(options: DrainOptions): Promise<{ forced: boolean }> {
  const { httpServer, logger, requests, ms, close } = options;
  const { io } = options.signalling;
  const started = performance.now();
  const deadline = started + ms;
  const sockets = io.engine.clientsCount;
  logger.info('service.draining', { sockets, requests: requests(), drainMs: ms });

  // The sockets go in batches over the first half of the budget, so the processes that take
  // them over see the reconnections spread out (the client adds its own random delay too).
  const batches = Math.max(1, Math.floor(ms / 2 / TICK_MS));
  const perBatch = Math.ceil(io.sockets.sockets.size / batches);
  for (;;) {
    let closing = perBatch;
    for (const socket of io.sockets.sockets.values()) {
      if (closing === 0) break;
      // A closing connection may stay listed a moment; it counts once.
      if (socket.conn.readyState !== 'open') continue;
      socket.conn.close();
      closing--;
    }
    // Keep-alive connections between requests go; a busy one ends with its response, which
    // says `Connection: close` while draining.
    httpServer.closeIdleConnections();
    if ((io.engine.clientsCount === 0 && requests() === 0) || performance.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  const left = { sockets: io.engine.clientsCount, requests: requests() };
  const forced = left.sockets > 0 || left.requests > 0;
  logger.info('service.drained', {
    ms: Math.round(performance.now() - started),
    forced,
    ...left,
  });
  await close();
  return { forced };
}
