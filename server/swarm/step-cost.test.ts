/**
 * What one member with a link can make the swarm cost: the worst room it can build (members at
 * the room maximum, every recipient reporting every other, all but a few waiting), each kind of
 * step timed there, and an honest visitor's create + join + sources on the same service while
 * that room's members send as fast as their limits allow. Figures are printed; the bounds are
 * generous (a loaded two-core machine) and far below what walks over waiters x bans cost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { defaultConfig } from '../config.js';
import { MemoryRoomStore } from '../store/memory.js';
import { join, request, sleep, startService, type Client, type Harness } from '../test-support.js';
import { RoomSwarms } from './room-swarms.js';

const MEMBERS = defaultConfig.maxSocketsPerRoom;
const META = 'c2VhbGVkLW1ldGE';

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

const micros = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

describe('swarm step cost in the worst room one client can build', () => {
  let clock = 1_700_000_000_000;
  const store = new MemoryRoomStore({
    roomGraceMs: 60_000,
    roomMaxAgeMs: 24 * 3600_000,
    now: () => clock,
  });
  const swarms = new RoomSwarms(store, { now: () => clock });
  let roomId = '';
  const recipients = Array.from({ length: MEMBERS - 1 }, (_, i) => `r${i}`);

  before(async () => {
    roomId = (await store.createRoom(META)).id;
    const limit = defaultConfig.maxSocketsPerRoom;
    assert.equal(await store.addMember(roomId, { peerId: 'S', role: 'sharer' }, limit), 'ok');
    await store.setSharerOnline(roomId, 'S');
    await swarms.setSeed(roomId, 'S', { have: 'all', seeding: true }, defaultConfig.swarmCapacity);
    for (const peerId of recipients) {
      assert.equal(await store.addMember(roomId, { peerId, role: 'recipient' }, limit), 'ok');
      await swarms.setSeed(roomId, peerId, { have: 'some', seeding: true }, 4);
    }
    // Everyone reports everyone else: no recipient may use another, only the sharer.
    for (const reporter of recipients) {
      for (const other of recipients) {
        if (other !== reporter) await swarms.report(roomId, reporter, other, 'misbehaved');
      }
    }
    for (const peerId of recipients) {
      await swarms.requestSources(roomId, peerId, { exclude: [] }, defaultConfig.swarmMaxSources);
    }
    const swarm = (await swarms.inspect(roomId))!;
    const bans = Object.values(swarm.bans).reduce((n, list) => n + list.length, 0);
    assert.equal(bans, recipients.length * (recipients.length - 1));
    assert.equal(swarm.queue.length, recipients.length - defaultConfig.swarmCapacity);
  });

  after(async () => {
    swarms.close();
    await store.close();
  });

  test('each kind of step costs under 500 µs at p99 (the issue measured 1,262 µs)', async () => {
    const ROUNDS = 2_000;
    type Kind = 'sources' | 'release' | 'report' | 'seed';
    const measure = async () => {
      const times: Record<Kind, number[]> = {
        sources: [],
        release: [],
        report: [],
        seed: [],
      };
      const time = async (kind: keyof typeof times, run: () => Promise<unknown>) => {
        const start = performance.now();
        assert.notEqual(await run(), null);
        times[kind].push(performance.now() - start);
      };
      for (let i = 0; i < ROUNDS; i++) {
        clock += 1;
        const swarm = (await swarms.inspect(roomId))!;
        const waiter = swarm.queue[i % swarm.queue.length]!.peerId;
        const downloader = Object.keys(swarm.leases)[0]!;
        // A waiter asks again (and again), as the attack did 20 times a second each.
        await time('sources', () =>
          swarms.requestSources(roomId, waiter, { exclude: [] }, defaultConfig.swarmMaxSources),
        );
        // A downloader lets the sharer go: the head of the queue is served past every ban.
        await time('release', () => swarms.release(roomId, downloader, 'S'));
        await time('report', () =>
          swarms.report(roomId, waiter, recipients[i % recipients.length]!, 'misbehaved'),
        );
        await time('seed', () =>
          swarms.setSeed(roomId, waiter, { have: 'some', seeding: true }, 4),
        );
        // The one that let go queues again at the tail, so the room stays as bad as it was.
        await swarms.requestSources(roomId, downloader, { exclude: [] }, 4);
      }
      const figures = Object.entries(times).map(([kind, samples]) => [kind, p99(samples)] as const);
      console.log(
        `swarm step p99 over ${ROUNDS} each, ${MEMBERS} members: ` +
          figures.map(([kind, ms]) => `${kind} ${micros(ms)}`).join(', '),
      );
      return figures;
    };
    // Interference (another process, a collection) only ever adds time, so a round whose p99 is
    // over the bound is measured again, up to three times, and the best round counts.
    let figures = await measure();
    for (let round = 1; round < 3 && figures.some(([, ms]) => ms >= 0.5); round++) {
      figures = await measure();
    }
    for (const [kind, ms] of figures) assert.ok(ms < 0.5, `${kind}: ${micros(ms)} at p99`);
  });
});

describe("an honest visitor while one room's members send all they may", () => {
  let h: Harness;
  before(async () => {
    // One test address stands for many, so the per-address cap is lifted here.
    h = await startService({
      config: { logLevel: 'warn', maxSocketsPerAddressPerRoom: defaultConfig.maxSocketsPerRoom },
    });
  });
  after(() => h.close());

  test('create + join + sources stays under 1 s at p99, and the service idles after', async () => {
    const room = await h.createRoom();
    const sharer = await h.connect();
    await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const members: Client[] = [];
    const ids: string[] = [];
    for (let i = 0; i < MEMBERS - 1; i++) {
      const socket = await h.connect();
      ids.push(await join(socket, room.roomId));
      members.push(socket);
    }
    for (const socket of members) {
      for (const other of ids) {
        if (other !== socket.id)
          socket.emit('report', { peerId: other, reason: 'misbehaved' }, () => {});
      }
      await sleep(5);
    }

    // Each member sends at its socket's sustained rate: sources, reports and releases in turn.
    let sent = 0;
    let refused = 0;
    const period = 1000 / defaultConfig.socketMessagesPerSecond;
    const timers = members.map((socket, n) =>
      setInterval(() => {
        const other = ids[(n + sent) % ids.length]!;
        const event = ['sources', 'report', 'release'][sent % 3]!;
        const payload =
          event === 'sources'
            ? { exclude: [] }
            : event === 'report'
              ? { peerId: other, reason: 'misbehaved' }
              : { peerId: other };
        sent++;
        socket.emit(event as 'release', payload as { peerId: string }, (ack: { ok: boolean }) => {
          if (!ack.ok) refused++;
        });
      }, period),
    );

    const honest: number[] = [];
    try {
      await sleep(500);
      for (let i = 0; i < 20; i++) {
        const start = performance.now();
        const own = await h.createRoom();
        const s = await h.connect();
        await join(s, own.roomId, 'sharer', own.sharerToken);
        const r = await h.connect();
        await join(r, own.roomId);
        const ack = await request(r, 'sources', {});
        honest.push(performance.now() - start);
        assert.deepEqual(ack, { ok: true, sources: [s.id] });
        s.disconnect();
        r.disconnect();
      }
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
    const connected = members.filter((m) => m.connected).length;
    for (const socket of [sharer, ...members]) socket.disconnect();

    await sleep(250);
    const start = performance.eventLoopUtilization();
    await sleep(1_000);
    const idle = performance.eventLoopUtilization(start);
    console.log(
      `honest create + join + sources under attack: p99 ${p99(honest).toFixed(1)} ms ` +
        `(${sent} attack events sent, ${refused} refused, ${connected}/${members.length} ` +
        `attackers still connected); event loop ${(idle.utilization * 100).toFixed(1)} % busy ` +
        `in the second after`,
    );
    assert.ok(p99(honest) < 1_000, `honest p99 ${p99(honest).toFixed(1)} ms`);
    assert.ok(idle.utilization < 0.2, `event loop ${(idle.utilization * 100).toFixed(1)} % busy`);
  });
});
