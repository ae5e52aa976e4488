/**
 * The host page's server: an HTTP server on loopback whose pages embed the widget as a site
 * owner's would. Its origin is `http://localhost:<port>` while the signalling service is reached
 * as `http://127.0.0.1:<port>`, so the two are different origins, both secure contexts: Web
 * Crypto works and every request to the service is cross-origin. What the pages hold is the
 * caller's `handler`.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HostServer {
  /** `http://localhost:<port>`, without a trailing slash. */
  origin: string;
  close(): Promise<void>;
}

export async function startHostServer(handler: http.RequestListener): Promise<HostServer> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `text` safe inside HTML text and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
