import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SwarmStats } from '../protocol/index.js';
import { SWARM_STATS_INTERVAL_MS } from './signalling.js';
import { emptySwarm } from './swarm/state.js';
import {
  assertError,
  departureLogged,
  ENVELOPE,
  join,
  nextEvent,
  recordEvents,
  request,
  settled,
  sleep,
  startClockedService,
  startService,
  type SweepCountingStore,
  waitFor,
  type Client,
  type Harness,
} from './test-support.js';

const stats = (seeds: number, downloading: number, queued: number, finished: number) =>
  ({ seeds, downloading, queued, finished }) satisfies SwarmStats;

/** The last `swarm` event a socket received, waiting for it to equal `expected`. */
async function swarmBecomes(
  socket: Client,
  seen: () => SwarmStats | undefined,
  expected: SwarmStats,
) {
  await waitFor(() => JSON.stringify(seen()) === JSON.stringify(expected), 3_000).catch(() => {
    assert.deepEqual(seen(), expected, `swarm counts on ${socket.id}`);
  });
}

/** Follows a socket's `swarm` events; `last()` is the latest. */
function followSwarm(socket: Client) {
  const all: SwarmStats[] = [];
  socket.on('swarm', (s) => all.push(s));
  return { all, last: () => all.at(-1) };
}

describe('swarm over sockets', () => {
  let h: Harness;
  before(async () => {
    h = await startService({
      config: { swarmCapacity: 1, swarmMaxSources: 4, maxSocketsPerAddressPerRoom: 64 },
    });
  });
  after(() => h.close());

  /** A room with its sharer online and `n` recipients joined, in order. */
  async function roomWith(n: number) {
    const room = await h.createRoom();
    const sharer = await h.connect();
    const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const recipients: Client[] = [];
    for (let i = 0; i < n; i++) {
      const socket = await h.connect();
      await join(socket, room.roomId);
      recipients.push(socket);
    }
    const close = () => {
      sharer.disconnect();
      for (const r of recipients) r.disconnect();
    };
    return { room, sharer, sharerId, recipients, close };
  }

  test('capacity 1, four recipients: one is served, the others queue in arrival order and move up', async () => {
    const { room, sharer, sharerId, recipients, close } = await roomWith(4);
    const [r1, r2, r3, r4] = recipients as [Client, Client, Client, Client];
    try {
      assert.deepEqual(await request(r1, 'sources', {}), { ok: true, sources: [sharerId] });
      assert.deepEqual(await request(r2, 'sources', {}), { ok: true, sources: [], position: 1 });
      assert.deepEqual(await request(r3, 'sources', {}), { ok: true, sources: [], position: 2 });
      assert.deepEqual(await request(r4, 'sources', {}), { ok: true, sources: [], position: 3 });
      // Asking again keeps the place.
      assert.deepEqual(await request(r3, 'sources', { max: 2 }), {
        ok: true,
        sources: [],
        position: 2,
      });

      const seen = recordEvents([sharer, r1, r2, r3, r4]);
      const r2Assigned = nextEvent(r2, 'assigned');
      const r3Moved = nextEvent(r3, 'queue');
      const r4Moved = nextEvent(r4, 'queue');
      assert.deepEqual(await request(r1, 'release', { peerId: sharerId }), { ok: true });
      assert.deepEqual(await r2Assigned, { sources: [sharerId] });
      assert.deepEqual(await r3Moved, { position: 1 });
      assert.deepEqual(await r4Moved, { position: 2 });
      await settled([r1, r2, r3, r4]);
      const only = (socket: Client, kinds: string[]) =>
        seen.get(socket)!.filter(([event]) => kinds.includes(event));
      assert.deepEqual(only(r1, ['assigned', 'queue']), [], 'the one who released hears nothing');
      assert.deepEqual(only(r2, ['assigned', 'queue']), [['assigned', { sources: [sharerId] }]]);
      assert.deepEqual(only(r3, ['assigned', 'queue']), [['queue', { position: 1 }]]);
      assert.deepEqual(only(r4, ['assigned', 'queue']), [['queue', { position: 2 }]]);

      // The served one finishes: the next is served, the last moves up.
      const r3Assigned = nextEvent(r3, 'assigned');
      const r4Again = nextEvent(r4, 'queue');
      assert.deepEqual(await request(r2, 'seed', { have: 'all', seeding: false }), { ok: true });
      assert.deepEqual(await r3Assigned, { sources: [sharerId] });
      assert.deepEqual(await r4Again, { position: 1 });
      const swarm = await h.service.swarms.inspect(room.roomId);
      assert.deepEqual(Object.keys(swarm?.leases ?? {}), [r3.id]);
      assert.deepEqual(
        swarm?.queue.map((w) => w.peerId),
        [r4.id],
      );
    } finally {
      close();
    }
  });

  test('a queued socket that disconnects does not stall the queue', async () => {
    const { sharerId, recipients, close } = await roomWith(4);
    const [r1, r2, r3, r4] = recipients as [Client, Client, Client, Client];
    try {
      await request(r1, 'sources', {});
      for (const r of [r2, r3, r4]) await request(r, 'sources', {});
      // The head leaves: the others move up.
      const r3Moved = nextEvent(r3, 'queue');
      const r4Moved = nextEvent(r4, 'queue');
      r2.disconnect();
      assert.deepEqual(await r3Moved, { position: 1 });
      assert.deepEqual(await r4Moved, { position: 2 });
      // Then the new head leaves, and the slot that frees goes to the one still waiting.
      const r4Head = nextEvent(r4, 'queue');
      r3.disconnect();
      assert.deepEqual(await r4Head, { position: 1 });
      const served = nextEvent(r4, 'assigned');
      r1.disconnect();
      assert.deepEqual(await served, { sources: [sharerId] });
    } finally {
      close();
    }
  });

  test('a served waiter that leaves before connecting passes its slot on', async () => {
    const { sharerId, recipients, close } = await roomWith(3);
    const [r1, r2, r3] = recipients as [Client, Client, Client];
    try {
      await request(r1, 'sources', {});
      await request(r2, 'sources', {});
      await request(r3, 'sources', {});
      const r2Served = nextEvent(r2, 'assigned');
      await request(r1, 'release', { peerId: sharerId });
      await r2Served;
      const r3Served = nextEvent(r3, 'assigned');
      r2.disconnect();
      assert.deepEqual(await r3Served, { sources: [sharerId] });
    } finally {
      close();
    }
  });

  test('a recipient seed serves after the sharer on probation, and first once proven', async () => {
    const { sharerId, recipients, close } = await roomWith(3);
    const [r1, r2, r3] = recipients as [Client, Client, Client];
    try {
      await request(r1, 'sources', {});
      assert.deepEqual(await request(r1, 'report', { peerId: sharerId, reason: 'good' }), {
        ok: true,
      });
      assert.deepEqual(await request(r1, 'seed', { have: 'all', seeding: true }), { ok: true });
      // r1 has it all: its download ended, so both seeds are free; unproven, r1 goes last.
      assert.deepEqual(await request(r2, 'sources', { max: 1 }), { ok: true, sources: [sharerId] });
      assert.deepEqual(await request(r3, 'sources', {}), { ok: true, sources: [r1.id] });
      // A verified piece from r1, over a link r1 says opened, proves it: with both free again,
      // r1 goes first.
      assert.deepEqual(await request(r1, 'report', { peerId: r3.id, reason: 'opened' }), {
        ok: true,
      });
      assert.deepEqual(await request(r3, 'report', { peerId: r1.id, reason: 'good' }), {
        ok: true,
      });
      await request(r3, 'release', { peerId: r1.id });
      await request(r2, 'release', { peerId: sharerId });
      assert.deepEqual(await request(r2, 'sources', { max: 1 }), { ok: true, sources: [r1.id] });
    } finally {
      close();
    }
  });

  test('a seed that leaves ends its assignments without telling its downloaders anything', async () => {
    const { room, sharerId, recipients, close } = await roomWith(3);
    const [r1, r2, r3] = recipients as [Client, Client, Client];
    try {
      await request(r1, 'sources', {});
      await request(r1, 'seed', { have: 'all', seeding: true });
      assert.deepEqual(await request(r2, 'sources', { max: 1, exclude: [sharerId] }), {
        ok: true,
        sources: [r1.id],
      });
      assert.deepEqual(await request(r3, 'sources', { max: 1 }), { ok: true, sources: [sharerId] });
      const seen = recordEvents([r2, r3]);
      const r1Id = r1.id!;
      const logged = h.logs.length;
      r1.disconnect();
      // The service logs the departure after all it sends for it; settled() lets that arrive.
      await departureLogged(h, room.roomId, logged);
      await settled([r2, r3]);
      for (const socket of [r2, r3]) {
        assert.deepEqual(
          seen.get(socket)!.filter(([event]) => event !== 'swarm'),
          [],
          'nothing but the counts',
        );
      }
      // r2 asks again (its link closed): the sharer is busy with r3, so it waits.
      assert.deepEqual(await request(r2, 'sources', { exclude: [r1Id] }), {
        ok: true,
        sources: [],
        position: 1,
      });
    } finally {
      close();
    }
  });

  test('a source reported corrupt is dropped, never assigned again, and the report is logged without ids', async () => {
    const { room, sharer, sharerId, recipients, close } = await roomWith(3);
    const [r1, r2, r3] = recipients as [Client, Client, Client];
    try {
      await request(r1, 'sources', {});
      await request(r1, 'seed', { have: 'some', seeding: true });
      assert.deepEqual(await request(r2, 'sources', { max: 1, exclude: [sharerId] }), {
        ok: true,
        sources: [r1.id],
      });
      await request(r2, 'signal', { to: r1.id, envelope: ENVELOPE });
      const logged = h.logs.length;
      assert.deepEqual(await request(r2, 'report', { peerId: r1.id, reason: 'corrupt' }), {
        ok: true,
      });
      const lines = h.logs.slice(logged).filter((l) => l.includes('swarm.reported'));
      assert.equal(lines.length, 1);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(line.room, room.roomId.slice(0, 6));
      assert.equal(line.reason, 'corrupt');
      assert.equal(line.evicted, true);
      for (const id of [r1.id!, r2.id!, sharerId, room.roomId]) {
        assert.ok(!lines[0]!.includes(id), 'no peer or room id in the log');
      }
      // r1 is out of the pool for good, even when it says it seeds again.
      await request(r1, 'seed', { have: 'all', seeding: true });
      await request(r1, 'release', { peerId: sharerId });
      assert.deepEqual(await request(r3, 'sources', {}), { ok: true, sources: [sharerId] });
      assertError(await request(r2, 'sources', { exclude: [sharerId] }), 'no-sources');
      assert.equal(sharer.connected, true);
    } finally {
      close();
    }
  });

  test('the sharer refuses a recipient: it is never assigned to it again, others still are', async () => {
    const { room, sharer, sharerId, recipients, close } = await roomWith(2);
    const [r1, r2] = recipients as [Client, Client];
    try {
      assert.deepEqual(await request(r1, 'sources', {}), { ok: true, sources: [sharerId] });
      assert.deepEqual(await request(sharer, 'report', { peerId: r1.id, reason: 'refused' }), {
        ok: true,
      });
      // The refusal ended its assignment, and the sharer is never offered to it again.
      assertError(await request(r1, 'sources', {}), 'no-sources');
      assert.deepEqual(await request(r2, 'sources', {}), { ok: true, sources: [sharerId] });
      // The sharer speaks only as a seed: `refused` and `opened` are its to send.
      assert.deepEqual(await request(sharer, 'report', { peerId: r2.id, reason: 'opened' }), {
        ok: true,
      });
      for (const reason of ['misbehaved', 'good']) {
        const ack = await request(sharer, 'report', { peerId: r2.id, reason });
        assertError(ack, 'not-allowed', reason);
      }
      const swarm = await h.service.swarms.inspect(room.roomId);
      assert.deepEqual(swarm?.leases[r2.id!], [{ seed: sharerId, until: null }]);
    } finally {
      close();
    }
  });

  test('the sharer may not use the recipient events; a socket that joined nothing may use none', async () => {
    const { sharer, sharerId, close } = await roomWith(0);
    const loner = await h.connect();
    try {
      const payloads: [string, object][] = [
        ['sources', {}],
        ['seed', { have: 'all', seeding: true }],
        ['release', { peerId: sharerId }],
        ['report', { peerId: sharerId, reason: 'misbehaved' }],
      ];
      for (const [event, payload] of payloads) {
        assertError(await request(sharer, event, payload), 'not-allowed', `sharer ${event}`);
        assertError(await request(loner, event, payload), 'not-allowed', `loner ${event}`);
      }
      for (const [event, payload] of [
        ['seed', { have: 'all' }],
        ['seed', { have: 'most', seeding: true }],
        ['release', { peerId: 'has space' }],
        ['report', { peerId: sharerId, reason: 'rude' }],
        ['sources', { max: 0 }],
        ['sources', { max: 17 }],
      ] as const) {
        assertError(await request(loner, event, payload), 'bad-request', JSON.stringify(payload));
      }
    } finally {
      close();
      loner.disconnect();
    }
  });

  test('a member hears the counts before its join is acknowledged, and again when they change', async () => {
    const room = await h.createRoom();
    const sharer = await h.connect();
    const sharerSwarm = followSwarm(sharer);
    await join(sharer, room.roomId, 'sharer', room.sharerToken);
    assert.deepEqual(sharerSwarm.all, [stats(1, 0, 0, 0)], 'the sharer, before its ack');
    const r1 = await h.connect();
    const r1Swarm = followSwarm(r1);
    await join(r1, room.roomId);
    assert.deepEqual(r1Swarm.all, [stats(1, 0, 0, 0)], 'a recipient, before its ack');
    const r2 = await h.connect();
    await join(r2, room.roomId);
    try {
      await request(r1, 'sources', {});
      await request(r2, 'sources', {});
      await swarmBecomes(sharer, sharerSwarm.last, stats(1, 1, 1, 0));
      await request(sharer, 'report', { peerId: r1.id, reason: 'opened' });
      await request(r1, 'report', { peerId: sharer.id, reason: 'good' });
      await request(r1, 'seed', { have: 'all', seeding: true });
      await swarmBecomes(sharer, sharerSwarm.last, stats(2, 1, 0, 1));
      await swarmBecomes(r1, r1Swarm.last, stats(2, 1, 0, 1));
      // r2 was served from the queue when r1 finished; r1 leaving takes one seed away.
      r1.disconnect();
      await swarmBecomes(sharer, sharerSwarm.last, stats(1, 1, 0, 1));
    } finally {
      for (const s of [sharer, r1, r2]) s.disconnect();
    }
  });

  test('the counts are coalesced: a burst of changes is a few events, the last one right', async () => {
    const { sharer, recipients, close } = await roomWith(12);
    const swarm = followSwarm(sharer);
    try {
      const started = performance.now();
      await Promise.all(recipients.map((r) => request(r, 'sources', {})));
      await Promise.all(recipients.slice(6).map((r) => new Promise((r2) => r2(r.disconnect()))));
      await swarmBecomes(sharer, swarm.last, stats(1, 1, 5, 0));
      await sleep(SWARM_STATS_INTERVAL_MS * 2);
      const elapsed = performance.now() - started;
      // One at once, then at most one per window.
      const allowed = 1 + Math.ceil(elapsed / SWARM_STATS_INTERVAL_MS);
      assert.ok(swarm.all.length <= allowed, `${swarm.all.length} events in ${elapsed} ms`);
      assert.ok(swarm.all.length < 12 + 6, 'fewer events than changes');
      assert.deepEqual(swarm.last(), stats(1, 1, 5, 0));
    } finally {
      close();
    }
  });
});

describe("a room's budget of swarm events", () => {
  test('past it, any member is refused with rate-limited and when to try again', async () => {
    const h = await startService({ config: { swarmEventsPerRoomPerSecond: 5 } });
    try {
      const room = await h.createRoom();
      const other = await h.createRoom();
      const [a, b, c] = await Promise.all([h.connect(), h.connect(), h.connect()]);
      await join(a, room.roomId);
      await join(b, room.roomId);
      await join(c, other.roomId);
      // Twice the rate at once, from both members together.
      const acks = [];
      for (let i = 0; i < 10; i++)
        acks.push(await request(i % 2 ? a : b, 'seed', { have: 'none', seeding: false }));
      assert.ok(acks.every((ack) => ack.ok));
      const refused = await request(a, 'sources', {});
      assertError(refused, 'rate-limited');
      assert.ok(!refused.ok && refused.error.retryAfterMs! > 0, 'with retryAfterMs');
      assertError(await request(b, 'release', { peerId: a.id }), 'rate-limited');
      // Another room's budget is its own.
      assert.deepEqual(await request(c, 'seed', { have: 'none', seeding: false }), { ok: true });
      await sleep(!refused.ok ? refused.error.retryAfterMs! + 50 : 0);
      assert.deepEqual(await request(a, 'seed', { have: 'none', seeding: false }), { ok: true });
      for (const s of [a, b, c]) s.disconnect();
    } finally {
      await h.close();
    }
  });
});

describe('swarm and room lifetime', () => {
  const GRACE = 60_000;
  const MAX_AGE = 600_000;
  const SWEEP_MS = 20;
  let h: Harness;
  let store: SweepCountingStore;
  let clock = 1_700_000_000_000;

  before(async () => {
    ({ h, store } = await startClockedService(() => clock, {
      roomGraceMs: GRACE,
      roomMaxAgeMs: MAX_AGE,
      sweepIntervalMs: SWEEP_MS,
    }));
  });
  after(() => h.close());

  test('a recipient seed keeps the room alive after the sharer left; the last seed leaving starts the grace period', async () => {
    const room = await h.createRoom();
    const createdAt = clock;
    const sharer = await h.connect();
    const seed = await h.connect();
    const late = await h.connect();
    try {
      await join(sharer, room.roomId, 'sharer', room.sharerToken);
      await join(seed, room.roomId);
      await request(seed, 'sources', {});
      await request(seed, 'seed', { have: 'all', seeding: true });
      // Another recipient verifies a piece from the seed: off probation, it keeps the room.
      const prover = await h.connect();
      await join(prover, room.roomId);
      assert.deepEqual(await request(prover, 'sources', { exclude: [sharer.id!] }), {
        ok: true,
        sources: [seed.id],
      });
      await request(seed, 'report', { peerId: prover.id, reason: 'opened' });
      await request(prover, 'report', { peerId: seed.id, reason: 'good' });
      prover.disconnect();

      clock += GRACE * 2;
      sharer.disconnect();
      await waitFor(
        async () => (await h.service.store.getRoom(room.roomId))?.sharerPeerId === null,
      );
      clock += GRACE * 2;
      await store.nextSweep();
      const info = (await (await fetch(`${h.url}/rooms/${room.roomId}`)).json()) as {
        sharerOnline: boolean;
        expiresAt: number;
      };
      assert.equal(info.sharerOnline, false);
      assert.equal(info.expiresAt, createdAt + MAX_AGE);

      // A later recipient still gets the file, from the seed.
      await join(late, room.roomId);
      assert.deepEqual(await request(late, 'sources', {}), { ok: true, sources: [seed.id] });

      // The seed leaves: nobody serves, the grace period starts, then the room closes.
      seed.disconnect();
      await waitFor(
        async () => (await h.service.store.getRoom(room.roomId))?.expiresAt === clock + GRACE,
      );
      const left = clock;
      assertError(await request(late, 'sources', {}), 'no-sources');
      const closed = nextEvent(late, 'room-closed');
      clock = left + GRACE;
      assert.deepEqual(await closed, { reason: 'expired' });
      assert.equal((await fetch(`${h.url}/rooms/${room.roomId}`)).status, 404);
      assert.equal(await h.service.swarms.inspect(room.roomId), null);
    } finally {
      for (const s of [sharer, seed, late]) s.disconnect();
    }
  });

  test('when everyone left, nothing of the swarm remains but the finished count', async () => {
    const room = await h.createRoom();
    const sharer = await h.connect();
    const sockets = await Promise.all([h.connect(), h.connect(), h.connect()]);
    await join(sharer, room.roomId, 'sharer', room.sharerToken);
    for (const s of sockets) await join(s, room.roomId);
    const [a, b, c] = sockets as [Client, Client, Client];
    await request(a, 'sources', {});
    await request(a, 'seed', { have: 'some', seeding: true });
    await request(b, 'sources', {});
    await request(b, 'report', { peerId: a.id, reason: 'misbehaved' });
    await request(c, 'sources', { exclude: [sharer.id!] });
    await request(a, 'report', { peerId: c.id, reason: 'opened' });
    await request(c, 'report', { peerId: a.id, reason: 'good' });
    await request(c, 'seed', { have: 'all', seeding: false });
    for (const s of [sharer, ...sockets]) s.disconnect();
    await waitFor(async () => (await h.service.store.listMembers(room.roomId)).length === 0);
    assert.deepEqual(await h.service.swarms.inspect(room.roomId), {
      ...emptySwarm(),
      finished: 1,
    });
  });

  test('a room the sharer stops takes its swarm with it', async () => {
    const room = await h.createRoom();
    const sharer = await h.connect();
    const r = await h.connect();
    try {
      await join(sharer, room.roomId, 'sharer', room.sharerToken);
      await join(r, room.roomId);
      await request(r, 'sources', {});
      const closed = nextEvent(r, 'room-closed');
      const res = await fetch(`${h.url}/rooms/${room.roomId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${room.sharerToken}` },
      });
      assert.equal(res.status, 204);
      await closed;
      assert.equal(await h.service.swarms.inspect(room.roomId), null);
      assertError(await request(r, 'release', { peerId: sharer.id }), 'room-not-found');
      assertError(await request(r, 'sources', {}), 'room-not-found');
    } finally {
      sharer.disconnect();
      r.disconnect();
    }
  });
});
