/**
 * Checks of SECURITY.md's limits on sizes and rates: messages, bodies, metadata and envelopes,
 * a socket's message rate, a room's places, password tries and hashing, token lifetime and the
 * memory of the rate limiters.
 */
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, type Ack } from '../../../protocol/index.js';
import { defaultConfig } from '../../../server/config.js';
import { MemoryWindowLimiter } from '../../../server/limits.js';
import { createHasher, HasherBusy, type Hasher } from '../../../server/password.js';
import {
  assertError,
  join,
  nextEvent,
  passwordAuthFor,
  request,
  tryPassword,
  type RawClient,
} from '../../../server/test-support.js';
import {
  ackRefusal,
  amount,
  assertPerMinute,
  createRoom,
  errorOf,
  httpRefusal,
  LINK_KEY,
  META,
  MINUTE,
  numbers,
  pair,
  post,
  withService,
  type Check,
} from './support.js';

/** Row name → the check of what the row says. */
export const SIZES_AND_RATES: Record<string, Check> = {
  async 'Socket.IO message size'(row) {
    const max = amount(row.default);
    assert.match(row.default, /`MAX_HTTP_BUFFER_SIZE`/);
    assert.equal(defaultConfig.maxHttpBufferSize, max);
    assert.match(row.past, /connection is closed \(WebSocket and long-polling alike\)/);
    await withService({}, async (h) => {
      for (const transport of ['websocket', 'polling'] as const) {
        const socket = await h.connect({ transports: [transport] });
        const closed = nextEvent<string>(socket, 'disconnect', 5_000);
        socket.emit('signal', { to: 'x', envelope: 'A'.repeat(max + 1) });
        assert.match(await closed, /transport (close|error)/, transport);
      }
      // One byte less than the cap still reaches the service (which refuses its shape).
      const socket = await h.connect();
      const ack = await request(socket, 'signal', { to: 'x', envelope: 'A'.repeat(max - 1024) });
      assert.equal(ack.ok, false);
      assert.equal(socket.connected, true);
    });
  },

  async 'Messages per socket'(row) {
    const [rate, burst] = numbers(row.default);
    assert.equal(defaultConfig.socketMessagesPerSecond, rate);
    assert.equal(defaultConfig.socketMessageBurst, burst);
    const refusal = ackRefusal(row.past);
    const [allowance, windowSeconds] = numbers(row.past);
    assert.equal(allowance, burst);
    assert.equal(windowSeconds, 10);
    await withService({}, async (h) => {
      const { recipient } = await pair(h);
      // The join took one token; a burst's worth more is answered (and what refilled while
      // they were handled), then refusals come.
      const started = performance.now();
      const acks = await Promise.all(
        Array.from({ length: burst! + 400 }, () => request(recipient, 'sources', {})),
      );
      const seconds = (performance.now() - started) / 1000;
      const refused = acks.filter((a: Ack<object>) => !a.ok && a.error.code === refusal).length;
      const answered = acks.length - refused;
      assert.ok(refused > 0, `none of ${acks.length} refused in ${seconds.toFixed(2)} s`);
      assert.ok(
        answered <= burst! + Math.ceil(rate! * seconds) + 1,
        `${answered} answered in ${seconds.toFixed(2)} s: more than ${burst} + ${rate}/s`,
      );
      assert.equal(recipient.connected, true, 'refusals alone do not drop the socket');
      // Past the allowance of refusals, the socket is dropped.
      const gone = nextEvent<string>(recipient, 'disconnect', 10_000);
      for (let i = 0; i < 3 * burst!; i++) (recipient as RawClient).emit('sources', {});
      assert.equal(await gone, 'io server disconnect');
    });
  },

  async 'Sockets per room'(row) {
    assert.equal(defaultConfig.maxSocketsPerRoom, amount(row.default));
    const refusal = ackRefusal(row.past);
    // Filling a room of the default size is the same code at a smaller size.
    const cap = 3;
    await withService({ maxSocketsPerRoom: cap }, async (h) => {
      const room = await h.createRoom();
      await join(await h.connect(), room.roomId, 'sharer', room.sharerToken);
      let admitted = 1;
      for (;;) {
        const socket = await h.connect();
        const ack = await request(socket, 'join', {
          v: PROTOCOL_VERSION,
          roomId: room.roomId,
          role: 'recipient',
        });
        if (!ack.ok) {
          assertError(ack, refusal);
          break;
        }
        admitted++;
        assert.ok(admitted <= cap, `${admitted} sockets in a room of ${cap}`);
      }
      assert.equal(admitted, cap);
    });
  },

  async 'Password tries per address / per room'(row) {
    const limit = amount(row.default);
    assertPerMinute(row.default);
    assert.equal(defaultConfig.passwordTriesPerAddress, limit);
    assert.equal(defaultConfig.passwordTriesPerRoom, limit);
    const { status, code } = httpRefusal(row.past);
    assert.match(row.past, /`Retry-After`, before any hashing/);
    let verified = 0;
    const real = createHasher({ logN: 4 });
    const hasher: Hasher = {
      hash: (secret) => real.hash(secret),
      verify: (secret, stored) => {
        verified++;
        return real.verify(secret, stored);
      },
    };
    const wrong = passwordAuthFor(LINK_KEY, 'wrong');
    // The service believes this proxy's X-Forwarded-For: each try can come from its own address.
    const proxy = { trustedProxy: { addresses: ['127.0.0.1'] } };
    await withService(
      proxy,
      async (h) => {
        const byAddress = await h.createRoom(META, passwordAuthFor(LINK_KEY, 'right'));
        const from = { 'x-forwarded-for': '198.51.100.7' };
        for (let i = 0; i < limit; i++) {
          assert.equal((await tryPassword(h.url, byAddress.roomId, wrong, from)).status, 403);
        }
        const refused = await tryPassword(h.url, byAddress.roomId, wrong, from);
        assert.equal(refused.status, status, 'per address');
        assert.equal((await errorOf(refused)).code, code);
        assert.ok(Number(refused.headers.get('retry-after')) > 0);
        assert.equal(verified, limit, 'the refused try was not hashed');

        const byRoom = await h.createRoom(META, passwordAuthFor(LINK_KEY, 'right'));
        for (let i = 0; i < limit; i++) {
          const other = { 'x-forwarded-for': `203.0.113.${i + 1}` };
          assert.equal((await tryPassword(h.url, byRoom.roomId, wrong, other)).status, 403);
        }
        const fresh = { 'x-forwarded-for': '192.0.2.200' };
        const roomRefused = await tryPassword(h.url, byRoom.roomId, wrong, fresh);
        assert.equal(roomRefused.status, status, 'per room, from a fresh address');
        assert.equal((await errorOf(roomRefused)).code, code);
        assert.ok(Number(roomRefused.headers.get('retry-after')) > 0);
        assert.equal(verified, 2 * limit, 'the refused try was not hashed');
      },
      { hasher },
    );
  },

  async 'Password hashes at once'(row) {
    const [running, waiting] = numbers(row.default);
    const { status, code } = httpRefusal(row.past);
    assert.match(row.past, /\(busy\), `Retry-After: 1`, the try not counted/);
    // The default hasher: all calls made in one turn, none can finish before the last is made.
    const hasher = createHasher({ logN: 4 });
    const stored = await hasher.hash('x');
    const calls = running! + waiting! + 5;
    const results = await Promise.allSettled(
      Array.from({ length: calls }, () => hasher.verify('x', stored)),
    );
    const busy = results.filter((r) => r.status === 'rejected' && r.reason instanceof HasherBusy);
    assert.equal(busy.length, 5, `${running} running and ${waiting} waiting, the rest busy`);
    // Busy, the service answers as the row says and does not count the try.
    const always: Hasher = {
      hash: (secret) => hasher.hash(secret),
      verify: () => Promise.reject(new HasherBusy('busy')),
    };
    await withService(
      {},
      async (h) => {
        const room = await h.createRoom(META, passwordAuthFor(LINK_KEY, 'right'));
        const auth = passwordAuthFor(LINK_KEY, 'wrong');
        for (let i = 0; i < defaultConfig.passwordTriesPerAddress + 1; i++) {
          const res = await tryPassword(h.url, room.roomId, auth);
          assert.equal(res.status, status);
          assert.equal((await errorOf(res)).code, code);
          assert.equal(res.headers.get('retry-after'), '1');
        }
        const limiter = await tryPassword(h.url, room.roomId, auth);
        assert.equal(limiter.status, status);
        assert.match((await errorOf(limiter)).message, /busy/, 'still busy, not out of tries');
      },
      { hasher: always },
    );
  },

  async 'Sealed metadata (bounds the file name)'(row) {
    const max = amount(row.default);
    assert.match(row.default, /`MAX_META_CHARS`/);
    assert.equal(defaultConfig.maxMetaChars, max);
    const { status, code } = httpRefusal(row.past);
    await withService({}, async (h) => {
      assert.equal((await createRoom(h, 'A'.repeat(max))).status, 201);
      const refused = await createRoom(h, 'A'.repeat(max + 1));
      assert.equal(refused.status, status);
      assert.equal((await errorOf(refused)).code, code);
    });
  },

  async 'Sealed envelope'(row) {
    const max = amount(row.default);
    assert.equal(defaultConfig.maxEnvelopeChars, max);
    const refusal = ackRefusal(row.past);
    await withService({}, async (h) => {
      const { sharer, recipient, sharerId } = await pair(h);
      assertError(
        await request(recipient, 'signal', { to: sharerId, envelope: 'A'.repeat(max + 1) }),
        refusal,
      );
      const arrives = nextEvent(sharer, 'signal');
      const ack = await request(recipient, 'signal', { to: sharerId, envelope: 'A'.repeat(max) });
      assert.deepEqual(ack, { ok: true });
      await arrives;
    });
  },

  async 'REST bodies'(row) {
    const [rooms, password] = numbers(row.default).map((n) => n * 1024);
    assert.match(row.default, /^16 KiB \(1 KiB for a password\)$/);
    const { status, code } = httpRefusal(row.past);
    await withService({}, async (h) => {
      const room = await h.createRoom();
      const padded = (bytes: number) => {
        const shell = JSON.stringify({ v: PROTOCOL_VERSION, meta: META, pad: '' });
        return shell.replace('"pad":""', `"pad":"${'x'.repeat(bytes - shell.length)}"`);
      };
      for (const [url, max] of [
        [`${h.url}/rooms`, rooms!],
        [`${h.url}/rooms/${room.roomId}/password`, password!],
      ] as const) {
        const over = await post(url, padded(max + 1));
        assert.equal(over.status, status, url);
        const error = await errorOf(over);
        assert.equal(error.code, code);
        assert.match(error.message, new RegExp(`larger than ${max} bytes`), url);
        // At the limit the body is read, and refused for what it says instead.
        const at = await post(url, padded(max));
        assert.doesNotMatch((await errorOf(at)).message, /larger than/, url);
      }
    });
  },

  async 'Room token lifetime'(row) {
    const minutes = amount(row.default);
    assert.match(row.default, /minutes/);
    assert.equal(defaultConfig.roomTokenTtlMs, minutes * MINUTE);
    assert.match(row.past, /^refused/);
    let clock = 1_700_000_000_000;
    await withService(
      { roomGraceMs: 10 * minutes * MINUTE },
      async (h) => {
        const auth = passwordAuthFor(LINK_KEY, 'right');
        const room = await h.createRoom(META, auth);
        const res = await tryPassword(h.url, room.roomId, auth);
        const { token } = (await res.json()) as { token: string };
        const read = async () => {
          const info = await fetch(`${h.url}/rooms/${room.roomId}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          return ((await info.json()) as { meta?: string }).meta;
        };
        clock += minutes * MINUTE - 1_000;
        assert.equal(await read(), META, 'valid until its lifetime is over');
        clock += 2_000;
        assert.equal(await read(), undefined, 'refused after it');
      },
      { now: () => clock, hasher: createHasher({ logN: 4 }) },
    );
  },

  async 'Rate-limit memory'(row) {
    const keys = amount(row.default);
    assert.match(row.default, /keys per counter/);
    assert.match(row.past, /oldest windows are forgotten/);
    const limiter = new MemoryWindowLimiter({ limit: 1, windowMs: MINUTE });
    for (let i = 0; i <= keys; i++) await limiter.check(`k${i}`);
    assert.equal((await limiter.check(`k${keys}`)).allowed, false, 'the newest key is remembered');
    assert.equal((await limiter.check('k1')).allowed, false, 'the second oldest is remembered');
    assert.equal((await limiter.check('k0')).allowed, true, 'the oldest is forgotten');
  },
};
