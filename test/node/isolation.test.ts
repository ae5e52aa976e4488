/**
 * Isolation between rooms: a socket that belongs to room A tries to address, join or learn about
 * room B (an open room whose id it does not know, and a password room whose id it knows but whose
 * password it lacks), by name and by guessing. It must get nothing: no delivery, no membership,
 * no peer id, no metadata, and answers that do not tell a guessed id from a wrong one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PEER_ID_PATTERN, PROTOCOL_VERSION, randomId, type Ack } from '../../protocol/index.js';
import {
  assertError,
  departureLogged,
  ENVELOPE,
  join,
  passwordAuthFor,
  recordEvents,
  request,
  settled,
  startService,
  tryPassword,
  type Client,
  type Harness,
} from '../../server/test-support.js';
import { sealedExchange } from './support.js';

describe('isolation between rooms', () => {
  let h: Harness;
  let roomA: string;
  let roomB: string;
  let roomP: string;
  let attacker: Client;
  let attackerId: string;
  let sharerA: Client;
  let sharerAId: string;
  /** Members of B and P, which the attacker must never reach or hear of. */
  let others: Client[];
  let otherIds: string[];
  let seen: ReturnType<typeof recordEvents>;

  before(async () => {
    // The attacker fires hundreds of guesses at once; the rate limits have their own tests.
    h = await startService({
      config: { passwordTriesPerAddress: 100_000, socketMessageBurst: 10_000 },
    });
    const auth = passwordAuthFor(randomId(), 'only for P');
    const a = await h.createRoom();
    const b = await h.createRoom();
    const p = await h.createRoom('cHJpdmF0ZQ', auth);
    [roomA, roomB, roomP] = [a.roomId, b.roomId, p.roomId];
    const token = ((await (await tryPassword(h.url, roomP, auth)).json()) as { token: string })
      .token;
    [sharerA, attacker] = [await h.connect(), await h.connect()];
    sharerAId = await join(sharerA, roomA, 'sharer', a.sharerToken);
    attackerId = await join(attacker, roomA);
    others = await Promise.all([h.connect(), h.connect(), h.connect(), h.connect()]);
    otherIds = [
      await join(others[0]!, roomB, 'sharer', b.sharerToken),
      await join(others[1]!, roomB),
      await join(others[2]!, roomP, 'sharer', p.sharerToken),
      await join(others[3]!, roomP, 'recipient', undefined, token),
    ];
    seen = recordEvents([...others, sharerA]);
  });
  after(() => h.close());

  /** Nothing reached B or P: checked once all the attacker sent is handled and delivered. */
  const assertQuiet = async () => {
    await settled([attacker, ...others]);
    for (const [i, socket] of others.entries()) {
      assert.deepEqual(seen.get(socket), [], `member ${i} of B or P received something`);
    }
  };

  test('addressing B’s peers, by their ids or by room names, reaches nobody', async () => {
    for (const to of otherIds) {
      assertError(await request(attacker, 'signal', { to, envelope: ENVELOPE }), 'peer-not-found');
    }
    // A room id is a well-formed peer id, and Socket.IO room names are not addresses.
    for (const to of [roomB, roomP]) {
      assertError(await request(attacker, 'signal', { to, envelope: ENVELOPE }), 'peer-not-found');
    }
    for (const to of [`room:${roomB}`, `room:${roomP}`, '/', '*']) {
      assertError(await request(attacker, 'signal', { to, envelope: ENVELOPE }), 'bad-request');
    }
    await assertQuiet();
  });

  test('guessing peer ids reaches nobody, and a hit would not be told from a miss', async () => {
    const guesses = Array.from({ length: 400 }, () => randomId(15).slice(0, 20));
    for (const to of guesses) assert.match(to, PEER_ID_PATTERN);
    const acks = await Promise.all(
      guesses.map((to) => request(attacker, 'signal', { to, envelope: ENVELOPE })),
    );
    const distinct = new Set(acks.map((ack) => JSON.stringify(ack)));
    assert.equal(distinct.size, 1);
    assertError(acks[0]!, 'peer-not-found');
    // Even B's real ids get that same answer.
    const real = await request(attacker, 'signal', { to: otherIds[0], envelope: ENVELOPE });
    assert.deepEqual(real, acks[0]);
    await assertQuiet();
    assert.deepEqual(seen.get(sharerA), [], 'nothing landed in A either');
  });

  test('a member of A cannot join B or P; a fresh socket cannot join P without its password', async () => {
    for (const roomId of [roomB, roomP]) {
      assertError(
        await request(attacker, 'join', { v: PROTOCOL_VERSION, roomId, role: 'recipient' }),
        'not-allowed',
      );
    }
    const fresh = await h.connect();
    assertError(
      await request(fresh, 'join', { v: PROTOCOL_VERSION, roomId: roomP, role: 'recipient' }),
      'not-allowed',
    );
    assertError(
      await request(fresh, 'join', {
        v: PROTOCOL_VERSION,
        roomId: roomP,
        role: 'sharer',
        sharerToken: randomId(32),
      }),
      'not-allowed',
    );
    assertError(await request(fresh, 'sources', {}), 'not-allowed');
    assertError(
      await request(fresh, 'signal', { to: otherIds[2], envelope: ENVELOPE }),
      'not-allowed',
    );
    fresh.disconnect();
    const members = async (roomId: string) =>
      (await h.service.store.listMembers(roomId)).map((m) => m.peerId).sort();
    assert.deepEqual(await members(roomB), otherIds.slice(0, 2).sort());
    assert.deepEqual(await members(roomP), otherIds.slice(2).sort());
    await assertQuiet();
  });

  test('sources name only A’s own sharer, whatever the exclude list names', async () => {
    assert.deepEqual(await request(attacker, 'sources', {}), { ok: true, sources: [sharerAId] });
    assert.deepEqual(await request(attacker, 'sources', { exclude: otherIds }), {
      ok: true,
      sources: [sharerAId],
    });
    assertError(await request(attacker, 'sources', { exclude: [sharerAId] }), 'no-sources');
  });

  test('guessed room ids look like unknown ones; P shows nothing but that it is locked', async () => {
    const answers = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const res = await fetch(`${h.url}/rooms/${randomId()}`);
      answers.add(`${res.status} ${await res.text()}`);
      const pw = await tryPassword(h.url, randomId(), passwordAuthFor(randomId(), 'x'));
      answers.add(`${pw.status} ${await pw.text()}`);
    }
    assert.equal(answers.size, 1, [...answers].join('\n'));
    assert.match([...answers][0]!, /^404 .*room-not-found/);
    const guesser = await h.connect();
    const acks = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const ack = await request(guesser, 'join', {
        v: PROTOCOL_VERSION,
        roomId: randomId(),
        role: 'recipient',
      });
      acks.add(JSON.stringify(ack));
    }
    assert.equal(acks.size, 1);
    assertError(JSON.parse([...acks][0]!) as Ack<object>, 'room-not-found');
    guesser.disconnect();

    const p = (await (await fetch(`${h.url}/rooms/${roomP}`)).json()) as Record<string, unknown>;
    assert.equal(p.passwordRequired, true);
    assert.equal('meta' in p, false);
    assert.equal(JSON.stringify(p).includes('cHJpdmF0ZQ'), false);
  });

  test('B closing and B’s peers leaving are news to B only', async () => {
    // A's own swarm counts (the attacker fetched from A's sharer above) are A's news; from
    // here on nothing at all may reach A.
    const aSeen = recordEvents([attacker, sharerA]);
    const logged = h.logs.length;
    others[1]!.disconnect();
    const res = await fetch(`${h.url}/rooms/${roomB}`, { method: 'DELETE' });
    assert.equal(res.status, 401, 'only the sharer may close it');
    // The service logs the departure after all it sends for it; settled() lets that arrive.
    await departureLogged(h, roomB, logged);
    await settled([attacker, sharerA]);
    assert.deepEqual(aSeen.get(attacker), []);
    assert.deepEqual(aSeen.get(sharerA), []);
    assert.deepEqual(
      seen.get(sharerA)!.filter(([event]) => event !== 'swarm'),
      [],
      'A heard nothing but its counts',
    );
  });

  test('after all of that, A and a new room still work', async () => {
    const got = new Promise((resolve) => sharerA.once('signal', resolve));
    assert.deepEqual(await request(attacker, 'signal', { to: sharerAId, envelope: ENVELOPE }), {
      ok: true,
    });
    assert.deepEqual(await got, { from: attackerId, envelope: ENVELOPE });
    await sealedExchange(h, 'a password');
  });
});
