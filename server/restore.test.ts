/**
 * `PUT /rooms/:id`: a sharer restores the room a restarted service lost, under the same id, with
 * the proof only it holds (the sharer token the id derives from), within the limits a new room
 * meets, and with its password; a room that still lives is left exactly as it was.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as v from 'valibot';
import {
  CreateRoomReplySchema,
  ErrorReplySchema,
  PROTOCOL_VERSION,
  PasswordReplySchema,
  RoomInfoSchema,
  randomId,
  type CreateRoomReply,
} from '../protocol/index.js';
import type { Config } from './config.js';
import { roomIdFor } from './store/store.js';
import {
  assertError,
  join,
  passwordAuthFor,
  request,
  startService,
  tryPassword,
  type Harness,
} from './test-support.js';

const META = 'c2VhbGVkLW1ldGE';

function restore(
  h: Harness,
  roomId: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${h.url}/rooms/${roomId}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ v: PROTOCOL_VERSION, meta: META, ...body }),
  });
}

async function errorOf(res: Response) {
  return v.parse(ErrorReplySchema, await res.json()).error;
}

async function roomInfo(h: Harness, roomId: string, token?: string) {
  const res = await fetch(`${h.url}/rooms/${roomId}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, info: res.ok ? v.parse(RoomInfoSchema, await res.json()) : null };
}

/** A room made on one service, which then stops: what a sharer holds across a restart. */
async function roomOfStoppedService(passwordAuth?: string): Promise<CreateRoomReply> {
  const before = await startService();
  try {
    return await before.createRoom(META, passwordAuth);
  } finally {
    await before.close();
  }
}

describe('restoring a room over REST', () => {
  let h: Harness;
  before(async () => {
    h = await startService({ config: { roomGraceMs: 60_000 } });
  });
  after(() => h.close());

  test('the sharer restores a lost room under its id; sharer and recipients join it', async () => {
    const lost = await roomOfStoppedService();
    assert.equal(lost.roomId, roomIdFor(lost.sharerToken));
    assert.equal((await roomInfo(h, lost.roomId)).status, 404);

    const res = await restore(h, lost.roomId, { sharerToken: lost.sharerToken });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/rooms/${lost.roomId}`);
    const reply = v.parse(CreateRoomReplySchema, await res.json());
    assert.equal(reply.roomId, lost.roomId);
    assert.equal(reply.sharerToken, lost.sharerToken);

    const { info } = await roomInfo(h, lost.roomId);
    assert.equal(info?.meta, META);
    assert.equal(info?.passwordRequired, false);
    assert.equal(info?.expiresAt, reply.expiresAt);

    const sharer = await h.connect();
    const recipient = await h.connect();
    await join(sharer, lost.roomId, 'sharer', lost.sharerToken);
    await join(recipient, lost.roomId);
    assert.equal((await roomInfo(h, lost.roomId)).info?.sharerOnline, true);
    sharer.disconnect();
    recipient.disconnect();
  });

  test('a token that does not name the room is refused, and nothing is made', async () => {
    const lost = await roomOfStoppedService();
    const other = randomId(32);
    const wrong = await restore(h, lost.roomId, { sharerToken: other });
    assert.equal(wrong.status, 403);
    assert.equal((await errorOf(wrong)).code, 'not-allowed');
    assert.equal((await roomInfo(h, lost.roomId)).status, 404);
    assert.equal((await roomInfo(h, roomIdFor(other))).status, 404);

    // A link holder knows the id but not the token; naming a live room changes nothing either.
    const live = await h.createRoom();
    const onLive = await restore(h, live.roomId, { sharerToken: other, meta: 'b3RoZXI' });
    assert.equal(onLive.status, 403);
    assert.equal((await roomInfo(h, live.roomId)).info?.meta, META);

    const malformed = await restore(h, 'not-a-room', { sharerToken: lost.sharerToken });
    assert.equal(malformed.status, 403);
  });

  test('a room that lives is left as it is: same metadata, expiry and members', async () => {
    const room = await h.createRoom();
    const sharer = await h.connect();
    await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const before = (await roomInfo(h, room.roomId)).info;

    const res = await restore(h, room.roomId, {
      sharerToken: room.sharerToken,
      meta: 'b3RoZXI',
      passwordAuth: passwordAuthFor(randomId(), 'pw'),
    });
    assert.equal(res.status, 200);
    const reply = v.parse(CreateRoomReplySchema, await res.json());
    assert.deepEqual(reply, { ...room, v: PROTOCOL_VERSION, expiresAt: before?.expiresAt });
    assert.deepEqual((await roomInfo(h, room.roomId)).info, before);
    assert.equal(before?.sharerOnline, true);
    assert.equal(before?.passwordRequired, false);
    sharer.disconnect();
  });

  test('bodies are checked as at creation', async () => {
    const lost = await roomOfStoppedService();
    const sharerToken = lost.sharerToken;
    const cases: [Record<string, unknown>, number, string][] = [
      [{}, 400, 'bad-request'],
      [{ sharerToken, extra: 1 }, 400, 'bad-request'],
      [{ sharerToken, meta: 'not base64url!' }, 400, 'bad-request'],
      [{ sharerToken, passwordAuth: 'hunter2' }, 400, 'bad-request'],
      [{ sharerToken, v: PROTOCOL_VERSION + 1 }, 400, 'protocol-mismatch'],
    ];
    for (const [body, status, code] of cases) {
      const res = await restore(h, lost.roomId, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal((await errorOf(res)).code, code, JSON.stringify(body));
    }
    assert.equal((await roomInfo(h, lost.roomId)).status, 404);
  });
});

describe('restoring a room within the creation limits', () => {
  const withService = async (config: Partial<Config>, run: (h: Harness) => Promise<void>) => {
    const h = await startService({ config });
    try {
      await run(h);
    } finally {
      await h.close();
    }
  };

  test('metadata past MAX_META_CHARS is 413 limit-exceeded', async () => {
    const lost = await roomOfStoppedService();
    await withService({ maxMetaChars: 32 }, async (h) => {
      const res = await restore(h, lost.roomId, {
        sharerToken: lost.sharerToken,
        meta: 'A'.repeat(33),
      });
      assert.equal(res.status, 413);
      assert.equal((await errorOf(res)).code, 'limit-exceeded');
      assert.equal((await roomInfo(h, lost.roomId)).status, 404);
    });
  });

  test('restores count as rooms started by the address; restoring a live one does not', async () => {
    const [one, two] = [await roomOfStoppedService(), await roomOfStoppedService()];
    await withService({ roomsPerAddress: 1 }, async (h) => {
      const first = await restore(h, one.roomId, { sharerToken: one.sharerToken });
      assert.equal(first.status, 201);
      const again = await restore(h, one.roomId, { sharerToken: one.sharerToken });
      assert.equal(again.status, 200, 'a live room is no new start');
      const second = await restore(h, two.roomId, { sharerToken: two.sharerToken });
      assert.equal(second.status, 429);
      const error = await errorOf(second);
      assert.equal(error.code, 'rate-limited');
      assert.ok((error.retryAfterMs ?? 0) > 0);
      assert.equal((await roomInfo(h, two.roomId)).status, 404);
    });
  });

  test('restores count as rooms the address holds open', async () => {
    const [one, two] = [await roomOfStoppedService(), await roomOfStoppedService()];
    await withService({ liveRoomsPerAddress: 1 }, async (h) => {
      assert.equal((await restore(h, one.roomId, { sharerToken: one.sharerToken })).status, 201);
      const second = await restore(h, two.roomId, { sharerToken: two.sharerToken });
      assert.equal(second.status, 429);
      assert.equal((await errorOf(second)).code, 'too-many-shares');

      // Stopping the restored room frees its place.
      const stopped = await fetch(`${h.url}/rooms/${one.roomId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${one.sharerToken}` },
      });
      assert.equal(stopped.status, 204);
      assert.equal((await restore(h, two.roomId, { sharerToken: two.sharerToken })).status, 201);
    });
  });

  test('a host page on an allowed origin may restore; another origin may not', async () => {
    const lost = await roomOfStoppedService();
    await withService({ allowedOrigins: ['https://host.example'] }, async (h) => {
      const preflight = await fetch(`${h.url}/rooms/${lost.roomId}`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://host.example',
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'content-type',
        },
      });
      assert.equal(preflight.status, 204);
      assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /PUT/);
      const body = { sharerToken: lost.sharerToken };
      const foreign = await restore(h, lost.roomId, body, { origin: 'https://evil.example' });
      assert.equal(foreign.status, 403);
      assert.equal((await roomInfo(h, lost.roomId)).status, 404);
      const allowed = await restore(h, lost.roomId, body, { origin: 'https://host.example' });
      assert.equal(allowed.status, 201);
    });
  });
});

describe('restoring a password room', () => {
  const linkKey = randomId();
  const auth = passwordAuthFor(linkKey, 'correct horse battery staple');
  const wrong = passwordAuthFor(linkKey, 'correct horse battery stapler');

  test('keeps its password: a wrong one is refused, the right one admits', async () => {
    const lost = await roomOfStoppedService(auth);
    const h = await startService({ config: { passwordTriesPerAddress: 100 } });
    try {
      const res = await restore(h, lost.roomId, {
        sharerToken: lost.sharerToken,
        passwordAuth: auth,
      });
      assert.equal(res.status, 201);

      const hidden = (await roomInfo(h, lost.roomId)).info;
      assert.equal(hidden?.passwordRequired, true);
      assert.equal(hidden?.meta, undefined);

      const refused = await tryPassword(h.url, lost.roomId, wrong);
      assert.equal(refused.status, 403);
      assert.equal((await errorOf(refused)).code, 'bad-password');
      const outsider = await h.connect();
      assertError(
        await request(outsider, 'join', {
          v: PROTOCOL_VERSION,
          roomId: lost.roomId,
          role: 'recipient',
        }),
        'not-allowed',
      );

      const admitted = await tryPassword(h.url, lost.roomId, auth);
      assert.equal(admitted.status, 200);
      const { token } = v.parse(PasswordReplySchema, await admitted.json());
      assert.equal((await roomInfo(h, lost.roomId, token)).info?.meta, META);
      const recipient = await h.connect();
      await join(recipient, lost.roomId, 'recipient', undefined, token);

      // Restoring the live room with another password changes nothing.
      const other = await restore(h, lost.roomId, {
        sharerToken: lost.sharerToken,
        passwordAuth: wrong,
      });
      assert.equal(other.status, 200);
      assert.equal((await tryPassword(h.url, lost.roomId, wrong)).status, 403);
      assert.equal((await tryPassword(h.url, lost.roomId, auth)).status, 200);
      outsider.disconnect();
      recipient.disconnect();
    } finally {
      await h.close();
    }
  });
});
