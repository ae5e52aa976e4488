/**
 * The origin check against a DNS-rebinding page: such a page is served from the attacker's name
 * resolved to the service, so its `Origin` and the `Host` it sends agree. Only `ALLOWED_ORIGINS`
 * may admit it, on the REST API and on the Engine.IO handshake (both transports) alike.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import { startService, type Harness } from './test-support.js';

/** What the service answers a raw request: the status, or 101 for an accepted upgrade. */
function rawStatus(
  url: string,
  path: string,
  {
    method = 'GET',
    headers = {},
    body,
  }: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const UPGRADE = {
  connection: 'Upgrade',
  upgrade: 'websocket',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
};

describe('origin check', () => {
  let h: Harness;
  let port: string;
  before(async () => {
    h = await startService({ config: { allowedOrigins: ['https://host.example'] } });
    port = new URL(h.url).port;
  });
  after(() => h.close());

  /** The three doors a page may knock on, as a page of `origin` on host `host` would. */
  const knock = async (origin: string, host: string) => {
    const headers = { origin, host };
    const before = await h.service.store.countRooms();
    const rest = await rawStatus(h.url, '/rooms', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ v: PROTOCOL_VERSION, meta: 'c2VhbGVkLW1ldGE' }),
    });
    const created = (await h.service.store.countRooms()) - before;
    const polling = await rawStatus(h.url, '/socket.io/?EIO=4&transport=polling', { headers });
    const websocket = await rawStatus(h.url, '/socket.io/?EIO=4&transport=websocket', {
      headers: { ...headers, ...UPGRADE },
    });
    return { rest, created, polling, websocket };
  };

  // Engine.IO refuses an upgrade with 400 whatever the reason; the listed origin's 101 below,
  // with the same request otherwise, shows that the origin is what it refused.
  test('a page whose origin equals the Host header is refused unless listed', async () => {
    const evil = `evil.example:${port}`;
    assert.deepEqual(await knock(`http://${evil}`, evil), {
      rest: 403,
      created: 0,
      polling: 403,
      websocket: 400,
    });
    // The service's own address is no exception: it is an origin like any other.
    const own = `127.0.0.1:${port}`;
    assert.deepEqual(await knock(`http://${own}`, own), {
      rest: 403,
      created: 0,
      polling: 403,
      websocket: 400,
    });
  });

  test('a listed origin gets in through every door, whatever its Host', async () => {
    assert.deepEqual(await knock('https://host.example', `evil.example:${port}`), {
      rest: 201,
      created: 1,
      polling: 200,
      websocket: 101,
    });
  });
});
