/**
 * Two service instances, as two processes behind a balancer would be, sharing one redis-server
 * for their limits (and, standing in for a shared room store, one store object): a client that
 * spreads its requests over both gets each budget once, not once per process. Then Redis goes
 * away: what needs the counters is refused with 503, never let through, and works again when
 * Redis returns. Last, two real processes started as `npm start` would, with REDIS_URL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { PROTOCOL_VERSION } from '../../protocol/index.js';
import { startRedis, type RedisServer } from '../../testing/redis.js';
import type { Config } from '../../server/config.js';
import { redisLimits } from '../../server/limits-redis.js';
import { createLogger } from '../../server/log.js';
import { createHasher, type Hasher } from '../../server/password.js';
import { connectRedis } from '../../server/redis.js';
import { MemoryRoomStore } from '../../server/store/memory.js';
import {
  passwordAuthFor,
  startService,
  tryPassword,
  waitFor,
  type Harness,
} from '../../server/test-support.js';

const SECRET = 'a test secret of at least thirty-two characters';
const META = 'c2VhbGVkLW1ldGE';
const AUTH = passwordAuthFor('AAAAAAAAAAAAAAAAAAAAAA', 'right');
const WRONG = passwordAuthFor('AAAAAAAAAAAAAAAAAAAAAA', 'wrong');

let redisServer: RedisServer;

before(async () => {
  redisServer = await startRedis();
});

after(async () => {
  await redisServer.stop();
});

interface Pair {
  a: Harness;
  b: Harness;
  /** Password hashes checked, over both services. */
  verified(): number;
  /** Whether both services' Redis clients are connected. */
  connected(): boolean;
  close(): Promise<void>;
}

/** Two services with their own Redis clients, one set of counters and one room store. */
async function startPair(config: Partial<Config>): Promise<Pair> {
  const prefix = `${randomUUID()}:`;
  const store = new MemoryRoomStore({ roomGraceMs: 60_000, roomMaxAgeMs: 600_000 });
  const clients: Redis[] = [];
  const real = createHasher({ logN: 4 });
  let verified = 0;
  const hasher: Hasher = {
    hash: (secret) => real.hash(secret),
    verify: (secret, stored) => {
      verified++;
      return real.verify(secret, stored);
    },
  };
  const start = async () => {
    const redis = connectRedis(redisServer.url, createLogger({ level: 'silent' }));
    clients.push(redis);
    await waitFor(() => redis.status === 'ready', 10_000);
    return startService({
      config: { roomGraceMs: 60_000, roomMaxAgeMs: 600_000, tokenSecret: SECRET, ...config },
      store,
      hasher,
      limits: redisLimits({ redis, secret: SECRET, roomMaxAgeMs: 600_000, prefix }),
    });
  };
  const a = await start();
  const b = await start();
  return {
    a,
    b,
    verified: () => verified,
    connected: () => clients.every((redis) => redis.status === 'ready'),
    async close() {
      await a.close();
      await b.close();
      for (const redis of clients) redis.disconnect();
    },
  };
}

const create = (h: Harness, passwordAuth?: string) =>
  fetch(`${h.url}/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      v: PROTOCOL_VERSION,
      meta: META,
      ...(passwordAuth ? { passwordAuth } : {}),
    }),
  });

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

describe('limits shared by two services through Redis', () => {
  let pair: Pair;
  afterEach(async () => {
    await pair.close();
  });

  test('rooms created per address: creations split over both are refused at the limit', async () => {
    pair = await startPair({ roomsPerAddress: 4 });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await create(i % 2 ? pair.a : pair.b)).status);
    assert.deepEqual(statuses, [201, 201, 201, 201, 429, 429]);
  });

  test('password tries per room are counted over both; a token from one opens the other', async () => {
    pair = await startPair({ passwordTriesPerRoom: 3, passwordTriesPerAddress: 100 });
    const room = (await (await create(pair.a, AUTH)).json()) as { roomId: string };
    const right = await tryPassword(pair.a.url, room.roomId, AUTH);
    assert.equal(right.status, 200);
    const { token } = (await right.json()) as { token: string };
    const info = await fetch(`${pair.b.url}/rooms/${room.roomId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(((await info.json()) as { meta?: string }).meta, META, 'B verifies A’s token');

    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await tryPassword((i % 2 ? pair.a : pair.b).url, room.roomId, WRONG)).status);
    }
    assert.deepEqual(statuses, [403, 403, 403, 429, 429]);
    assert.equal(pair.verified(), 4, 'the refused tries were never hashed');
  });

  test('password tries per address are counted over both', async () => {
    pair = await startPair({ passwordTriesPerRoom: 100, passwordTriesPerAddress: 2 });
    const one = (await (await create(pair.a, AUTH)).json()) as { roomId: string };
    const two = (await (await create(pair.b, AUTH)).json()) as { roomId: string };
    const statuses = [
      (await tryPassword(pair.a.url, one.roomId, WRONG)).status,
      (await tryPassword(pair.b.url, two.roomId, WRONG)).status,
      (await tryPassword(pair.a.url, two.roomId, WRONG)).status,
    ];
    assert.deepEqual(statuses, [403, 403, 429]);
  });

  test('live rooms per address: held over both, and a room stopped through one frees it', async () => {
    pair = await startPair({ liveRoomsPerAddress: 2 });
    const first = (await (await create(pair.a)).json()) as { roomId: string; sharerToken: string };
    assert.equal((await create(pair.b)).status, 201);
    const refused = await create(pair.a);
    assert.equal(refused.status, 429);
    assert.equal(await errorCode(refused), 'too-many-shares');
    const stop = await fetch(`${pair.b.url}/rooms/${first.roomId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${first.sharerToken}` },
    });
    assert.equal(stop.status, 204);
    assert.equal((await create(pair.a)).status, 201);
  });

  test('connections per address: counted over both', async () => {
    pair = await startPair({ connectionsPerAddress: 3 });
    for (const h of [pair.a, pair.b, pair.a]) (await h.connect()).disconnect();
    await assert.rejects(pair.b.connect(), (err: Error & { data?: { code: string } }) => {
      assert.equal(err.data?.code, 'rate-limited');
      return true;
    });
  });
});

describe('Redis away', () => {
  let pair: Pair;
  let room: { roomId: string };
  beforeEach(async () => {
    pair = await startPair({});
    room = (await (await create(pair.a, AUTH)).json()) as { roomId: string };
    await redisServer.stop();
    await waitFor(() => !pair.connected(), 10_000);
  });
  afterEach(async () => {
    if (!redisServer.running) await redisServer.start();
    await pair.close();
  });

  test('what needs the counters answers 503 service-unavailable; password tries fail closed', async () => {
    const creation = await create(pair.a);
    assert.equal(creation.status, 503);
    assert.equal(await errorCode(creation), 'service-unavailable');
    const before = pair.verified();
    const tries = [];
    for (let i = 0; i < 3; i++) tries.push(await tryPassword(pair.b.url, room.roomId, AUTH));
    assert.deepEqual(
      tries.map((res) => res.status),
      [503, 503, 503],
    );
    assert.equal(await errorCode(tries[0]!), 'service-unavailable');
    assert.equal(pair.verified(), before, 'no password was checked uncounted');
    await assert.rejects(pair.a.connect(), (err: Error & { data?: { code: string } }) => {
      assert.equal(err.data?.code, 'service-unavailable');
      return true;
    });
    // What needs no counter still works.
    assert.equal((await fetch(`${pair.a.url}/rooms/${room.roomId}`)).status, 200);
    assert.ok(pair.a.logs.some((line) => line.includes('"event":"limits.unavailable"')));
    assert.ok(!pair.a.logs.some((line) => line.includes('"event":"http.error"')), 'never a 500');

    await redisServer.start();
    await waitFor(async () => (await create(pair.a)).status === 201, 10_000);
    assert.equal((await tryPassword(pair.b.url, room.roomId, AUTH)).status, 200);
    (await pair.b.connect()).disconnect();
  });
});

/** Starts server/main.ts with `env`; resolves with its URL once it says where it listens. */
async function startProcess(env: Record<string, string>, t: { after(fn: () => void): void }) {
  const main = fileURLToPath(new URL('../../server/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let url: string | undefined;
  await waitFor(() => {
    url = /p2p-share service on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    return url !== undefined;
  }, 20_000);
  return url!;
}

test('two processes with one REDIS_URL count rooms per address together', async (t) => {
  const env = {
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: redisServer.url,
    TOKEN_SECRET: SECRET,
    ROOMS_PER_ADDRESS: '3',
    LOG_LEVEL: 'warn',
  };
  const urls = [await startProcess(env, t), await startProcess(env, t)];
  const statuses = [];
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${urls[i % 2]}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: PROTOCOL_VERSION, meta: META }),
    });
    statuses.push(res.status);
  }
  assert.deepEqual(statuses, [201, 201, 201, 429, 429]);
});
