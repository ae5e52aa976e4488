import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { LIMITS, PROTOCOL_VERSION } from '../protocol/index.js';
import { SWARM_STATS_INTERVAL_MS } from './signalling.js';
import { MemoryRoomStore } from './store/memory.js';
import {
  assertError,
  ENVELOPE,
  join,
  nextEvent,
  recordEvents,
  request,
  settled,
  sleep,
  startService,
  waitFor,
  type Client,
  type Harness,
  type RawClient,
} from './test-support.js';

const isEmpty = (x: unknown) =>
  x !== null &&
  typeof x === 'object' &&
  !Array.isArray(x) &&
  !Buffer.isBuffer(x) &&
  Object.keys(x).length === 0;

describe('signalling', () => {
  let h: Harness;
  before(async () => {
    h = await startService();
  });
  after(() => h.close());

  describe('join', () => {
    test('a recipient joins and its peer id is its socket id', async () => {
      const room = await h.createRoom();
      const socket = await h.connect();
      const ack = await request(socket, 'join', {
        v: PROTOCOL_VERSION,
        roomId: room.roomId,
        role: 'recipient',
      });
      assert.deepEqual(ack, { ok: true, peerId: socket.id });
      socket.disconnect();
    });

    test('the sharer needs its token', async () => {
      const room = await h.createRoom();
      const other = await h.createRoom();
      const socket = await h.connect();
      const base = { v: PROTOCOL_VERSION, roomId: room.roomId, role: 'sharer' };
      assertError(await request(socket, 'join', base), 'not-allowed', 'without a token');
      assertError(
        await request(socket, 'join', { ...base, sharerToken: other.sharerToken }),
        'not-allowed',
        "with another room's token",
      );
      const ok = await request(socket, 'join', { ...base, sharerToken: room.sharerToken });
      assert.deepEqual(ok, { ok: true, peerId: socket.id });
      socket.disconnect();
    });

    test('an unknown room is room-not-found', async () => {
      const socket = await h.connect();
      assertError(
        await request(socket, 'join', {
          v: PROTOCOL_VERSION,
          roomId: 'AAAAAAAAAAAAAAAAAAAAAA',
          role: 'recipient',
        }),
        'room-not-found',
      );
      socket.disconnect();
    });

    test('a socket joins one room only', async () => {
      const one = await h.createRoom();
      const two = await h.createRoom();
      const socket = await h.connect();
      await join(socket, one.roomId);
      for (const roomId of [one.roomId, two.roomId]) {
        assertError(
          await request(socket, 'join', { v: PROTOCOL_VERSION, roomId, role: 'recipient' }),
          'not-allowed',
        );
      }
      socket.disconnect();
    });

    test('two joins at once admit the socket once', async () => {
      const one = await h.createRoom();
      const two = await h.createRoom();
      const socket = await h.connect();
      const acks = await Promise.all(
        [one.roomId, two.roomId].map((roomId) =>
          request(socket, 'join', { v: PROTOCOL_VERSION, roomId, role: 'recipient' }),
        ),
      );
      assert.equal(acks.filter((a) => a.ok).length, 1, JSON.stringify(acks));
      socket.disconnect();
    });

    test('another protocol version is protocol-mismatch', async () => {
      const room = await h.createRoom();
      const socket = await h.connect();
      assertError(
        await request(socket, 'join', { v: 99, roomId: room.roomId, role: 'recipient' }),
        'protocol-mismatch',
      );
      socket.disconnect();
    });
  });

  describe('sources', () => {
    test('name the sharer while it is online, and nobody otherwise', async () => {
      const room = await h.createRoom();
      const recipient = await h.connect();
      assertError(await request(recipient, 'sources', {}), 'not-allowed', 'before joining');
      await join(recipient, room.roomId);
      assertError(await request(recipient, 'sources', {}), 'no-sources', 'before the sharer');

      const sharer = await h.connect();
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      assert.deepEqual(await request(recipient, 'sources', {}), { ok: true, sources: [sharerId] });
      assertError(
        await request(recipient, 'sources', { exclude: [sharerId] }),
        'no-sources',
        'when excluded',
      );
      assertError(await request(sharer, 'sources', {}), 'not-allowed', 'for the sharer itself');

      sharer.disconnect();
      await waitFor(async () => !(await request(recipient, 'sources', {})).ok);
      assertError(await request(recipient, 'sources', {}), 'no-sources', 'after the sharer left');
      recipient.disconnect();
    });
  });

  describe('routing', () => {
    let a: { sharer: Client; one: Client; two: Client; ids: Record<string, string> };
    let b: { sharer: Client; one: Client; ids: Record<string, string> };
    let loner: Client;
    let all: Client[];

    before(async () => {
      const roomA = await h.createRoom();
      const roomB = await h.createRoom();
      const [sa, a1, a2, sb, b1] = await Promise.all([
        h.connect(),
        h.connect(),
        h.connect(),
        h.connect(),
        h.connect(),
      ]);
      loner = await h.connect();
      a = {
        sharer: sa!,
        one: a1!,
        two: a2!,
        ids: {
          sharer: await join(sa!, roomA.roomId, 'sharer', roomA.sharerToken),
          one: await join(a1!, roomA.roomId),
          two: await join(a2!, roomA.roomId),
        },
      };
      b = {
        sharer: sb!,
        one: b1!,
        ids: {
          sharer: await join(sb!, roomB.roomId, 'sharer', roomB.sharerToken),
          one: await join(b1!, roomB.roomId),
        },
      };
      all = [a.sharer, a.one, a.two, b.sharer, b.one, loner];
    });
    after(() => {
      for (const socket of all) socket.disconnect();
    });

    test('an envelope reaches exactly the addressed peer and nobody else', async () => {
      const seen = recordEvents(all);
      const ack = await request(a.one, 'signal', { to: a.ids.sharer, envelope: ENVELOPE });
      assert.deepEqual(ack, { ok: true });
      await settled(all);
      assert.deepEqual(seen.get(a.sharer), [['signal', { from: a.ids.one, envelope: ENVELOPE }]]);
      for (const socket of all.filter((s) => s !== a.sharer)) {
        assert.deepEqual(seen.get(socket), [], `socket ${socket.id} received something`);
      }
    });

    test('the sharer answers, and recipients of one room may address each other', async () => {
      const seen = recordEvents(all);
      assert.deepEqual(await request(a.sharer, 'signal', { to: a.ids.two, envelope: 'QQ' }), {
        ok: true,
      });
      assert.deepEqual(await request(a.two, 'signal', { to: a.ids.one, envelope: 'Qg' }), {
        ok: true,
      });
      await settled(all);
      assert.deepEqual(seen.get(a.two), [['signal', { from: a.ids.sharer, envelope: 'QQ' }]]);
      assert.deepEqual(seen.get(a.one), [['signal', { from: a.ids.two, envelope: 'Qg' }]]);
      for (const socket of [a.sharer, b.sharer, b.one, loner]) {
        assert.deepEqual(seen.get(socket), []);
      }
    });

    test('a peer of another room, an unknown peer or oneself cannot be addressed', async () => {
      const seen = recordEvents(all);
      const targets = [b.ids.sharer, b.ids.one, loner.id!, a.ids.one, 'nobody-at-all'];
      for (const to of targets) {
        assertError(
          await request(a.one, 'signal', { to, envelope: ENVELOPE }),
          'peer-not-found',
          `to ${to}`,
        );
      }
      // The other direction too: room B cannot reach into room A.
      assertError(
        await request(b.one, 'signal', { to: a.ids.sharer, envelope: ENVELOPE }),
        'peer-not-found',
      );
      await settled(all);
      for (const socket of all) assert.deepEqual(seen.get(socket), []);
    });

    test('without an ack, a relay is delivered unanswered and a refused one is answered with signal-failed', async () => {
      const seen = recordEvents(all);
      const raw = a.one as RawClient;
      raw.emit('signal', { to: a.ids.sharer, envelope: ENVELOPE });
      raw.emit('signal', { to: b.ids.sharer, envelope: ENVELOPE });
      raw.emit('signal', { to: a.ids.two, envelope: 'not base64!' });
      raw.emit('signal', { to: 42, envelope: ENVELOPE });
      (loner as RawClient).emit('signal', { to: a.ids.sharer, envelope: ENVELOPE });
      // The senders first: once their own relays are handled, the others hear what they caused.
      await settled([a.one, loner, ...all]);
      assert.deepEqual(seen.get(a.sharer), [['signal', { from: a.ids.one, envelope: ENVELOPE }]]);
      const failed = (socket: Socket) =>
        seen.get(socket)!.map(([event, body]) => {
          const { to, error } = body as { to: string; error: { code: string } };
          return [event, to, error.code];
        });
      assert.deepEqual(failed(a.one), [
        ['signal-failed', b.ids.sharer, 'peer-not-found'],
        ['signal-failed', a.ids.two, 'bad-request'],
        ['signal-failed', '', 'bad-request'],
      ]);
      assert.deepEqual(failed(loner), [['signal-failed', a.ids.sharer, 'not-allowed']]);
      for (const socket of [a.two, b.sharer, b.one]) assert.deepEqual(seen.get(socket), []);
    });

    test('a socket in no room can address nobody', async () => {
      const seen = recordEvents(all);
      for (const to of [a.ids.sharer, b.ids.one]) {
        assertError(await request(loner, 'signal', { to, envelope: ENVELOPE }), 'not-allowed');
      }
      await settled(all);
      for (const socket of all) assert.deepEqual(seen.get(socket), []);
    });
  });

  describe('validation', () => {
    const huge = 'A'.repeat(LIMITS.envelopeChars + 1);
    const garbage: unknown[] = [
      undefined,
      null,
      0,
      -1,
      true,
      'text',
      '',
      [],
      [1, 2, 3],
      {},
      { v: PROTOCOL_VERSION },
      { to: 'x' },
      { envelope: ENVELOPE },
      { to: 'peer', envelope: ENVELOPE, extra: 1 },
      { to: 'peer', envelope: 'not base64url!' },
      { to: 'peer', envelope: huge },
      { to: 'peer', envelope: '' },
      { to: 'x'.repeat(65), envelope: ENVELOPE },
      { to: 'has space', envelope: ENVELOPE },
      { to: 42, envelope: ENVELOPE },
      { to: { $ne: null }, envelope: ENVELOPE },
      { to: ['peer'], envelope: ENVELOPE },
      { to: 'peer', envelope: Buffer.from('binary where a string belongs') },
      { to: Buffer.from('peer'), envelope: ENVELOPE },
      Buffer.from('a whole binary payload'),
      { v: PROTOCOL_VERSION, roomId: 'short', role: 'recipient' },
      { v: PROTOCOL_VERSION, roomId: 'AAAAAAAAAAAAAAAAAAAAAA', role: 'admin' },
      { v: PROTOCOL_VERSION, roomId: 'AAAAAAAAAAAAAAAAAAAAAA', role: 'sharer', sharerToken: 'x' },
      { v: PROTOCOL_VERSION, roomId: Buffer.from('AAAAAAAAAAAAAAAAAAAAAA'), role: 'recipient' },
      { exclude: 'peer' },
      { exclude: [1, 2] },
      { exclude: Array.from({ length: 65 }, (_, i) => `p${i}`) },
      JSON.parse('{"__proto__":{"polluted":true}}'),
      { nested: { deeper: { deepest: [[[[[[[[[[{}]]]]]]]]]] } } },
    ];

    test('garbage payloads get a bad-request acknowledgement for every event', async () => {
      const room = await h.createRoom();
      const socket = await h.connect();
      await join(socket, room.roomId);
      for (const event of ['join', 'sources', 'signal', 'seed', 'release', 'report']) {
        for (const payload of garbage) {
          const ack = await request(socket, event, payload);
          const label = `${event} ${JSON.stringify(payload)?.slice(0, 60)}`;
          // `{}` is the one valid `sources` request here (the socket has joined).
          if (event === 'sources' && isEmpty(payload)) {
            assertError(ack, 'no-sources', label);
            continue;
          }
          // An envelope past the limit is too long (SECURITY.md's table), whatever else is wrong.
          if (event === 'signal' && (payload as { envelope?: unknown } | null)?.envelope === huge) {
            assertError(ack, 'limit-exceeded', label);
            continue;
          }
          assertError(ack, 'bad-request', label);
        }
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      socket.disconnect();
    });

    test('extra arguments, unknown events and missing or bogus acks are handled', async () => {
      const room = await h.createRoom();
      const socket = await h.connect();
      assertError(await request(socket, 'join'), 'bad-request', 'no payload');
      assertError(
        await request(
          socket,
          'join',
          { v: PROTOCOL_VERSION, roomId: room.roomId, role: 'recipient' },
          'extra',
        ),
        'bad-request',
        'two payloads',
      );
      for (const event of ['hello', 'peer-left', 'room-closed', 'constructor', '__proto__']) {
        assertError(await request(socket, event, { any: 'thing' }), 'bad-request', event);
      }
      // No ack, or something that is not a function in its place: nothing to answer, no crash.
      const raw = socket as RawClient;
      raw.emit('join', { v: PROTOCOL_VERSION, roomId: room.roomId, role: 'recipient' });
      raw.emit('signal', { to: 'peer', envelope: ENVELOPE });
      raw.emit('sources', {}, 'not a function');
      raw.emit('unknown-event', 'no ack');
      await settled([socket]);
      assert.equal(socket.connected, true);
      // The unacknowledged join did nothing: the socket can still join.
      assert.equal(await join(socket, room.roomId), socket.id);
      socket.disconnect();
    });

    test('a message over the size limit drops that socket, not the service', async () => {
      const small = await startService({ config: { maxHttpBufferSize: 8 * 1024 } });
      try {
        const room = await small.createRoom();
        const bystander = await small.connect();
        await join(bystander, room.roomId);
        const flooder = await small.connect();
        const gone = nextEvent(flooder, 'disconnect');
        flooder.emit('signal', { to: 'peer', envelope: 'A'.repeat(16 * 1024) }, () => {});
        await gone;
        assert.equal(bystander.connected, true);
        assertError(await request(bystander, 'sources', {}), 'no-sources');
        const health = await fetch(`${small.url}/healthz`);
        assert.equal(health.status, 200);
      } finally {
        await small.close();
      }
    });

    test('after all of that the service still serves', async () => {
      const room = await h.createRoom();
      const sharer = await h.connect();
      const recipient = await h.connect({ transports: ['polling'] });
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      const recipientId = await join(recipient, room.roomId);
      const got = nextEvent(sharer, 'signal');
      assert.deepEqual(await request(recipient, 'signal', { to: sharerId, envelope: ENVELOPE }), {
        ok: true,
      });
      assert.deepEqual(await got, { from: recipientId, envelope: ENVELOPE });
      sharer.disconnect();
      recipient.disconnect();
    });
  });

  describe('peer-left', () => {
    test('goes only to the peers that exchanged envelopes with the one who left', async () => {
      const room = await h.createRoom();
      const sharer = await h.connect();
      const [one, two, three] = await Promise.all([h.connect(), h.connect(), h.connect()]);
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      const oneId = await join(one!, room.roomId);
      const twoId = await join(two!, room.roomId);
      await join(three!, room.roomId);
      await request(one!, 'signal', { to: sharerId, envelope: ENVELOPE });
      await request(sharer, 'signal', { to: twoId, envelope: ENVELOPE });
      await settled([sharer, two!, three!]);

      // A recipient leaves: only the sharer, its partner, hears of it. The service tells the
      // room everything a departure causes at once, so once one socket heard, all were told.
      let seen = recordEvents([sharer, two!, three!]);
      const countsBefore = await h.service.swarms.stats(room.roomId);
      const sharerHears = nextEvent(sharer, 'peer-left');
      one!.disconnect();
      assert.deepEqual(await sharerHears, { peerId: oneId });
      await settled([sharer, two!, three!]);
      // It was in nobody's swarm, so the room's counts are as they were. (No `swarm` event in
      // what the sockets heard would prove nothing: the room's count window may hold one back.)
      assert.deepEqual(await h.service.swarms.stats(room.roomId), countsBefore);
      assert.deepEqual(seen.get(sharer), [['peer-left', { peerId: oneId }]]);
      assert.deepEqual(seen.get(two!), []);
      assert.deepEqual(seen.get(three!), []);

      // The sharer leaves: its remaining partner hears, the bystander does not. Both hear that
      // the room's pool lost its seed, which is news for the whole room (at once, or at the end
      // of the room's count window when one is open).
      seen = recordEvents([two!, three!]);
      const heardCounts = (socket: Client) =>
        seen.get(socket)!.some(([event]) => event === 'swarm');
      sharer.disconnect();
      await waitFor(
        () => heardCounts(two!) && heardCounts(three!),
        SWARM_STATS_INTERVAL_MS + 2_000,
      );
      await settled([two!, three!]);
      const noSeed = ['swarm', { seeds: 0, downloading: 0, queued: 0, finished: 0 }];
      assert.deepEqual(seen.get(two!), [['peer-left', { peerId: sharerId }], noSeed]);
      assert.deepEqual(seen.get(three!), [noSeed]);
      two!.disconnect();
      three!.disconnect();
    });
  });
});

describe('signalling order', () => {
  test("one socket's envelopes arrive in the order sent, even over a store that answers out of order", async () => {
    class JitteryStore extends MemoryRoomStore {
      override async getMember(roomId: string, peerId: string) {
        await sleep(Math.random() * 8);
        return super.getMember(roomId, peerId);
      }
    }
    const store = new JitteryStore({ roomGraceMs: 60_000, roomMaxAgeMs: 600_000 });
    const h = await startService({ store });
    try {
      const room = await h.createRoom();
      const sharer = await h.connect();
      const recipient = await h.connect();
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      await join(recipient, room.roomId);
      const envelopes = Array.from({ length: 30 }, (_, i) => `QUJD${'x'.repeat(i + 1)}`);
      const arrived: string[] = [];
      sharer.on('signal', ({ envelope }) => arrived.push(envelope));
      // Fire all without waiting for acknowledgements, as trickle ICE does.
      const acks = envelopes.map((envelope) =>
        request(recipient, 'signal', { to: sharerId, envelope }),
      );
      for (const ack of await Promise.all(acks)) assert.deepEqual(ack, { ok: true });
      await waitFor(() => arrived.length === envelopes.length);
      assert.deepEqual(arrived, envelopes);
    } finally {
      await h.close();
    }
  });
});

describe('signalling limits and origins', () => {
  test('a room admits at most MAX_SOCKETS_PER_ROOM sockets, one place kept for the sharer', async () => {
    const h = await startService({ config: { maxSocketsPerRoom: 3 } });
    try {
      const room = await h.createRoom();
      const sockets = await Promise.all([1, 2, 3, 4].map(() => h.connect()));
      for (const socket of sockets.slice(0, 2)) await join(socket, room.roomId);
      assertError(
        await request(sockets[3]!, 'join', {
          v: PROTOCOL_VERSION,
          roomId: room.roomId,
          role: 'recipient',
        }),
        'limit-exceeded',
      );
      // The sharer's token always gets in.
      await join(sockets[2]!, room.roomId, 'sharer', room.sharerToken);
      sockets[0]!.disconnect();
      await waitFor(async () => (await h.service.store.listMembers(room.roomId)).length === 2);
      assert.equal(await join(sockets[3]!, room.roomId), sockets[3]!.id);
    } finally {
      await h.close();
    }
  });

  test('with an origin allow-list, pages of other origins cannot connect', async () => {
    const h = await startService({ config: { allowedOrigins: ['https://host.example'] } });
    const opened: ReturnType<typeof io>[] = [];
    const tryConnect = (origin: string, transport: 'websocket' | 'polling') =>
      new Promise<boolean>((resolve) => {
        const socket = io(h.url, {
          transports: [transport],
          forceNew: true,
          reconnection: false,
          extraHeaders: { origin },
        });
        opened.push(socket);
        socket.once('connect', () => resolve(true));
        socket.once('connect_error', () => resolve(false));
      });
    try {
      assert.equal(await tryConnect('https://host.example', 'websocket'), true);
      assert.equal(await tryConnect('https://host.example', 'polling'), true);
      assert.equal(await tryConnect('https://evil.example', 'websocket'), false);
      assert.equal(await tryConnect('https://evil.example', 'polling'), false);
    } finally {
      for (const socket of opened) socket.disconnect();
      await h.close();
    }
  });
});

describe('signalling memory per socket', () => {
  test('an open connection keeps neither its upgrade request nor that request’s headers', async () => {
    const h = await startService();
    const upgrades: IncomingMessage[] = [];
    h.service.httpServer.on('upgrade', (req: IncomingMessage) => upgrades.push(req));
    try {
      const room = await h.createRoom();
      const sharer = await h.connect({ extraHeaders: { 'x-padding': 'p'.repeat(2000) } });
      const recipient = await h.connect();
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      await join(recipient, room.roomId);
      assert.equal(upgrades.length, 2);
      assert.equal(h.service.io.of('/').sockets.size, 2);
      for (const socket of h.service.io.of('/').sockets.values()) {
        assert.equal(socket.conn.request, null);
      }
      for (const req of upgrades) {
        assert.deepEqual(req.headers, {});
        assert.deepEqual(req.rawHeaders, []);
      }
      // Nothing needed them: the sockets still join, relay and are acknowledged.
      const arrived = nextEvent<{ envelope: string }>(sharer, 'signal');
      assert.deepEqual(await request(recipient, 'signal', { to: sharerId, envelope: ENVELOPE }), {
        ok: true,
      });
      assert.equal((await arrived).envelope, ENVELOPE);
    } finally {
      await h.close();
    }
  });
});
