/**
 * Checks of SECURITY.md's budgets per client address (rooms created and live, sockets,
 * connections, messages over all its sockets, the namespace join that holds a place) and of the
 * origins allowed to use the service at all.
 */
import assert from 'node:assert/strict';
import { Manager } from 'socket.io-client';
import type { Ack, CreateRoomReply } from '../../../protocol/index.js';
import { defaultConfig } from '../../../server/config.js';
import { request, waitFor, type Client } from '../../../server/test-support.js';
import {
  ackRefusal,
  amount,
  assertPerMinute,
  createRoom,
  errorOf,
  from,
  httpRefusal,
  META,
  MINUTE,
  numbers,
  refusalOf,
  withService,
  type Check,
  type ConnectError,
} from './support.js';

/** Row name → the check of what the row says. */
export const ADDRESS_BUDGETS: Record<string, Check> = {
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
};
