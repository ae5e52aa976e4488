import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import * as v from 'valibot';
import {
  ErrorReplySchema,
  PROTOCOL_VERSION,
  PasswordReplySchema,
  ROOM_TOKEN_PATTERN,
  RoomInfoSchema,
  TOKEN_PATTERN,
  randomId,
  type Ack,
} from '../protocol/index.js';
import { HasherBusy, createHasher, type Hasher } from './password.js';
import {
  ENVELOPE,
  join,
  passwordAuthFor,
  recordEvents,
  request,
  settled,
  startService,
  tryPassword,
  type Harness,
} from './test-support.js';
import { roomTokens } from './tokens.js';

const META = 'c2VhbGVkLW1ldGE';
const START = 1_700_000_000_000;
const MINUTE = 60_000;

async function errorOf(res: Response) {
  return v.parse(ErrorReplySchema, await res.json()).error;
}

function assertError(ack: Ack<object>, code: string, message?: RegExp) {
  assert.equal(ack.ok, false, JSON.stringify(ack));
  if (ack.ok) return;
  assert.equal(ack.error.code, code);
  if (message) assert.match(ack.error.message, message);
}

/** A real scrypt hasher that counts how often it runs, to prove limits act before it. */
function countingHasher(): Hasher & { verified: number } {
  const real = createHasher();
  const counting = {
    verified: 0,
    hash: (secret: string) => real.hash(secret),
    verify: (secret: string, stored: string) => {
      counting.verified++;
      return real.verify(secret, stored);
    },
  };
  return counting;
}

describe('password hashing', () => {
  test('stores scrypt with a fresh salt and checks in constant time', async () => {
    const hasher = createHasher();
    const secret = randomId(32);
    const one = await hasher.hash(secret);
    const two = await hasher.hash(secret);
    assert.match(one, /^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.notEqual(one, two, 'each hash has its own salt');
    assert.ok(!one.includes(secret));
    assert.equal(await hasher.verify(secret, one), true);
    assert.equal(await hasher.verify(secret, two), true);
    assert.equal(await hasher.verify(randomId(32), one), false);
    for (const broken of ['', 'scrypt', 'bcrypt$15$8$1$c2FsdA$aGFzaA', `${one}$extra`]) {
      assert.equal(await hasher.verify(secret, broken), false, broken);
    }
  });

  test('runs a bounded number of hashes at once and refuses more than it can queue', async () => {
    const hasher = createHasher({ concurrency: 1, queue: 2, logN: 10 });
    const started = Array.from({ length: 3 }, () => hasher.hash('secret'));
    await assert.rejects(hasher.hash('secret'), HasherBusy);
    const hashes = await Promise.all(started);
    assert.equal(hashes.length, 3);
    // Once the queue drained there is room again.
    assert.equal(await hasher.verify('secret', await hasher.hash('secret')), true);
  });
});

describe('room tokens', () => {
  let clock = START;
  const now = () => clock;
  const room = { id: randomId(), passwordHash: 'scrypt$15$8$1$c2FsdA$aGFzaA' };

  test('are valid for their room until they expire', () => {
    const tokens = roomTokens({ secret: null, ttlMs: 10 * MINUTE, now });
    const { token, expiresAt } = tokens.issue(room);
    assert.match(token, ROOM_TOKEN_PATTERN);
    assert.equal(expiresAt, START + 10 * MINUTE);
    assert.equal(tokens.verify(token, room), true);
    clock = expiresAt - 1;
    assert.equal(tokens.verify(token, room), true);
    clock = expiresAt;
    assert.equal(tokens.verify(token, room), false, 'expired');
    clock = START;
  });

  test('refuse other rooms, other password records, forgeries and other secrets', () => {
    const tokens = roomTokens({ secret: null, ttlMs: MINUTE, now });
    const { token } = tokens.issue(room);
    const [exp, mac] = token.split('.') as [string, string];
    const flip = (s: string, i: number) =>
      s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    assert.equal(tokens.verify(token, { ...room, id: randomId() }), false, 'another room');
    assert.equal(tokens.verify(token, { ...room, passwordHash: 'scrypt$x' }), false, 'new hash');
    assert.equal(tokens.verify(token, { ...room, passwordHash: null }), false);
    assert.equal(tokens.verify(`${Number(exp) + MINUTE}.${mac}`, room), false, 'later expiry');
    assert.equal(tokens.verify(`${exp}.${flip(mac, 0)}`, room), false, 'first character');
    assert.equal(tokens.verify(`${exp}.${flip(mac, 42)}`, room), false, 'last character');
    assert.equal(tokens.verify(`${exp}.${randomId(32)}`, room), false, 'random MAC');
    for (const junk of [undefined, '', 'x', `${exp}.`, `.${mac}`, `${exp}.${mac}.`, ` ${token}`]) {
      assert.equal(tokens.verify(junk, room), false, String(junk));
    }
    const elsewhere = roomTokens({ secret: null, ttlMs: MINUTE, now });
    assert.equal(elsewhere.verify(token, room), false, 'another process without TOKEN_SECRET');
  });

  test('with a shared TOKEN_SECRET, any process accepts another one’s tokens', () => {
    const secret = randomId(32);
    const one = roomTokens({ secret, ttlMs: MINUTE, now });
    const two = roomTokens({ secret, ttlMs: MINUTE, now });
    assert.equal(two.verify(one.issue(room).token, room), true);
    const other = roomTokens({ secret: randomId(32), ttlMs: MINUTE, now });
    assert.equal(other.verify(one.issue(room).token, room), false);
  });
});

describe('password rooms over REST and Socket.IO', () => {
  let h: Harness;
  let clock = START;
  const hasher = countingHasher();
  const linkKey = randomId();
  const auth = passwordAuthFor(linkKey, 'correct horse battery staple');
  const wrong = passwordAuthFor(linkKey, 'correct horse battery stapler');

  before(async () => {
    h = await startService({
      // Rooms outlive the token lifetime, so expired tokens can be tried on live rooms.
      config: {
        roomGraceMs: 60 * MINUTE,
        passwordTriesPerAddress: 1000,
        passwordTriesPerRoom: 1000,
      },
      now: () => clock,
      hasher,
    });
  });
  beforeEach(() => {
    clock += 10 * MINUTE;
  });
  after(() => h.close());

  const info = async (roomId: string, token?: string) => {
    const res = await fetch(`${h.url}/rooms/${roomId}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  };
  const tokenFor = async (roomId: string, passwordAuth = auth) => {
    const res = await tryPassword(h.url, roomId, passwordAuth);
    assert.equal(res.status, 200);
    return v.parse(PasswordReplySchema, await res.json());
  };

  test('passwordAuth is the 43-character value the contract describes', () => {
    assert.match(auth, TOKEN_PATTERN);
    assert.notEqual(auth, passwordAuthFor(randomId(), 'correct horse battery staple'));
  });

  test('a password room shows only that it needs a password, until given one', async () => {
    const room = await h.createRoom(META, auth);
    const hidden = await info(room.roomId);
    assert.deepEqual(Object.keys(hidden).sort(), [
      'createdAt',
      'expiresAt',
      'passwordRequired',
      'roomId',
      'sharerOnline',
      'v',
    ]);
    assert.equal(hidden.passwordRequired, true);
    v.parse(RoomInfoSchema, hidden);

    const { token, expiresAt } = await tokenFor(room.roomId);
    assert.equal(expiresAt, clock + 10 * MINUTE);
    const shown = v.parse(RoomInfoSchema, await info(room.roomId, token));
    assert.equal(shown.meta, META);
    assert.equal(shown.passwordRequired, true);
  });

  test('a room without a password says so and shows its metadata to anyone', async () => {
    const room = await h.createRoom();
    const shown = v.parse(RoomInfoSchema, await info(room.roomId));
    assert.equal(shown.passwordRequired, false);
    assert.equal(shown.meta, META);
    const res = await tryPassword(h.url, room.roomId, auth);
    assert.equal(res.status, 400);
    assert.equal((await errorOf(res)).code, 'bad-request');
  });

  test('a wrong password is 403 bad-password; bad bodies are 400', async () => {
    const room = await h.createRoom(META, auth);
    const res = await tryPassword(h.url, room.roomId, wrong);
    assert.equal(res.status, 403);
    assert.equal((await errorOf(res)).code, 'bad-password');

    const post = (body: string) =>
      fetch(`${h.url}/rooms/${room.roomId}/password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    for (const body of [
      '',
      '{}',
      JSON.stringify({ v: PROTOCOL_VERSION, passwordAuth: 'hunter2' }),
      JSON.stringify({ v: PROTOCOL_VERSION, password: 'hunter2' }),
      JSON.stringify({ v: PROTOCOL_VERSION, passwordAuth: auth, extra: 1 }),
      JSON.stringify({ v: PROTOCOL_VERSION, passwordAuth: [auth] }),
      JSON.stringify({ v: PROTOCOL_VERSION, passwordAuth: auth.repeat(40) }),
    ]) {
      const bad = await post(body);
      assert.equal(bad.status, 400, body.slice(0, 40));
      assert.equal((await errorOf(bad)).code, 'bad-request');
    }
    const other = await post(JSON.stringify({ v: PROTOCOL_VERSION + 1, passwordAuth: auth }));
    assert.equal((await errorOf(other)).code, 'protocol-mismatch');
  });

  test('GET refuses expired, forged and other-room tokens', async () => {
    const room = await h.createRoom(META, auth);
    const otherRoom = await h.createRoom(META, auth);
    const { token } = await tokenFor(room.roomId);
    const { token: otherToken } = await tokenFor(otherRoom.roomId);
    const [exp, mac] = token.split('.') as [string, string];
    for (const bad of [
      otherToken,
      `${Number(exp) + 1}.${mac}`,
      `${exp}.${randomId(32)}`,
      room.sharerToken,
      'garbage',
    ]) {
      assert.equal('meta' in (await info(room.roomId, bad)), false, bad);
    }
    assert.equal((await info(room.roomId, token)).meta, META);
    clock += 10 * MINUTE;
    assert.equal('meta' in (await info(room.roomId, token)), false, 'expired');
  });

  test('a recipient joins only with a valid token; the sharer with its sharer token', async () => {
    const room = await h.createRoom(META, auth);
    const otherRoom = await h.createRoom(META, auth);
    const sharer = await h.connect();
    const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const { token } = await tokenFor(room.roomId);
    const { token: otherToken } = await tokenFor(otherRoom.roomId);
    const [exp, mac] = token.split('.') as [string, string];

    const intruder = await h.connect();
    const seen = recordEvents([sharer, intruder]);
    const base = { v: PROTOCOL_VERSION, roomId: room.roomId, role: 'recipient' };
    for (const extra of [
      {},
      { token: otherToken },
      { token: `${exp}.${randomId(32)}` },
      { token: `${Number(exp) + MINUTE}.${mac}` },
      { sharerToken: room.sharerToken },
    ]) {
      assertError(
        await request(intruder, 'join', { ...base, ...extra }),
        'not-allowed',
        /needs its password/,
      );
    }
    // Never a member: it can learn no source and address nobody.
    assertError(await request(intruder, 'sources', {}), 'not-allowed');
    assertError(
      await request(intruder, 'signal', { to: sharerId, envelope: ENVELOPE }),
      'not-allowed',
    );
    await settled([intruder, sharer]);
    assert.deepEqual(seen.get(sharer), []);
    assert.deepEqual(seen.get(intruder), []);
    assert.deepEqual(
      (await h.service.store.listMembers(room.roomId)).map((m) => m.peerId),
      [sharerId],
    );

    const recipient = await h.connect();
    const recipientId = await join(recipient, room.roomId, 'recipient', undefined, token);
    assert.deepEqual(await request(recipient, 'sources', {}), { ok: true, sources: [sharerId] });
    assert.equal(recipientId, recipient.id);

    // An expired token no longer admits anyone.
    clock += 10 * MINUTE;
    const late = await h.connect();
    assertError(await request(late, 'join', { ...base, token }), 'not-allowed');
    for (const s of [sharer, intruder, recipient, late]) s.disconnect();
  });

  test('the log holds neither passwordAuth nor tokens', async () => {
    const room = await h.createRoom(META, auth);
    const { token } = await tokenFor(room.roomId);
    await tryPassword(h.url, room.roomId, wrong);
    const logs = h.logs.join('\n');
    assert.match(logs, /room\.bad-password/);
    assert.match(logs, /room\.password-accepted/);
    for (const secret of [
      auth,
      wrong,
      token,
      token.split('.')[1]!,
      room.sharerToken,
      room.roomId,
    ]) {
      assert.ok(!logs.includes(secret), 'a secret in the log');
    }
  });
});

describe('password guessing limits', () => {
  const linkKey = randomId();
  const auth = passwordAuthFor(linkKey, 'open sesame');
  const guess = (i: number) => passwordAuthFor(linkKey, `guess ${i}`);

  test('per address: the sixth try in a minute is 429 with Retry-After, checked before any hashing', async () => {
    let clock = START;
    const hasher = countingHasher();
    const h = await startService({ now: () => clock, hasher });
    try {
      const room = await h.createRoom(META, auth);
      for (let i = 0; i < 5; i++) {
        const res = await tryPassword(h.url, room.roomId, guess(i));
        assert.equal(res.status, 403, `try ${i + 1}`);
      }
      assert.equal(hasher.verified, 5);
      clock += 15_000;
      for (const passwordAuth of [guess(5), auth]) {
        const res = await tryPassword(h.url, room.roomId, passwordAuth);
        assert.equal(res.status, 429);
        assert.equal(res.headers.get('retry-after'), '45');
        const error = await errorOf(res);
        assert.equal(error.code, 'rate-limited');
        assert.equal(error.message, 'Too many tries; wait 45 seconds');
        assert.equal(error.retryAfterMs, 45_000);
      }
      // Spoofed X-Forwarded-For is ignored without TRUSTED_PROXY.
      const spoofed = await tryPassword(h.url, room.roomId, auth, {
        'x-forwarded-for': '198.51.100.7',
      });
      assert.equal(spoofed.status, 429);
      assert.equal(hasher.verified, 5, 'no hash ran for a refused try');

      clock += 45_000;
      const res = await tryPassword(h.url, room.roomId, auth);
      assert.equal(res.status, 200, 'the right password works once the window passed');
      v.parse(PasswordReplySchema, await res.json());
    } finally {
      await h.close();
    }
  });

  test('per room: guesses from many addresses are limited together; other rooms are not', async () => {
    let clock = START;
    const hasher = countingHasher();
    const h = await startService({
      config: { trustedProxy: { hops: 1 } },
      now: () => clock,
      hasher,
    });
    const from = (address: string) => ({ 'x-forwarded-for': address });
    try {
      const room = await h.createRoom(META, auth);
      const other = await h.createRoom(META, auth);
      for (let i = 0; i < 5; i++) {
        const res = await tryPassword(h.url, room.roomId, guess(i), from(`203.0.113.${i + 1}`));
        assert.equal(res.status, 403);
      }
      const limited = await tryPassword(h.url, room.roomId, auth, from('203.0.113.99'));
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '60');
      assert.equal((await errorOf(limited)).retryAfterMs, MINUTE);
      assert.equal(hasher.verified, 5);
      // A bystander's room is untouched by the flood on the first.
      const fine = await tryPassword(h.url, other.roomId, auth, from('203.0.113.99'));
      assert.equal(fine.status, 200);

      clock += MINUTE;
      assert.equal((await tryPassword(h.url, room.roomId, auth, from('203.0.113.99'))).status, 200);
    } finally {
      await h.close();
    }
  });

  test('per address across rooms, with IPv6 counted per /64 and right answers not counted', async () => {
    const h = await startService({ config: { trustedProxy: { hops: 1 } } });
    try {
      const rooms = await Promise.all(Array.from({ length: 7 }, () => h.createRoom(META, auth)));
      const ok = await tryPassword(h.url, rooms[0]!.roomId, auth, {
        'x-forwarded-for': '2001:db8:1:2::1',
      });
      assert.equal(ok.status, 200);
      for (let i = 0; i < 5; i++) {
        const res = await tryPassword(h.url, rooms[i + 1]!.roomId, guess(i), {
          'x-forwarded-for': `2001:db8:1:2::${(i + 2).toString(16)}`,
        });
        assert.equal(res.status, 403, `try ${i + 1}`);
      }
      const res = await tryPassword(h.url, rooms[6]!.roomId, auth, {
        'x-forwarded-for': '2001:db8:1:2:ffff:ffff:ffff:ffff',
      });
      assert.equal(res.status, 429, 'another address of the same /64');
      const neighbour = await tryPassword(h.url, rooms[6]!.roomId, auth, {
        'x-forwarded-for': '2001:db8:1:3::1',
      });
      assert.equal(neighbour.status, 200, 'the next /64 is another client');
    } finally {
      await h.close();
    }
  });

  test('a busy hasher answers 429 and the try is not counted', async () => {
    const real = createHasher();
    let busy = true;
    const hasher: Hasher = {
      hash: (secret) => real.hash(secret),
      verify: async (secret, stored) => {
        if (busy) throw new HasherBusy('busy');
        return real.verify(secret, stored);
      },
    };
    const h = await startService({ hasher });
    try {
      const room = await h.createRoom(META, auth);
      for (let i = 0; i < 8; i++) {
        const res = await tryPassword(h.url, room.roomId, auth);
        assert.equal(res.status, 429);
        assert.equal(res.headers.get('retry-after'), '1');
        const error = await errorOf(res);
        assert.match(error.message, /busy/);
        assert.equal(error.retryAfterMs, 1_000);
      }
      busy = false;
      assert.equal((await tryPassword(h.url, room.roomId, auth)).status, 200);
    } finally {
      await h.close();
    }
  });

  test('a host page on another origin can read Retry-After', async () => {
    const h = await startService({ config: { passwordTriesPerAddress: 1 } });
    try {
      const room = await h.createRoom(META, auth);
      await tryPassword(h.url, room.roomId, guess(0));
      const res = await tryPassword(h.url, room.roomId, guess(1), {
        origin: 'https://host.example',
      });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.match(res.headers.get('access-control-expose-headers') ?? '', /Retry-After/i);
    } finally {
      await h.close();
    }
  });
});
