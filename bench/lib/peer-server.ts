/**
 * Starts the `peer` package's PeerServer (PeerJS's signalling server). Its ES module build
 * imports `WebSocketServer` from `ws`, which only ws 8 exports, while the ws next to it is 7
 * (bench/package.json's, the client the load workers use); so we load peer's CommonJS build and
 * hand it ws 8's server, the same ws that Socket.IO runs on, which keeps the two services on
 * equal footing.
 */
import { createRequire } from 'node:module';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IConfig, PeerServer as PeerServerFn } from 'peer';

const require = createRequire(import.meta.url);
const { PeerServer } = require('peer') as { PeerServer: typeof PeerServerFn };
// The ws that Socket.IO's engine.io uses, reached through the declared socket.io.
const engineIo = createRequire(require.resolve('socket.io')).resolve('engine.io');
const ws8 = createRequire(engineIo)('ws') as {
  WebSocketServer: new (options: object) => unknown;
};
type WebSocketServerFactory = NonNullable<IConfig['createWebSocketServer']>;

export interface PeerServerHandle {
  host: string;
  port: number;
  server: http.Server;
}

export function startPeerServer(options: Partial<IConfig> = {}): Promise<PeerServerHandle> {
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve) => {
    PeerServer(
      {
        host,
        port: 0,
        path: '/',
        key: 'peerjs',
        allow_discovery: false,
        ...options,
        createWebSocketServer: ((opts) => new ws8.WebSocketServer(opts)) as WebSocketServerFactory,
      },
      (server) => {
        const port = (server.address() as AddressInfo).port;
        resolve({ host, port, server: server as http.Server });
      },
    );
  });
}
