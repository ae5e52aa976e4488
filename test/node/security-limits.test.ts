/**
 * SECURITY.md's table of the limits the service enforces is a promise to operators and users, so
 * it is tested as written: each row is read from the file, and a check for its "What" runs the
 * service in-process and holds it to the row's default and to what happens past it. A row with
 * no check fails, so a limit added to the table is wired in here (add it to CHECKS); a check
 * whose row is gone fails too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Manager, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import * as v from 'valibot';
import {
  ErrorReplySchema,
  PROTOCOL_VERSION,
  type Ack,
  type CreateRoomReply,
} from '../../protocol/index.js';
import { defaultConfig, type Config } from '../../server/config.js';
import { WindowLimiter } from '../../server/limits.js';
import { createHasher, HasherBusy, type Hasher } from '../../server/password.js';
import { SHARER_SOCKETS } from '../../server/store/store.js';
import { MAX_BANS } from '../../server/swarm/state.js';
import {
  assertError,
  join,
  nextEvent,
  passwordAuthFor,
  request,
  sleep,
  startService,
  tryPassword,
  waitFor,
  type Client,
  type Harness,
  type RawClient,
} from '../../server/test-support.js';

interface Row {
  what: string;
  default: string;
  past: string;
}

type Check = (row: Row) => Promise<void>;

const SECURITY = readFileSync(new URL('../../SECURITY.md', import.meta.url), 'utf8');
const META = 'c2VhbGVkLW1ldGE';
const LINK_KEY = 'AAAAAAAAAAAAAAAAAAAAAA';
const MINUTE = 60_000;

/** The rows of the table under "## Limits the service enforces". */
function limitRows(markdown: string): Row[] {
  const section = markdown.split(/^## Limits the service enforces$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, 'SECURITY.md has a "Limits the service enforces" section');
  const cells = section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  assert.deepEqual(cells[0], ['What', 'Default', 'Past it'], 'the table keeps its three columns');
  return cells.slice(2).map(([what = '', def = '', past = '']) => ({ what, default: def, past }));
}

/** Every number in a cell, in order (`100,000` is one number). */
function numbers(cell: string): number[] {
  return [...cell.replace(/(\d),(\d)/g, '$1$2').matchAll(/\d+/g)].map((m) => Number(m[0]));
}

/** The cell's first number; with `KiB` after it, in bytes. */
function amount(cell: string): number {
  const [n] = numbers(cell);
  assert.ok(n !== undefined, `no number in "${cell}"`);
  return /^\D*\d[\d,]*\s*KiB/.test(cell) ? n * 1024 : n;
}

/** The HTTP refusal a cell names: `` `413 limit-exceeded` ``. */
function httpRefusal(cell: string): { status: number; code: string } {
  const m = /`(\d{3}) ([a-z-]+)`/.exec(cell);
  assert.ok(m, `no HTTP status and code in "${cell}"`);
  return { status: Number(m[1]), code: m[2]! };
}

/** The socket refusal a cell names: `` `limit-exceeded` answer `` or a lone `` `code` ``. */
function ackRefusal(cell: string): string {
  const m = /^`([a-z-]+)`/.exec(cell);
  assert.ok(m, `no error code at the start of "${cell}"`);
  return m[1]!;
}

/** `a minute` is the window of the per-address and per-room counters. */
function assertPerMinute(cell: string): void {
  assert.match(cell, /a minute/);
  assert.equal(defaultConfig.rateWindowMs, MINUTE);
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return v.parse(ErrorReplySchema, await res.json()).error;
}

async function withService(
  config: Partial<Config>,
  body: (h: Harness) => Promise<void>,
  options: { hasher?: Hasher; now?: () => number } = {},
): Promise<void> {
  const h = await startService({ ...options, config });
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

const createRoom = (h: Harness, meta = META, headers: Record<string, string> = {}) =>
  post(`${h.url}/rooms`, JSON.stringify({ v: PROTOCOL_VERSION, meta }), headers);

/** A sharer in a fresh room and a recipient beside it; resolves to the sharer's peer id. */
async function pair(h: Harness) {
  const room = await h.createRoom();
  const sharer = await h.connect();
  const recipient = await h.connect();
  const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
  await join(recipient, room.roomId);
  return { room, sharer, recipient, sharerId };
}

/** The acknowledgement of a join, refused or not. */
const joinAck = (
  socket: Client,
  roomId: string,
  role: 'sharer' | 'recipient' = 'recipient',
  sharerToken?: string,
) =>
  request(socket, 'join', {
    v: PROTOCOL_VERSION,
    roomId,
    role,
    ...(sharerToken ? { sharerToken } : {}),
  });

/** What a refused Socket.IO connection hears in `connect_error`. */
type ConnectError = Error & { data?: { code: string; retryAfterMs?: number } };

/** `'ok'` when the connection got in, else the code it was refused with. */
function refusalOf(connecting: Promise<Client>): Promise<string> {
  return connecting.then(
    (socket) => {
      socket.disconnect();
      return 'ok';
    },
    (err: ConnectError) => err.data?.code ?? err.message,
  );
}

/** Connects from another loopback address, a client address of its own. */
const from = (localAddress: string) =>
  ({ localAddress }) as Partial<ManagerOptions & SocketOptions>;

/** Row name → the check of what the row says. */
const CHECKS: Record<string, Check> = {
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

  async 'Rooms created per client address'(row) {
    const limit = amount(row.default);
    assertPerMinute(row.default);
    assert.equal(defaultConfig.roomsPerAddress, limit);
    const { status, code } = httpRefusal(row.past);
    assert.match(row.past, /`Retry-After`/);
    await withService({ roomsPerAddress: defaultConfig.roomsPerAddress }, async (h) => {
      for (let i = 0; i < limit; i++) assert.equal((await createRoom(h)).status, 201, `room ${i}`);
      const refused = await createRoom(h);
      assert.equal(refused.status, status);
      assert.equal((await errorOf(refused)).code, code);
      const wait = Number(refused.headers.get('retry-after'));
      assert.ok(wait > 0 && wait <= 60, `Retry-After: ${wait}`);
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
    const limiter = new WindowLimiter({ limit: 1, windowMs: MINUTE });
    for (let i = 0; i <= keys; i++) limiter.check(`k${i}`);
    assert.equal(limiter.check(`k${keys}`).allowed, false, 'the newest key is remembered');
    assert.equal(limiter.check('k1').allowed, false, 'the second oldest is remembered');
    assert.equal(limiter.check('k0').allowed, true, 'the oldest is forgotten');
  },

  async 'Sockets per client address'(row) {
    const limit = amount(row.default);
    assert.match(row.default, /open at once \(`SOCKETS_PER_ADDRESS`\)/);
    assert.equal(defaultConfig.socketsPerAddress, limit);
    const refusal = ackRefusal(row.past);
    assert.match(row.past, /in `connect_error`; the connection is closed$/);
    await withService({ socketsPerAddress: limit }, async (h) => {
      const held: Client[] = [];
      for (let i = 0; i < limit; i++) held.push(await h.connect());
      assert.equal(await refusalOf(h.connect()), refusal);
      // The service closes the refused connection itself.
      await waitFor(() => h.service.io.engine.clientsCount === limit, 5_000);
      assert.equal(await refusalOf(h.connect(from('127.0.0.2'))), 'ok', 'another address');
      held.pop()!.disconnect();
      await waitFor(() => h.service.io.engine.clientsCount === limit - 1, 5_000);
      assert.equal(await refusalOf(h.connect()), 'ok', 'a closed socket frees its place');
    });
  },

  async 'Connections per client address'(row) {
    const limit = amount(row.default);
    assertPerMinute(row.default);
    assert.match(row.default, /`CONNECTIONS_PER_ADDRESS`/);
    assert.equal(defaultConfig.connectionsPerAddress, limit);
    const refusal = ackRefusal(row.past);
    assert.match(row.past, /\+ `retryAfterMs` in `connect_error`$/);
    await withService({ connectionsPerAddress: limit }, async (h) => {
      // Each one closed before the next: the window counts openings, not sockets held.
      for (let i = 0; i < limit; i++) (await h.connect()).disconnect();
      const refused = await h.connect().then(
        () => assert.fail('a connection past the limit got in'),
        (err: ConnectError) => err.data,
      );
      assert.equal(refused?.code, refusal);
      const wait = refused?.retryAfterMs ?? 0;
      assert.ok(wait > 0 && wait <= MINUTE, `retryAfterMs: ${wait}`);
      assert.equal(await refusalOf(h.connect(from('127.0.0.2'))), 'ok', 'another address');
    });
  },

  async 'Messages per client address'(row) {
    const [rate, burst] = numbers(row.default);
    assert.match(row.default, /over all its sockets$/);
    assert.equal(defaultConfig.addressMessagesPerSecond, rate);
    assert.equal(defaultConfig.addressMessageBurst, burst);
    const refusal = ackRefusal(row.past);
    assert.match(row.past, /answer; reconnecting does not refill it$/);
    // The default's burst is above what one socket may send at once; the same code at a small
    // size shows the sharing and the refill that reconnecting does not bring.
    const small = { addressMessagesPerSecond: 1, addressMessageBurst: 20 };
    await withService(small, async (h) => {
      const limited = (acks: Ack<object>[]) =>
        acks.filter((a) => !a.ok && a.error.code === refusal).length;
      const send = (socket: Client, n: number) =>
        Promise.all(Array.from({ length: n }, () => request(socket, 'sources', {})));
      const a = await h.connect();
      const b = await h.connect();
      const started = performance.now();
      // Two sockets, each with room for its own 400, share the address's 20.
      const first = [...(await send(a, 15)), ...(await send(b, 15))];
      const refused = limited(first);
      const elapsed = (performance.now() - started) / 1000;
      assert.ok(refused > 0, 'none of 30 refused');
      assert.ok(
        first.length - refused <= small.addressMessageBurst + Math.ceil(elapsed) + 1,
        `${first.length - refused} answered in ${elapsed.toFixed(2)} s`,
      );
      const other = await h.connect(from('127.0.0.2'));
      assert.equal(limited(await send(other, 10)), 0, 'another address has its own');
      // Every socket of the address gone and a new one opened: the bucket is as it was left.
      a.disconnect();
      b.disconnect();
      await waitFor(() => h.service.io.engine.clientsCount === 1, 5_000);
      const again = await send(await h.connect(), small.addressMessageBurst);
      const seconds = (performance.now() - started) / 1000;
      const answered = again.length - limited(again);
      assert.ok(
        answered <= Math.ceil(seconds * small.addressMessagesPerSecond) + 1,
        `${answered} of ${again.length} answered after reconnecting, ${seconds.toFixed(2)} s on`,
      );
    });
  },

  async 'Live rooms per client address'(row) {
    const limit = amount(row.default);
    assert.match(row.default, /at once \(`LIVE_ROOMS_PER_ADDRESS`\)$/);
    assert.equal(defaultConfig.liveRoomsPerAddress, limit);
    const { status, code } = httpRefusal(row.past);
    assert.match(row.past, /; stopping a room frees its place$/);
    await withService({ liveRoomsPerAddress: limit }, async (h) => {
      const rooms: CreateRoomReply[] = [];
      for (let i = 0; i < limit; i++) {
        const res = await createRoom(h);
        assert.equal(res.status, 201, `room ${i}`);
        rooms.push((await res.json()) as CreateRoomReply);
      }
      const refused = await createRoom(h);
      assert.equal(refused.status, status);
      assert.equal((await errorOf(refused)).code, code);
      const stopped = await fetch(`${h.url}/rooms/${rooms[0]!.roomId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${rooms[0]!.sharerToken}` },
      });
      assert.equal(stopped.status, 204);
      assert.equal((await createRoom(h)).status, 201, 'the stopped room freed its place');
      assert.equal((await createRoom(h)).status, status, 'and only that one');
    });
  },

  async 'Socket.IO namespace join'(row) {
    const seconds = amount(row.default);
    assert.match(row.default, /^\d+ s after the connection opens$/);
    assert.match(row.past, /^the connection is closed; until then it counts as one of its/);
    await withService({ socketsPerAddress: 1 }, async (h) => {
      assert.equal(h.service.io.connectTimeout(), seconds * 1000);
      // Waiting out the default is the same code with a shorter timeout.
      h.service.io.connectTimeout(300);
      // An Engine.IO connection that never asks for a namespace.
      const manager = new Manager(h.url, {
        transports: ['websocket'],
        reconnection: false,
        autoConnect: false,
      });
      const closed = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('not closed within 5 s')), 5_000);
        manager.once('close', () => resolve(clearTimeout(timer)));
      });
      await new Promise<void>((resolve, reject) =>
        manager.open((err) => (err ? reject(err) : resolve())),
      );
      assert.equal(await refusalOf(h.connect()), 'too-many-connections', 'it holds a place');
      await closed;
      assert.equal(await refusalOf(h.connect()), 'ok', 'closed, its place is free');
    });
  },

  async Origins(row) {
    assert.equal(row.default, 'any (`ALLOWED_ORIGINS=*`)');
    assert.equal(defaultConfig.allowedOrigins, '*');
    const { status, code } = httpRefusal(row.past);
    assert.match(row.past, /Socket\.IO connections refused; never compared with the `Host` header/);
    const evil = { origin: 'https://evil.example' };
    await withService({}, async (h) => {
      assert.equal((await createRoom(h, META, evil)).status, 201, 'any origin by default');
    });
    await withService({ allowedOrigins: ['https://host.example'] }, async (h) => {
      const refused = await createRoom(h, META, evil);
      assert.equal(refused.status, status);
      assert.equal((await errorOf(refused)).code, code);
      await assert.rejects(h.connect({ extraHeaders: evil }), 'Socket.IO connection refused');
      const allowed = await createRoom(h, META, { origin: 'https://host.example' });
      assert.equal(allowed.status, 201);
      // A page on the service's own address sends an Origin equal to the Host header (so does a
      // DNS-rebinding page): unlisted, it is refused like any other.
      const own = { origin: h.url };
      assert.equal(new URL(h.url).host, `127.0.0.1:${new URL(h.url).port}`);
      const sameAsHost = await createRoom(h, META, own);
      assert.equal(sameAsHost.status, status);
      assert.equal((await errorOf(sameAsHost)).code, code);
      await assert.rejects(h.connect({ extraHeaders: own }), 'Socket.IO connection refused');
    });
  },
  async 'Sockets per address per room'(row) {
    const limit = amount(row.default);
    assert.match(row.default, /recipients \(`MAX_SOCKETS_PER_ADDRESS_PER_ROOM`\)$/);
    assert.equal(defaultConfig.maxSocketsPerAddressPerRoom, limit);
    const refusal = ackRefusal(row.past);
    assert.match(row.past, /; other addresses and the sharer's token still get in$/);
    await withService({ maxSocketsPerAddressPerRoom: limit }, async (h) => {
      const room = await h.createRoom();
      for (let i = 0; i < limit; i++) await join(await h.connect(), room.roomId);
      assertError(await joinAck(await h.connect(), room.roomId), refusal, 'one address past it');
      await join(await h.connect(from('127.0.0.2')), room.roomId);
      await join(await h.connect(), room.roomId, 'sharer', room.sharerToken);
      const other = await h.createRoom();
      await join(await h.connect(), other.roomId);
    });
  },

  async "The sharer's place in a room"(row) {
    const [recipients, room, sharerSockets] = numbers(row.default);
    assert.equal(defaultConfig.maxSocketsPerRoom, room);
    assert.equal(recipients, room! - 1);
    assert.equal(sharerSockets, SHARER_SOCKETS);
    const refusal = ackRefusal(row.past);
    // The default room's arithmetic at a smaller size.
    const cap = 4;
    await withService({ maxSocketsPerRoom: cap, maxSocketsPerAddressPerRoom: cap }, async (h) => {
      const r = await h.createRoom();
      for (let i = 0; i < cap - 1; i++) await join(await h.connect(), r.roomId);
      assertError(await joinAck(await h.connect(), r.roomId), refusal, 'a recipient past it');
      for (let i = 0; i < sharerSockets!; i++) {
        await join(await h.connect(), r.roomId, 'sharer', r.sharerToken);
      }
      const third = await joinAck(await h.connect(), r.roomId, 'sharer', r.sharerToken);
      assertError(third, refusal, 'a sharer socket past its two');
    });
  },

  async 'Swarm lease'(row) {
    const seconds = amount(row.default);
    assert.match(row.default, /^\d+ s \(`SWARM_LEASE_MS`\) unless a `good` report confirms it$/);
    assert.equal(defaultConfig.swarmLeaseMs, seconds * 1000);
    assert.match(row.past, /^the slot frees; that seed is not assigned to that recipient again$/);
    // Waiting out the default is the same code with a shorter lease.
    const leaseMs = 200;
    await withService({ swarmCapacity: 1, swarmLeaseMs: leaseMs }, async (h) => {
      const { room, recipient: squatter, sharerId } = await pair(h);
      const waiter = await h.connect();
      await join(waiter, room.roomId);
      assert.deepEqual(await request(squatter, 'sources', {}), { ok: true, sources: [sharerId] });
      const assigned = nextEvent(waiter, 'assigned', 10_000);
      assert.deepEqual(await request(waiter, 'sources', {}), {
        ok: true,
        sources: [],
        position: 1,
      });
      // The squatter never confirms: its slot goes to the waiter, and never back to it.
      assert.deepEqual(await assigned, { sources: [sharerId] });
      assertError(await request(squatter, 'sources', {}), 'no-sources');
      // A lease a `good` report confirmed outlives its deadline.
      assert.deepEqual(await request(waiter, 'report', { peerId: sharerId, reason: 'good' }), {
        ok: true,
      });
      await sleep(3 * leaseMs);
      const swarm = await h.service.swarms.inspect(room.roomId);
      assert.deepEqual(swarm?.leases[waiter.id!], [{ seed: sharerId, until: null }]);
    });
  },

  async 'Swarm events per room'(row) {
    const [rate, burst] = numbers(row.default);
    assert.match(row.default, /all members together \(`SWARM_EVENTS_PER_ROOM_PER_SECOND`\)$/);
    assert.equal(defaultConfig.swarmEventsPerRoomPerSecond, rate);
    assert.equal(burst, 2 * rate!);
    const refusal = ackRefusal(row.past);
    assert.match(row.past, /\+ `retryAfterMs`; other rooms keep their own budget$/);
    await withService({}, async (h) => {
      const room = await h.createRoom();
      // Five members, each within its own socket's burst, share the room's.
      const members: Client[] = [];
      for (let i = 0; i < 5; i++) {
        members.push(await h.connect());
        await join(members[i]!, room.roomId);
      }
      const started = performance.now();
      const acks = (
        await Promise.all(
          members.map((m) =>
            Promise.all(
              Array.from({ length: 200 }, () =>
                request(m, 'seed', { have: 'none', seeding: false }),
              ),
            ),
          ),
        )
      ).flat();
      const seconds = (performance.now() - started) / 1000;
      const refused = acks.filter((a) => !a.ok && a.error.code === refusal);
      const answered = acks.length - refused.length;
      assert.ok(refused.length > 0, `none of ${acks.length} refused in ${seconds.toFixed(2)} s`);
      assert.ok(
        answered <= burst! + Math.ceil(rate! * seconds) + 1,
        `${answered} answered in ${seconds.toFixed(2)} s: more than ${burst} + ${rate}/s`,
      );
      const first = refused[0]!;
      assert.ok(!first.ok && (first.error.retryAfterMs ?? 0) > 0, 'with retryAfterMs');
      const other = await h.createRoom();
      const outsider = await h.connect();
      await join(outsider, other.roomId);
      const own = await request(outsider, 'seed', { have: 'none', seeding: false });
      assert.deepEqual(own, { ok: true }, "another room's budget is its own");
    });
  },

  async 'Bans per reporter'(row) {
    const cap = amount(row.default);
    assert.match(row.default, /^\d+ peers$/);
    assert.equal(MAX_BANS, cap);
    assert.match(row.past, /^the oldest is dropped: that peer may be assigned to the reporter/);
    const roomy = { maxSocketsPerRoom: cap + 8, maxSocketsPerAddressPerRoom: cap + 8 };
    await withService(roomy, async (h) => {
      const { room, recipient: reporter, sharerId } = await pair(h);
      await request(reporter, 'report', { peerId: sharerId, reason: 'misbehaved' });
      assertError(await request(reporter, 'sources', {}), 'no-sources', 'the sharer banned');
      // As many more bans as the cap holds push the oldest, the sharer's, out.
      for (let i = 0; i < cap; i++) {
        const other = await h.connect();
        const peerId = await join(other, room.roomId);
        await request(reporter, 'report', { peerId, reason: 'misbehaved' });
      }
      const bans = (await h.service.swarms.inspect(room.roomId))?.bans[reporter.id!];
      assert.equal(bans?.length, cap);
      assert.ok(!bans.includes(sharerId));
      assert.deepEqual(await request(reporter, 'sources', {}), { ok: true, sources: [sharerId] });
    });
  },

  async 'Seeds on probation'(row) {
    assert.match(row.default, /^until a recipient it was assigned to reports a verified piece/);
    assert.match(row.past, /after the sharer and proven seeds; not counted as finished; keeps/);
    const graceMs = 60_000;
    await withService({ roomGraceMs: graceMs }, async (h) => {
      const { room, sharer, recipient, sharerId } = await pair(h);
      const seedAll = { have: 'all', seeding: true };
      const fake = await h.connect();
      await join(fake, room.roomId);
      assert.deepEqual(await request(fake, 'seed', seedAll), { ok: true });
      const finished = async () => (await h.service.swarms.stats(room.roomId))?.finished;
      assert.equal(await finished(), 0, 'a claim is not a finish');
      // Both free, the unproven seed ranks after the sharer.
      const first = await request(recipient, 'sources', { max: 1 });
      assert.deepEqual(first, { ok: true, sources: [sharerId] });
      // With only an unproven seed left, the sharer's departure starts the grace period.
      sharer.disconnect();
      const expiresAt = async () =>
        ((await (await fetch(`${h.url}/rooms/${room.roomId}`)).json()) as { expiresAt: number })
          .expiresAt;
      await waitFor(async () => (await expiresAt()) <= Date.now() + graceMs);
      // A verified piece from it, fetched under its lease, proves it.
      const next = await request(recipient, 'sources', { exclude: [sharerId], max: 1 });
      assert.deepEqual(next, { ok: true, sources: [fake.id] });
      await request(recipient, 'report', { peerId: fake.id, reason: 'good' });
      assert.equal(await finished(), 1, 'proven, it counts');
      assert.ok((await expiresAt()) > Date.now() + 60 * MINUTE, 'and keeps the room alive');
      // A newer unproven seed ranks after the proven one, loaded as that one is.
      const fresh = await h.connect();
      await join(fresh, room.roomId);
      assert.deepEqual(await request(fresh, 'seed', seedAll), { ok: true });
      const late = await h.connect();
      await join(late, room.roomId);
      assert.deepEqual(await request(late, 'sources', { max: 1 }), {
        ok: true,
        sources: [fake.id],
      });
      assert.equal(await finished(), 1);
    });
  },
};

const ROWS = limitRows(SECURITY);

test('SECURITY.md lists the limits, and each check has its row', () => {
  assert.ok(ROWS.length >= 12, `${ROWS.length} rows`);
  const stale = Object.keys(CHECKS).filter((what) => !ROWS.some((row) => row.what === what));
  assert.deepEqual(stale, [], 'checks whose row left the table: remove or rename them');
});

test('a row the checks do not know fails', () => {
  const rows = limitRows(
    '## Limits the service enforces\n\n| What | Default | Past it |\n| --- | --- | --- |\n| New | 1 | `429 x` |\n',
  );
  assert.deepEqual(rows, [{ what: 'New', default: '1', past: '`429 x`' }]);
  assert.equal(CHECKS[rows[0]!.what], undefined);
});

for (const row of ROWS) {
  test(`limit as written: ${row.what} — ${row.default} — ${row.past}`, async () => {
    const check = CHECKS[row.what];
    assert.ok(check, `SECURITY.md's row "${row.what}" has no check: add one to CHECKS`);
    await check(row);
  });
}
