import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as v from 'valibot';
import {
  CreateRoomReplySchema,
  ErrorReplySchema,
  LIMITS,
  PROTOCOL_VERSION,
  RoomInfoSchema,
} from '../protocol/index.js';
import { createApp } from './app.js';
import { defaultConfig } from './config.js';
import { createLogger } from './log.js';
import { MemoryRoomStore } from './store/memory.js';
import { join, nextEvent, startService, type Harness } from './test-support.js';

const META = 'c2VhbGVkLW1ldGE';

async function errorOf(res: Response) {
  return v.parse(ErrorReplySchema, await res.json()).error;
}

describe('REST API', () => {
  let h: Harness;
  before(async () => {
    h = await startService({
      config: { iceServers: [{ urls: 'stun:stun.example.test:3478' }], roomGraceMs: 60_000 },
    });
  });
  after(() => h.close());

  const post = (body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) =>
    fetch(`${h.url}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  test('POST /rooms creates a room that GET /rooms/:id describes', async () => {
    const res = await post(JSON.stringify({ v: PROTOCOL_VERSION, meta: META }));
    assert.equal(res.status, 201);
    const created = v.parse(CreateRoomReplySchema, await res.json());
    assert.equal(res.headers.get('location'), `/rooms/${created.roomId}`);
    assert.equal(res.headers.get('cache-control'), 'no-store');

    const got = await fetch(`${h.url}/rooms/${created.roomId}`);
    assert.equal(got.status, 200);
    const info = v.parse(RoomInfoSchema, await got.json());
    assert.equal(info.roomId, created.roomId);
    assert.equal(info.meta, META);
    assert.equal(info.sharerOnline, false);
    assert.equal(info.expiresAt, created.expiresAt);
    assert.equal(info.expiresAt - info.createdAt, 60_000);
    assert.ok(Math.abs(info.createdAt - Date.now()) < 5_000);
    assert.ok(!('sharerToken' in info), 'the sharer token is never given out again');
  });

  test('GET /rooms/:id shows the sharer online once it joined', async () => {
    const room = await h.createRoom();
    const sharer = await h.connect();
    await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const info = v.parse(
      RoomInfoSchema,
      await (await fetch(`${h.url}/rooms/${room.roomId}`)).json(),
    );
    assert.equal(info.sharerOnline, true);
    sharer.disconnect();
  });

  test('an unknown or malformed room id is a 404 with room-not-found', async () => {
    for (const id of [
      'AAAAAAAAAAAAAAAAAAAAAA',
      'short',
      'has%20space%20in%20it%2E%2E%2E',
      'A'.repeat(200),
    ]) {
      const res = await fetch(`${h.url}/rooms/${id}`);
      assert.equal(res.status, 404, id);
      assert.equal((await errorOf(res)).code, 'room-not-found');
    }
  });

  test('bad bodies are 400 bad-request and the service keeps serving', async () => {
    const bodies: (string | Uint8Array<ArrayBuffer>)[] = [
      '',
      '{',
      'not json',
      'null',
      '42',
      '"text"',
      '[]',
      '{}',
      JSON.stringify({ v: PROTOCOL_VERSION }),
      JSON.stringify({ v: PROTOCOL_VERSION, meta: '' }),
      JSON.stringify({ v: PROTOCOL_VERSION, meta: 'has spaces' }),
      JSON.stringify({ v: PROTOCOL_VERSION, meta: 'a+b/c=' }),
      JSON.stringify({ v: PROTOCOL_VERSION, meta: 42 }),
      JSON.stringify({ v: PROTOCOL_VERSION, meta: ['x'] }),
      JSON.stringify({ v: PROTOCOL_VERSION, meta: META, extra: true }),
      JSON.stringify({ v: PROTOCOL_VERSION, meta: META, pad: 'x'.repeat(64 * 1024) }),
      `{"__proto__":{"polluted":true},"v":${PROTOCOL_VERSION},"meta":"abc"}`,
      new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
    ];
    for (const body of bodies) {
      const res = await post(body);
      assert.equal(res.status, 400, String(body).slice(0, 40));
      assert.equal((await errorOf(res)).code, 'bad-request');
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // Metadata past the protocol's bound is too large, as SECURITY.md's table says, not malformed.
    const long = await post(
      JSON.stringify({ v: PROTOCOL_VERSION, meta: 'A'.repeat(LIMITS.sealedMetaChars + 1) }),
    );
    assert.equal(long.status, 413);
    assert.equal((await errorOf(long)).code, 'limit-exceeded');
    const health = await fetch(`${h.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { ok: boolean }).ok, true);
  });

  test('an oversized body sent without a length is refused too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(8 * 1024));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const res = await fetch(`${h.url}/rooms`, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 400);
    assert.equal((await errorOf(res)).code, 'bad-request');
  });

  test('another protocol version is told apart from a bad body', async () => {
    const res = await post(JSON.stringify({ v: PROTOCOL_VERSION + 1, meta: META }));
    assert.equal(res.status, 400);
    assert.equal((await errorOf(res)).code, 'protocol-mismatch');
  });

  test('DELETE /rooms/:id needs the sharer token and tells the room it closed', async () => {
    const room = await h.createRoom();
    const recipient = await h.connect();
    await join(recipient, room.roomId);
    const url = `${h.url}/rooms/${room.roomId}`;

    const noAuth = await fetch(url, { method: 'DELETE' });
    assert.equal(noAuth.status, 401);
    assert.equal((await errorOf(noAuth)).code, 'not-allowed');
    assert.equal(noAuth.headers.get('www-authenticate'), 'Bearer');

    const other = await h.createRoom();
    for (const authorization of [
      `Bearer ${other.sharerToken}`,
      `Bearer ${room.sharerToken.slice(0, -1)}`,
      `Bearer ${room.sharerToken}x`,
    ]) {
      const wrong = await fetch(url, { method: 'DELETE', headers: { authorization } });
      assert.equal(wrong.status, 403);
      assert.equal((await errorOf(wrong)).code, 'not-allowed');
    }
    const basic = await fetch(url, {
      method: 'DELETE',
      headers: { authorization: `Basic ${room.sharerToken}` },
    });
    assert.equal(basic.status, 401);
    assert.equal((await fetch(url)).status, 200, 'wrong tokens leave the room alone');

    const closed = nextEvent(recipient, 'room-closed');
    const ok = await fetch(url, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${room.sharerToken}` },
    });
    assert.equal(ok.status, 204);
    assert.deepEqual(await closed, { reason: 'stopped' });
    assert.equal((await fetch(url)).status, 404);
    assert.equal((await fetch(url, { method: 'DELETE' })).status, 404);
    assert.equal((await fetch(`${h.url}/rooms/${other.roomId}`)).status, 200);
  });

  test('GET /ice returns the configured ICE servers', async () => {
    const res = await fetch(`${h.url}/ice`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { iceServers: [{ urls: 'stun:stun.example.test:3478' }] });
  });

  test('GET /healthz reports the protocol version', async () => {
    // Only that the process answers: no store read (see server/operations.test.ts).
    const body = (await (await fetch(`${h.url}/healthz`)).json()) as Record<string, unknown>;
    assert.deepEqual(body, { ok: true, v: PROTOCOL_VERSION });
  });

  test('unknown addresses are a JSON 404 and every reply carries security headers', async () => {
    const res = await fetch(`${h.url}/nothing/here`);
    assert.equal(res.status, 404);
    assert.equal((await errorOf(res)).code, 'bad-request');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const put = await fetch(`${h.url}/rooms`, { method: 'PUT', body: '{}' });
    assert.equal(put.status, 404);
  });

  test('with ALLOWED_ORIGINS=*, any page may call the API', async () => {
    const preflight = await fetch(`${h.url}/rooms`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://host.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    const res = await post(JSON.stringify({ v: PROTOCOL_VERSION, meta: META }), {
      origin: 'https://host.example',
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });
});

describe('REST API with an origin allow-list', () => {
  let h: Harness;
  before(async () => {
    h = await startService({ config: { allowedOrigins: ['https://host.example'] } });
  });
  after(() => h.close());

  test('an allowed origin gets CORS headers for every method the widget uses', async () => {
    const room = await h.createRoom();
    const preflight = await fetch(`${h.url}/rooms/${room.roomId}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://host.example',
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://host.example');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/i);
    assert.match(preflight.headers.get('vary') ?? '', /origin/i);

    const got = await fetch(`${h.url}/rooms/${room.roomId}`, {
      headers: { origin: 'https://host.example' },
    });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('access-control-allow-origin'), 'https://host.example');
  });

  test('another origin gets no CORS headers and cannot create rooms', async () => {
    const preflight = await fetch(`${h.url}/rooms`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);

    const before = await h.service.store.countRooms();
    const res = await fetch(`${h.url}/rooms`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: JSON.stringify({ v: PROTOCOL_VERSION, meta: META }),
    });
    assert.equal(res.status, 403);
    assert.equal((await errorOf(res)).code, 'not-allowed');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(await h.service.store.countRooms(), before);
  });
});

describe('static files', () => {
  let h: Harness;
  let root: string;
  const widget = 'export const widget = "p2p-share";\n';

  before(async () => {
    root = await mkdtemp(joinPath(tmpdir(), 'p2p-static-'));
    const dist = joinPath(root, 'dist');
    const demo = joinPath(root, 'demo');
    await mkdir(joinPath(dist, 'chunks'), { recursive: true });
    await mkdir(demo, { recursive: true });
    await writeFile(joinPath(dist, 'p2p-share.js'), widget);
    await writeFile(joinPath(dist, 'p2p-share.js.map'), '{"version":3}');
    await writeFile(joinPath(dist, 'chunks', 'sink-AbC123.js'), 'export default 1;\n');
    await writeFile(joinPath(dist, '.secret'), 'hidden');
    await writeFile(joinPath(demo, 'index.html'), '<!doctype html><title>demo</title>');
    await writeFile(joinPath(demo, 'host.css'), 'body{}');
    await writeFile(joinPath(demo, '.env'), 'SECRET=1');
    await mkdir(joinPath(demo, 'sub'));
    await writeFile(joinPath(demo, 'sub', 'index.html'), '<!doctype html><title>sub</title>');
    await mkdir(joinPath(dist, 'chunks', 'sub'));
    await writeFile(joinPath(dist, 'chunks', 'sub', 'index.html'), '<!doctype html>');
    await writeFile(joinPath(root, 'secret.txt'), 'outside');
    h = await startService({ staticDirs: { distDir: dist, demoDir: demo } });
  });
  after(async () => {
    await h.close();
    await rm(root, { recursive: true, force: true });
  });

  test('the widget loads cross-origin as a module script', async () => {
    const res = await fetch(`${h.url}/p2p-share.js`, {
      headers: { origin: 'https://host.example' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await res.text(), widget);
  });

  test('its source map and chunks are served the same way', async () => {
    const map = await fetch(`${h.url}/p2p-share.js.map`);
    assert.equal(map.status, 200);
    assert.match(map.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(map.headers.get('access-control-allow-origin'), '*');
    assert.equal(await map.text(), '{"version":3}');

    const chunk = await fetch(`${h.url}/chunks/sink-AbC123.js`);
    assert.equal(chunk.status, 200);
    assert.equal(chunk.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(chunk.headers.get('access-control-allow-origin'), '*');
    assert.match(chunk.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(await chunk.text(), 'export default 1;\n');
  });

  test('HEAD answers with headers only', async () => {
    const res = await fetch(`${h.url}/p2p-share.js`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(widget.length));
    assert.equal(await res.text(), '');
  });

  test('the demo page is at / and its files under /demo/', async () => {
    const page = await fetch(`${h.url}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await page.text(), '<!doctype html><title>demo</title>');
    const css = await fetch(`${h.url}/demo/host.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(await css.text(), 'body{}');
  });

  test('nothing outside the two folders, and no dot-files, can be reached', async () => {
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${h.url}${path}`, { method: 'GET' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    for (const path of [
      '/demo/../secret.txt',
      '/demo/..%2Fsecret.txt',
      '/demo/%2e%2e/secret.txt',
      '/demo/../../dist/p2p-share.js',
      '/chunks/..%2F.secret',
      '/chunks/..%2Fp2p-share.js',
      '/demo/',
      '/demo/.env',
      '/demo/missing.css',
      '/chunks/missing.js',
    ]) {
      assert.equal(await raw(path), 404, path);
    }
  });

  test('a folder is a 404 even when it holds an index.html', async () => {
    for (const path of ['/demo/sub', '/chunks/sub']) {
      const res = await fetch(`${h.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers.get('cache-control'), null, path);
      await res.body?.cancel();
    }
    // The file inside is reachable by its own name.
    const inner = await fetch(`${h.url}/demo/sub/index.html`);
    assert.equal(inner.status, 200);
    assert.equal(await inner.text(), '<!doctype html><title>sub</title>');
  });

  test('a range is cached like the file; a range past its end is not cached', async () => {
    const part = await fetch(`${h.url}/chunks/sink-AbC123.js`, { headers: { range: 'bytes=0-5' } });
    assert.equal(part.status, 206);
    assert.match(part.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(await part.text(), 'export');

    const past = await fetch(`${h.url}/chunks/sink-AbC123.js`, {
      headers: { range: 'bytes=99999999-' },
    });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('cache-control'), null);
    await past.body?.cancel();

    const demoPast = await fetch(`${h.url}/demo/host.css`, {
      headers: { range: 'bytes=99999999-' },
    });
    assert.equal(demoPast.status, 416);
    assert.equal(demoPast.headers.get('cache-control'), null);
    await demoPast.body?.cancel();
  });

  test('a missing build is a 404, still readable cross-origin', async () => {
    const empty = await startService({
      staticDirs: { distDir: joinPath(root, 'nowhere'), demoDir: joinPath(root, 'nowhere') },
    });
    try {
      const res = await fetch(`${empty.url}/p2p-share.js`);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal((await fetch(`${empty.url}/`)).status, 404);
      // A chunk is cached for good once found; a missing one must not be.
      const chunk = await fetch(`${empty.url}/chunks/sink-AbC123.js`);
      assert.equal(chunk.status, 404);
      assert.equal(chunk.headers.get('access-control-allow-origin'), '*');
      assert.equal(chunk.headers.get('cache-control'), null);
    } finally {
      await empty.close();
    }
  });
});

describe('the app in memory', () => {
  test('stopping a room over REST tells the sockets side through onRoomClosed', async () => {
    const closed: [string, string][] = [];
    const app = createApp({
      config: { ...defaultConfig },
      store: new MemoryRoomStore({ roomGraceMs: 1_000, roomMaxAgeMs: 10_000 }),
      logger: createLogger({ level: 'silent' }),
      onRoomClosed: (roomId, reason) => closed.push([roomId, reason]),
    });
    const res = await app.request('/rooms', {
      method: 'POST',
      body: JSON.stringify({ v: PROTOCOL_VERSION, meta: META }),
    });
    assert.equal(res.status, 201);
    const { roomId, sharerToken } = v.parse(CreateRoomReplySchema, await res.json());
    const wrong = await app.request(`/rooms/${roomId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${'A'.repeat(43)}` },
    });
    assert.equal(wrong.status, 403);
    assert.deepEqual(closed, []);
    const ok = await app.request(`/rooms/${roomId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${sharerToken}` },
    });
    assert.equal(ok.status, 204);
    assert.deepEqual(closed, [[roomId, 'stopped']]);
  });
});
