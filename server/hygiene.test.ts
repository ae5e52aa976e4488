import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';
import * as v from 'valibot';
import { ErrorReplySchema, PROTOCOL_VERSION, randomId } from '../protocol/index.js';
import { createHasher, type Hasher } from './password.js';
import { DEMO_CSP } from './static.js';
import {
  assertError,
  ENVELOPE,
  join,
  nextEvent,
  passwordAuthFor,
  request,
  sleep,
  startService,
  tryPassword,
  waitFor,
} from './test-support.js';

const META = 'c2VhbGVkLW1ldGE';
const START = 1_700_000_000_000;

async function errorOf(res: Response) {
  return v.parse(ErrorReplySchema, await res.json()).error;
}

const createRoom = (url: string, headers: Record<string, string> = {}, meta = META) =>
  fetch(`${url}/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ v: PROTOCOL_VERSION, meta }),
  });

describe('security headers', () => {
  test('on the API, the demo, the widget and the Socket.IO transport', async () => {
    const root = await mkdtemp(joinPath(tmpdir(), 'p2p-headers-'));
    await mkdir(joinPath(root, 'dist'));
    await mkdir(joinPath(root, 'demo'));
    await writeFile(joinPath(root, 'dist', 'p2p-share.js'), 'export {};\n');
    await writeFile(joinPath(root, 'demo', 'index.html'), '<!doctype html><title>demo</title>');
    await writeFile(joinPath(root, 'demo', 'demo.js'), 'export {};\n');
    const h = await startService({
      staticDirs: { distDir: joinPath(root, 'dist'), demoDir: joinPath(root, 'demo') },
    });
    try {
      const everywhere = (res: Response, what: string) => {
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
        assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
      };
      const room = await h.createRoom();
      for (const path of ['/rooms/' + room.roomId, '/rooms/nothing', '/ice', '/healthz']) {
        const res = await fetch(h.url + path);
        everywhere(res, path);
        assert.equal(
          res.headers.get('content-security-policy'),
          "default-src 'none'; frame-ancestors 'none'",
        );
        assert.equal(res.headers.get('cache-control'), 'no-store', path);
      }
      // POST /rooms passes the API middleware once (a second pass would repeat CORS headers).
      const created = await createRoom(h.url, { origin: 'https://host.example' });
      assert.equal(created.status, 201);
      everywhere(created, 'POST /rooms');
      assert.equal(created.headers.get('access-control-allow-origin'), '*');
      assert.equal(created.headers.get('access-control-expose-headers'), 'Retry-After');
      assert.equal(
        created.headers.get('content-security-policy'),
        "default-src 'none'; frame-ancestors 'none'",
      );
      for (const path of ['/', '/demo/demo.js']) {
        const res = await fetch(h.url + path);
        assert.equal(res.status, 200, path);
        everywhere(res, path);
        assert.equal(res.headers.get('content-security-policy'), DEMO_CSP, path);
        assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin', path);
      }
      assert.match(DEMO_CSP, /script-src 'self';/);
      assert.match(DEMO_CSP, /connect-src 'self' ws: wss:;/);
      assert.doesNotMatch(DEMO_CSP, /unsafe/);
      const widget = await fetch(`${h.url}/p2p-share.js`);
      everywhere(widget, 'widget');
      assert.equal(widget.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.equal(widget.headers.get('content-security-policy'), null);

      const handshake = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling`);
      assert.equal(handshake.status, 200);
      everywhere(handshake, 'long-polling');
    } finally {
      await h.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('rooms created per address', () => {
  test('past the limit: 429 with Retry-After until the window passes', async () => {
    let clock = START;
    const h = await startService({
      config: { roomsPerAddress: 3, rateWindowMs: 60_000 },
      now: () => clock,
    });
    try {
      // Invalid requests create nothing and count for nothing.
      for (let i = 0; i < 5; i++) assert.equal((await createRoom(h.url, {}, '!')).status, 400);
      for (let i = 0; i < 3; i++) assert.equal((await createRoom(h.url)).status, 201);
      clock += 20_000;
      const refused = await createRoom(h.url, { 'x-forwarded-for': '198.51.100.1' });
      assert.equal(refused.status, 429, 'X-Forwarded-For is not believed by default');
      assert.equal(refused.headers.get('retry-after'), '40');
      const error = await errorOf(refused);
      assert.equal(error.code, 'rate-limited');
      assert.match(error.message, /wait 40 seconds/);
      assert.equal(error.retryAfterMs, 40_000);
      // The body says the wait exactly; the header and the message round it up.
      clock += 500;
      const later = await createRoom(h.url);
      assert.equal(later.headers.get('retry-after'), '40');
      assert.equal((await errorOf(later)).retryAfterMs, 39_500);
      assert.equal(await h.service.store.countRooms(), 3);
      clock += 39_500;
      assert.equal((await createRoom(h.url)).status, 201);
    } finally {
      await h.close();
    }
  });

  test('behind a trusted proxy, each forwarded client has its own allowance', async () => {
    const h = await startService({
      config: { roomsPerAddress: 1, trustedProxy: { addresses: ['127.0.0.1'] } },
    });
    try {
      const from = (address: string) => ({ 'x-forwarded-for': address });
      assert.equal((await createRoom(h.url, from('198.51.100.1'))).status, 201);
      assert.equal((await createRoom(h.url, from('198.51.100.1'))).status, 429);
      assert.equal((await createRoom(h.url, from('198.51.100.2'))).status, 201);
      // A client that forges a hop in front of the proxy's own entry gains nothing.
      assert.equal((await createRoom(h.url, from('203.0.113.1, 198.51.100.1'))).status, 429);
    } finally {
      await h.close();
    }
  });
});

describe('size limits below the protocol maximum', () => {
  test('metadata and envelopes over the configured limits get limit-exceeded', async () => {
    const h = await startService({ config: { maxMetaChars: 100, maxEnvelopeChars: 1024 } });
    try {
      assert.equal((await createRoom(h.url, {}, 'A'.repeat(100))).status, 201);
      const long = await createRoom(h.url, {}, 'A'.repeat(101));
      assert.equal(long.status, 413);
      assert.equal((await errorOf(long)).code, 'limit-exceeded');

      const room = await h.createRoom();
      const sharer = await h.connect();
      const recipient = await h.connect();
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      await join(recipient, room.roomId);
      assertError(
        await request(recipient, 'signal', { to: sharerId, envelope: 'A'.repeat(1025) }),
        'limit-exceeded',
      );
      const arrives = nextEvent(sharer, 'signal');
      const ok = await request(recipient, 'signal', { to: sharerId, envelope: 'A'.repeat(1024) });
      assert.deepEqual(ok, { ok: true });
      await arrives;
      assert.equal(recipient.connected, true);
    } finally {
      await h.close();
    }
  });
});

describe('message rate per socket', () => {
  test('past the burst: rate-limited acks; the socket recovers as the bucket refills', async () => {
    // A slow refill, so that a loaded machine cannot refill the bucket during the burst.
    const h = await startService({
      config: { socketMessagesPerSecond: 2, socketMessageBurst: 10 },
    });
    try {
      const room = await h.createRoom();
      const socket = await h.connect();
      const bystander = await h.connect();
      await join(socket, room.roomId);
      const acks = await Promise.all(
        Array.from({ length: 15 }, () => request(socket, 'sources', {})),
      );
      // The join took one token; nine more answer (ten if one refilled meanwhile), the rest
      // are refused, each saying how long until the next token: at most 500 ms at 2 a second.
      const answered = acks.filter((a) => !a.ok && a.error.code === 'no-sources').length;
      const refusals = acks.flatMap((a) => (!a.ok && a.error.code === 'rate-limited' ? [a] : []));
      assert.ok(answered === 9 || answered === 10, `${answered} answered`);
      assert.equal(answered + refusals.length, 15);
      for (const { error } of refusals) {
        assert.ok(error.retryAfterMs! > 0 && error.retryAfterMs! <= 500, `${error.retryAfterMs}`);
      }
      assertError(await request(bystander, 'sources', {}), 'not-allowed');
      // Timers may fire a millisecond or two early by the monotonic clock the bucket reads.
      await sleep(refusals.at(-1)!.error.retryAfterMs! + 10);
      assertError(await request(socket, 'sources', {}), 'no-sources');
      assert.equal(socket.connected, true);
    } finally {
      await h.close();
    }
  });

  test('a socket that keeps flooding is disconnected; others carry on', async () => {
    const h = await startService({
      config: { socketMessagesPerSecond: 5, socketMessageBurst: 20 },
    });
    try {
      const room = await h.createRoom();
      const sharer = await h.connect();
      const flooder = await h.connect();
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      await join(flooder, room.roomId);
      let delivered = 0;
      sharer.on('signal', () => delivered++);
      const gone = nextEvent(flooder, 'disconnect', 5_000);
      let refused = 0;
      // Relayed as the widget relays, without an ack: refusals come back as signal-failed.
      flooder.on('signal-failed', ({ to, error }: { to: string; error: { code: string } }) => {
        if (to === sharerId && error.code === 'rate-limited') refused++;
      });
      for (let i = 0; i < 200; i++) flooder.emit('signal', { to: sharerId, envelope: ENVELOPE });
      assert.equal(await gone, 'io server disconnect');
      // At most the burst got through (fewer when the disconnect overtook their relay).
      assert.ok(delivered <= 20, `${delivered} envelopes got through`);
      assert.ok(refused >= 19, `${refused} refusals before the disconnect`);
      assert.match(h.logs.join('\n'), /socket\.flooding/);
      await waitFor(async () => (await h.service.store.listMembers(room.roomId)).length === 1);
      const recipient = await h.connect();
      await join(recipient, room.roomId);
      assert.deepEqual(await request(recipient, 'sources', {}), { ok: true, sources: [sharerId] });
    } finally {
      await h.close();
    }
  });
});

describe('unknown and expired rooms', () => {
  test('look the same from outside: status, body, and no password hashing for either', async () => {
    let clock = START;
    let hashed = 0;
    const real = createHasher();
    const hasher: Hasher = {
      hash: (secret) => real.hash(secret),
      verify: (secret, stored) => {
        hashed++;
        return real.verify(secret, stored);
      },
    };
    const h = await startService({
      config: { roomGraceMs: 60_000, passwordTriesPerAddress: 10_000 },
      now: () => clock,
      hasher,
    });
    try {
      const auth = passwordAuthFor(randomId(), 'pw');
      const expired = await h.createRoom(META, auth);
      clock += 60_000;
      const unknown = randomId();
      const outside = async (roomId: string) => {
        const answers: unknown[] = [];
        const calls: [string, RequestInit][] = [
          [`/rooms/${roomId}`, {}],
          [`/rooms/${roomId}`, { method: 'DELETE', headers: { authorization: 'Bearer x' } }],
          [
            `/rooms/${roomId}/password`,
            { method: 'POST', body: JSON.stringify({ v: PROTOCOL_VERSION, passwordAuth: auth }) },
          ],
        ];
        for (const [path, init] of calls) {
          const res = await fetch(h.url + path, init);
          answers.push([res.status, await res.json()]);
        }
        const socket = await h.connect();
        answers.push(
          await request(socket, 'join', { v: PROTOCOL_VERSION, roomId, role: 'recipient' }),
        );
        socket.disconnect();
        return answers;
      };
      const a = await outside(expired.roomId);
      const b = await outside(unknown);
      assert.deepEqual(a, b);
      assert.equal((a[0] as [number])[0], 404);
      assert.equal(hashed, 0);

      // Timing: both are a map lookup; neither pays for scrypt (tens of milliseconds).
      const time = async (roomId: string) => {
        const samples: number[] = [];
        for (let i = 0; i < 15; i++) {
          const t = performance.now();
          await (await tryPassword(h.url, roomId, auth)).arrayBuffer();
          samples.push(performance.now() - t);
        }
        return samples.sort((x, y) => x - y)[7]!;
      };
      const [expiredMs, unknownMs] = [await time(expired.roomId), await time(unknown)];
      const live = await h.createRoom(META, auth);
      const liveMs = await time(live.roomId);
      assert.ok(
        Math.abs(expiredMs - unknownMs) < Math.max(5, liveMs / 3),
        `expired ${expiredMs} ms, unknown ${unknownMs} ms, live ${liveMs} ms`,
      );
      assert.equal(hashed, 15, 'only the live room hashed');
    } finally {
      await h.close();
    }
  });
});
