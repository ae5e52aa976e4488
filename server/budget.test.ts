import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { io } from 'socket.io-client';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import {
  AddressBudget,
  MemoryLiveRooms,
  memoryLimits,
  type Admission,
  type SocketGrant,
} from './budget.js';
import {
  assertError,
  request,
  startService,
  SweepCountingStore,
  waitFor,
  type Harness,
} from './test-support.js';

const budgetConfig = {
  socketsPerAddress: 2,
  connectionsPerAddress: 4,
  rateWindowMs: 60_000,
  addressMessagesPerSecond: 1,
  addressMessageBurst: 3,
};

async function granted(admitting: Promise<Admission>): Promise<SocketGrant> {
  const admission = await admitting;
  assert.equal(admission.ok, true, JSON.stringify(admission));
  return admission as SocketGrant;
}

describe('AddressBudget', () => {
  test('caps sockets open at once per address; a closed one frees its place once', async () => {
    const budget = new AddressBudget({ config: budgetConfig, now: () => 0 });
    const a = await granted(budget.admit('a'));
    await granted(budget.admit('a'));
    const refused = await budget.admit('a');
    assert.deepEqual(refused.ok ? null : refused.error.code, 'too-many-connections');
    await granted(budget.admit('b'));
    a.close();
    a.close();
    await granted(budget.admit('a'));
    assert.equal((await budget.admit('a')).ok, false, 'a second close gave nothing back');
  });

  test('caps connections per window, and says how long to wait', async () => {
    let clock = 0;
    const budget = new AddressBudget({ config: budgetConfig, now: () => clock });
    for (let i = 0; i < 4; i++) (await granted(budget.admit('a'))).close();
    clock = 15_000;
    const refused = await budget.admit('a');
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'rate-limited');
    assert.equal(refused.error.retryAfterMs, 45_000);
    clock = 60_000;
    await granted(budget.admit('a'));
  });

  test("one bucket for all of an address's sockets, which reconnecting does not refill", async () => {
    const budget = new AddressBudget({ config: budgetConfig, now: () => 0 });
    const first = await granted(budget.admit('a'));
    const second = await granted(budget.admit('a'));
    assert.equal(first.bucket, second.bucket);
    for (let i = 0; i < 3; i++) assert.equal(first.bucket.take(), true);
    assert.equal(second.bucket.take(), false, 'the other socket finds it empty');
    first.close();
    second.close();
    assert.deepEqual(budget.sizes(), { open: 0, resting: 1, windows: 1 });
    const again = await granted(budget.admit('a'));
    assert.equal(again.bucket.take(), false, 'a reconnect finds it as it was left');
    assert.equal(
      (await granted(budget.admit('b'))).bucket.take(),
      true,
      'other addresses are apart',
    );
  });

  test('forgets an address once it holds nothing and its bucket has refilled', async () => {
    let clock = 0;
    let monotonic = 0;
    const config = { ...budgetConfig, addressMessagesPerSecond: 10, addressMessageBurst: 2 };
    const budget = new AddressBudget({ config, now: () => clock, monotonic: () => monotonic });
    for (let i = 0; i < 50; i++) {
      const grant = await granted(budget.admit(`10.0.0.${i}`));
      if (i % 2) grant.bucket.take();
      grant.close();
    }
    assert.equal(budget.sizes().resting, 25, 'only the buckets that were used are kept');
    monotonic = 199;
    assert.equal(budget.sizes().resting, 25);
    monotonic = 200;
    clock = 60_000;
    assert.deepEqual(budget.sizes(), { open: 0, resting: 0, windows: 0 });
  });

  test('sockets admitted at once cannot pass the limit together', async () => {
    const budget = new AddressBudget({
      config: { ...budgetConfig, connectionsPerAddress: 100 },
      now: () => 0,
    });
    const admissions = await Promise.all(Array.from({ length: 6 }, () => budget.admit('a')));
    assert.deepEqual(
      admissions.map((a) => (a.ok ? 'ok' : a.error.code)),
      [
        'ok',
        'ok',
        'too-many-connections',
        'too-many-connections',
        'too-many-connections',
        'too-many-connections',
      ],
    );
  });

  test('connection windows out of reach: refused as service-unavailable, nothing held', async () => {
    let reachable = false;
    const limits = {
      ...memoryLimits(() => 0),
      windows: () => ({
        check: () =>
          reachable
            ? Promise.resolve({ allowed: true, retryAfterMs: 0 })
            : Promise.reject(new Error('Connection is closed.')),
        refund: () => Promise.resolve(),
      }),
    };
    const budget = new AddressBudget({ config: budgetConfig, limits });
    for (let i = 0; i < 3; i++) {
      const refused = await budget.admit('a');
      assert.equal(refused.ok ? 'ok' : refused.error.code, 'service-unavailable');
    }
    assert.deepEqual(budget.sizes(), { open: 0, resting: 0, windows: 0 });
    reachable = true;
    await granted(budget.admit('a'));
  });

  test('bounds what it remembers under a flood of addresses', async () => {
    const budget = new AddressBudget({ config: budgetConfig, now: () => 0, maxKeys: 10 });
    for (let i = 0; i < 1000; i++) {
      const grant = await granted(budget.admit(`key ${i}`));
      grant.bucket.take();
      grant.close();
    }
    const sizes = budget.sizes();
    assert.equal(sizes.resting, 10);
    assert.equal(sizes.windows, 10);
  });
});

describe('MemoryLiveRooms', () => {
  test('counts the rooms it holds over all addresses, and lets forgotten ones go', async () => {
    const rooms = new MemoryLiveRooms(2, async () => true);
    await (await rooms.admit('a'))!.settle('r1');
    await (await rooms.admit('b'))!.settle('r2');
    await (await rooms.admit('b'))!.settle(null);
    assert.equal(rooms.size, 2);
    await rooms.forget('r1');
    assert.equal(rooms.size, 1);
  });
});

/** Connects from `localAddress`; resolves with the socket, or the refusal's data. */
function tryConnect(h: Harness, localAddress = '127.0.0.1', extraHeaders = {}) {
  const socket = io(h.url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    localAddress,
    extraHeaders,
  } as Parameters<typeof io>[1]);
  return new Promise<{ socket: typeof socket; refusal?: { code: string; retryAfterMs?: number } }>(
    (resolve) => {
      socket.once('connect', () => resolve({ socket }));
      socket.once('connect_error', (err: Error & { data?: { code: string } }) =>
        resolve({ socket, refusal: err.data }),
      );
    },
  );
}

describe('per-address budgets in the service', () => {
  test('a connection past SOCKETS_PER_ADDRESS hears too-many-connections and is closed', async () => {
    const h = await startService({ config: { socketsPerAddress: 2 } });
    try {
      const a = await tryConnect(h);
      const b = await tryConnect(h);
      assert.equal(a.refusal, undefined);
      assert.equal(b.refusal, undefined);
      const c = await tryConnect(h);
      assert.equal(c.refusal?.code, 'too-many-connections');
      // The refused connection is closed by the service, not left for the client to close.
      await waitFor(() => h.service.io.engine.clientsCount === 2);
      const other = await tryConnect(h, '127.0.0.2');
      assert.equal(other.refusal, undefined, 'another address');
      a.socket.disconnect();
      await waitFor(() => h.service.io.engine.clientsCount === 2);
      const d = await tryConnect(h);
      assert.equal(d.refusal, undefined, 'a closed socket freed its place');
      for (const s of [b, c, d, other]) s.socket.disconnect();
    } finally {
      await h.close();
    }
  });

  test('a connection past CONNECTIONS_PER_ADDRESS hears rate-limited with the wait', async () => {
    const h = await startService({ config: { connectionsPerAddress: 3 } });
    try {
      for (let i = 0; i < 3; i++) {
        const { socket, refusal } = await tryConnect(h);
        assert.equal(refusal, undefined);
        socket.disconnect();
      }
      const { socket, refusal } = await tryConnect(h);
      socket.disconnect();
      assert.equal(refusal?.code, 'rate-limited');
      assert.ok((refusal?.retryAfterMs ?? 0) > 50_000, `${refusal?.retryAfterMs}`);
    } finally {
      await h.close();
    }
  });

  test('the sockets of one address share one message bucket', async () => {
    const h = await startService({
      config: { addressMessagesPerSecond: 1, addressMessageBurst: 4 },
    });
    try {
      const a = await h.connect();
      const b = await h.connect();
      const other = await h.connect({ localAddress: '127.0.0.2' } as Parameters<
        typeof h.connect
      >[0]);
      for (let i = 0; i < 4; i++) {
        const ack = await request(i % 2 ? a : b, 'sources', {});
        assert.notEqual(!ack.ok && ack.error.code, 'rate-limited');
      }
      assertError(await request(a, 'sources', {}), 'rate-limited', 'socket a');
      assertError(await request(b, 'sources', {}), 'rate-limited', 'socket b');
      assertError(await request(other, 'sources', {}), 'not-allowed', 'another address');
    } finally {
      await h.close();
    }
  });

  test('X-Forwarded-For from a peer TRUSTED_PROXY does not name is ignored', async () => {
    const h = await startService({
      config: {
        trustedProxy: { addresses: ['10.0.0.0/8'] },
        socketsPerAddress: 2,
        roomsPerAddress: 2,
      },
    });
    try {
      const from = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}` });
      const sockets = [];
      for (let i = 0; i < 3; i++) sockets.push(await tryConnect(h, '127.0.0.1', from(i)));
      assert.deepEqual(
        sockets.map((s) => s.refusal?.code ?? 'ok'),
        ['ok', 'ok', 'too-many-connections'],
      );
      for (const s of sockets) s.socket.disconnect();
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${h.url}/rooms`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...from(i) },
          body: JSON.stringify({ v: PROTOCOL_VERSION, meta: 'c2VhbGVkLW1ldGE' }),
        });
        statuses.push(res.status);
      }
      assert.deepEqual(statuses, [201, 201, 429]);
    } finally {
      await h.close();
    }
  });

  test('the hop-count form of TRUSTED_PROXY is warned about at start', async () => {
    const hops = await startService({ config: { trustedProxy: { hops: 1 } } });
    const named = await startService({ config: { trustedProxy: { addresses: ['10.0.0.1'] } } });
    try {
      const warned = (h: Harness) =>
        h.logs.some((line) => /"level":"warn","event":"config.trusted-proxy-hops"/.test(line));
      assert.equal(warned(hops), true);
      assert.equal(warned(named), false);
    } finally {
      await hops.close();
      await named.close();
    }
  });
});

describe('live rooms per address', () => {
  const create = (url: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ v: PROTOCOL_VERSION, meta: 'c2VhbGVkLW1ldGE' }),
    });

  test('past LIVE_ROOMS_PER_ADDRESS: too-many-shares; stopping a room frees a place', async () => {
    const h = await startService({ config: { liveRoomsPerAddress: 2 } });
    try {
      const first = (await (await create(h.url)).json()) as { roomId: string; sharerToken: string };
      assert.equal((await create(h.url)).status, 201);
      const refused = await create(h.url);
      assert.equal(refused.status, 429);
      const body = (await refused.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'too-many-shares');
      const stop = await fetch(`${h.url}/rooms/${first.roomId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${first.sharerToken}` },
      });
      assert.equal(stop.status, 204);
      assert.equal((await create(h.url)).status, 201);
      assert.equal((h.service.liveRooms as MemoryLiveRooms).size, 2);
    } finally {
      await h.close();
    }
  });

  test('an expired room frees its place, before the sweep and by it', async () => {
    let clock = 1_000_000;
    const lifetime = { roomGraceMs: 10_000, roomMaxAgeMs: 60_000, sweepIntervalMs: 20 };
    const store = new SweepCountingStore({ ...lifetime, now: () => clock });
    const h = await startService({
      config: { ...lifetime, liveRoomsPerAddress: 1 },
      store,
      now: () => clock,
    });
    try {
      assert.equal((await create(h.url)).status, 201);
      assert.equal((await create(h.url)).status, 429);
      // Nobody joins: the room expires after its grace period. The store says so at once, so
      // the next creation is let in whether or not a sweep came first.
      clock += 10_001;
      assert.equal((await create(h.url)).status, 201);
      clock += 10_001;
      await store.nextSweep();
      assert.equal(
        (h.service.liveRooms as MemoryLiveRooms).size,
        0,
        'the sweep forgot the expired rooms',
      );
      assert.equal((await create(h.url)).status, 201);
    } finally {
      await h.close();
    }
  });
});
