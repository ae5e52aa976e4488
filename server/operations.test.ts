import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { io } from 'socket.io-client';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import { MemoryRoomStore } from './store/memory.js';
import { defaultConfig } from './config.js';
import { nextEvent, startService } from './test-support.js';

const TOKEN = 'metrics-token-0123456789';

/** A memory store whose readiness the test sets (a shared store that lost its server, say). */
class SwitchedStore extends MemoryRoomStore {
  state: boolean | Error = true;

  constructor() {
    super(defaultConfig);
  }

  override async ready(): Promise<boolean> {
    if (this.state instanceof Error) throw this.state;
    return this.state;
  }
}

/**
 * A `POST /rooms` whose body is still on its way: a request under way until `finish()` sends the
 * rest of it.
 */
function slowCreate(url: string): {
  req: ClientRequest;
  response: Promise<IncomingMessage>;
  finish(): void;
} {
  const body = JSON.stringify({ v: PROTOCOL_VERSION, meta: 'c2VhbGVkLW1ldGE' });
  const req = httpRequest(`${url}/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  req.write(body.slice(0, 5));
  return { req, response, finish: () => req.end(body.slice(5)) };
}

test('/healthz answers without the store; /readyz says when the store is not ready', async () => {
  const store = new SwitchedStore();
  const h = await startService({ store });
  try {
    const ready = await fetch(`${h.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, v: PROTOCOL_VERSION });

    for (const state of [false, new Error('ECONNREFUSED')]) {
      store.state = state;
      const res = await fetch(`${h.url}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), {
        ready: false,
        reason: 'store',
        message: 'The service cannot reach its room store.',
      });
      const health = await fetch(`${h.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { ok: true, v: PROTOCOL_VERSION });
    }
    assert.ok(h.logs.some((line) => line.includes('"event":"store.not-ready"')));
  } finally {
    await h.close();
  }
});

test('a draining service refuses new work clearly and lets work under way finish', async () => {
  const h = await startService({ config: { metricsToken: TOKEN } });
  const arrived = once(h.service.httpServer, 'request');
  const slow = slowCreate(h.url);
  try {
    await arrived;
    const socket = await h.connect({ reconnection: false });
    const dropped = nextEvent<string>(socket, 'disconnect', 5_000);
    const drained = h.service.drain(60_000);
    assert.equal(h.service.draining, true);

    // The connected widget's connection is closed under it, which its client reconnects after.
    assert.equal(await dropped, 'transport close');

    const ready = await fetch(`${h.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { reason: string }).reason, 'draining');
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);

    for (const path of ['/rooms/AAAAAAAAAAAAAAAAAAAAAA', '/ice', '/p2p-share.js']) {
      const res = await fetch(`${h.url}${path}`);
      assert.equal(res.status, 503, path);
      assert.equal(res.headers.get('connection'), 'close');
      assert.equal(res.headers.get('retry-after'), '1');
      assert.deepEqual(await res.json(), {
        error: {
          code: 'server-unreachable',
          message: 'The service is shutting down; try again in a moment.',
        },
      });
    }
    await assert.rejects(h.connect({ reconnection: false }));

    const metrics = await (
      await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    assert.match(metrics, /^p2p_share_draining 1$/m);
    assert.match(metrics, /^p2p_share_connections_refused_total\{code="draining"\} 1$/m);

    // The request that began before the drain is answered as usual; then the service closes.
    slow.finish();
    const res = await slow.response;
    assert.equal(res.statusCode, 201);
    res.resume();
    assert.deepEqual(await drained, { forced: false });
    assert.ok(h.logs.some((line) => line.includes('"event":"service.drained"')));
    await assert.rejects(fetch(`${h.url}/healthz`));
  } finally {
    slow.req.destroy();
    await h.close();
  }
});

test('the drain ends by its deadline, cutting off what is still under way', async () => {
  const h = await startService();
  const arrived = once(h.service.httpServer, 'request');
  const slow = slowCreate(h.url);
  try {
    const cut = slow.response.then(
      () => 'answered',
      () => 'cut off',
    );
    await arrived;
    assert.deepEqual(await h.service.drain(300), { forced: true });
    assert.equal(await cut, 'cut off');
    const line = h.logs.find((l) => l.includes('"event":"service.drained"'));
    assert.match(line ?? '', /"forced":true/);
    assert.match(line ?? '', /"requests":1/);
  } finally {
    slow.req.destroy();
    await h.close();
  }
});

test('a socket.io-client with reconnection retries after the drain closes its connection', async () => {
  const h = await startService();
  const client = io(h.url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 50 });
  try {
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    const attempted = new Promise<void>((resolve) =>
      client.io.once('reconnect_attempt', () => resolve()),
    );
    void h.service.drain(1_000);
    await attempted;
  } finally {
    client.close();
    await h.close();
  }
});
