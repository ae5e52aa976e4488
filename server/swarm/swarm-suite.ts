/**
 * The behaviour of the rooms' swarms over any `RoomStore`, as a suite that takes a store factory:
 * the swarm's rules are the same whatever keeps its state, and a store must run each step
 * atomically and keep the room's expiry in step with it.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import fc from 'fast-check';
import type { SwarmStats } from '../../protocol/index.js';
import type { RoomStore, RoomStoreFactory } from '../store/store.js';
import { RoomSwarms, type SwarmUpdate } from './room-swarms.js';
import { allLeases, emptySwarm, MAX_BANS, type SwarmState } from './state.js';

const GRACE = 1_000;
const MAX_AGE = 10_000;
const LEASE = 300;
const META = 'c2VhbGVkLW1ldGE';

const ALL = { have: 'all', seeding: true } as const;
const SOME = { have: 'some', seeding: true } as const;

const stats = (seeds: number, downloading: number, queued: number, finished: number) =>
  ({ seeds, downloading, queued, finished }) satisfies SwarmStats;

/** The swarm's leases as sorted `downloader>seed` strings, whatever order a store keeps. */
const pairs = (swarm: SwarmState | null) =>
  (swarm ? allLeases(swarm) : []).map(([downloader, l]) => `${downloader}>${l.seed}`).sort();

export function swarmSuite(name: string, factory: RoomStoreFactory): void {
  describe(`RoomSwarms over ${name}`, () => {
    let clock: number;
    let store: RoomStore;
    let swarms: RoomSwarms;
    let roomId: string;

    beforeEach(async () => {
      clock = 1_700_000_000_000;
      store = await factory({ roomGraceMs: GRACE, roomMaxAgeMs: MAX_AGE, now: () => clock });
      swarms = new RoomSwarms(store, { now: () => clock, leaseMs: LEASE });
      roomId = (await store.createRoom(META)).id;
    });

    afterEach(async () => {
      swarms.close();
      await store.close();
    });

    /** A sharer `S` online in the pool with `capacity`, and recipients that joined. */
    async function room(recipients: string[], capacity = 1, sharer = true) {
      if (sharer) {
        await store.addMember(roomId, { peerId: 'S', role: 'sharer' }, 100);
        await store.setSharerOnline(roomId, 'S');
        await swarms.setSeed(roomId, 'S', ALL, capacity);
      }
      for (const peerId of recipients) {
        assert.equal(await store.addMember(roomId, { peerId, role: 'recipient' }, 100), 'ok');
      }
    }

    const ask = async (peerId: string, exclude: string[] = [], max?: number, limit = 4) => {
      const result = await swarms.requestSources(roomId, peerId, { exclude, max }, limit);
      assert.ok(result, `${peerId} is a member of a live room`);
      return result;
    };
    const sourcesOf = async (peerId: string, exclude: string[] = [], max?: number, limit = 4) => {
      const { outcome } = await ask(peerId, exclude, max, limit);
      assert.equal(outcome.kind, 'sources', `${peerId}: ${JSON.stringify(outcome)}`);
      return outcome.kind === 'sources' ? outcome.sources : [];
    };
    const placeOf = async (peerId: string, exclude: string[] = []) => {
      const { outcome } = await ask(peerId, exclude);
      assert.equal(outcome.kind, 'queued', `${peerId}: ${JSON.stringify(outcome)}`);
      return outcome.kind === 'queued' ? outcome.position : 0;
    };
    const noSources = async (peerId: string, exclude: string[] = []) => {
      assert.deepEqual((await ask(peerId, exclude)).outcome, { kind: 'no-sources' });
    };
    /**
     * Takes recipient seeds off probation as a recipient would: a passing member is assigned
     * each, the seed says their link opened, the member reports a verified piece from it and
     * lets it go, then leaves.
     */
    async function prove(...seeds: string[]) {
      assert.equal(await store.addMember(roomId, { peerId: 'p', role: 'recipient' }, 100), 'ok');
      for (const seed of seeds) {
        const others = (await swarms.inspect(roomId))!.seeds.map((e) => e.peerId);
        const { outcome } = await ask(
          'p',
          others.filter((o) => o !== seed),
          1,
        );
        assert.deepEqual(outcome, { kind: 'sources', sources: [seed] });
        await swarms.report(roomId, seed, 'p', 'opened');
        await swarms.report(roomId, 'p', seed, 'good');
        await swarms.release(roomId, 'p', seed);
      }
      await swarms.leave(roomId, 'p');
    }
    const updateOf = (update: SwarmUpdate | null | undefined) => {
      assert.ok(update);
      return { served: update.served, moved: update.moved };
    };

    test('the sharer is the pool while online; a recipient is served, the next one queued', async () => {
      await room(['a', 'b', 'c']);
      assert.deepEqual(await swarms.stats(roomId), stats(1, 0, 0, 0));
      assert.deepEqual(await sourcesOf('a'), ['S']);
      assert.equal(await placeOf('b'), 1);
      assert.equal(await placeOf('c'), 2);
      assert.deepEqual(await swarms.stats(roomId), stats(1, 1, 2, 0));
      const swarm = await swarms.inspect(roomId);
      assert.deepEqual(
        swarm?.queue.map((w) => w.peerId),
        ['b', 'c'],
      );
      assert.deepEqual(pairs(swarm), ['a>S']);
    });

    test('assigns least-loaded first; among equals whole files, then partial, the sharer last', async () => {
      await room(['full', 'part', 'a', 'b', 'c', 'd', 'e'], 2);
      await swarms.setSeed(roomId, 'full', ALL, 2);
      await swarms.setSeed(roomId, 'part', SOME, 2);
      await prove('full', 'part');
      assert.deepEqual(await sourcesOf('a', [], 1), ['full']);
      assert.deepEqual(await sourcesOf('b', [], 1), ['part']);
      assert.deepEqual(await sourcesOf('c', [], 1), ['S']);
      assert.deepEqual(await sourcesOf('d', [], 1), ['full']);
      // `full` is at capacity now: the rest, least-loaded first.
      assert.deepEqual(await sourcesOf('e', [], 3), ['part', 'S']);
      const swarm = await swarms.inspect(roomId);
      for (const seed of swarm?.seeds ?? []) {
        const load = allLeases(swarm!).filter(([, l]) => l.seed === seed.peerId).length;
        assert.equal(load, 2, `${seed.peerId} serves its capacity`);
        assert.equal(seed.load, 2);
      }
    });

    test('least-loaded is a share of capacity', async () => {
      await room(['big', 'a', 'b', 'c'], 1);
      await swarms.setSeed(roomId, 'big', ALL, 4);
      await prove('big');
      assert.deepEqual(await sourcesOf('a', [], 1), ['big']);
      // big serves 1 of 4, the sharer 0 of 1: the sharer is less loaded.
      assert.deepEqual(await sourcesOf('b', [], 1), ['S']);
      assert.deepEqual(await sourcesOf('c', [], 1), ['big']);
    });

    test('up to min(max, limit) sources in total, counting those held; held ones listed again unless excluded', async () => {
      await room(['s1', 's2', 's3', 's4', 's5', 'a', 'b', 'c'], 4);
      for (const seed of ['s1', 's2', 's3', 's4', 's5']) await swarms.setSeed(roomId, seed, ALL, 4);
      await prove('s1', 's2', 's3', 's4', 's5');
      assert.equal((await sourcesOf('a', [], 2)).length, 2);
      const first = await sourcesOf('a', [], 2);
      assert.equal(first.length, 2, 'asking again lists what it has');
      const more = await sourcesOf('a', first, 16, 3);
      assert.equal(more.length, 1, 'one more, up to the limit of 3');
      assert.ok(!first.includes(more[0]!));
      assert.deepEqual(await sourcesOf('a', [...first, ...more], 16, 3), [], 'at the limit');
      assert.equal((await sourcesOf('b', [], 16, 3)).length, 3, 'max is capped by the limit');
      assert.equal((await sourcesOf('c', [], undefined, 2)).length, 2, 'no max: the limit');
    });

    test('never the requester itself, an excluded or a banned peer', async () => {
      await room(['a', 'b', 'c'], 4);
      await swarms.setSeed(roomId, 'a', ALL, 4);
      await swarms.setSeed(roomId, 'b', ALL, 4);
      assert.deepEqual((await sourcesOf('a')).sort(), ['S', 'b']);
      await swarms.report(roomId, 'c', 'b', 'misbehaved');
      assert.deepEqual((await sourcesOf('c', ['S'])).sort(), ['a']);
    });

    test('a seed that refuses a downloader is never assigned to it again', async () => {
      await room(['a', 'b'], 4);
      await swarms.setSeed(roomId, 'a', ALL, 4);
      assert.deepEqual((await sourcesOf('b')).sort(), ['S', 'a']);
      await swarms.report(roomId, 'S', 'b', 'refused');
      await swarms.report(roomId, 'a', 'b', 'refused');
      assert.deepEqual(pairs(await swarms.inspect(roomId)), []);
      await noSources('b');
      assert.deepEqual(await sourcesOf('a'), ['S'], 'the refusal bans only its target');
    });

    test('no-sources when the pool holds nobody but itself, excluded or banned peers', async () => {
      await room(['a', 'b'], 1, false);
      await noSources('a');
      await swarms.setSeed(roomId, 'a', SOME, 1);
      await noSources('a');
      assert.deepEqual(await sourcesOf('b'), ['a']);
      await noSources('b', ['a']);
      await swarms.report(roomId, 'b', 'a', 'misbehaved');
      await noSources('b');
      assert.deepEqual(pairs(await swarms.inspect(roomId)), []);
    });

    test('a waiter that asks again keeps its place; one that can no longer be served leaves', async () => {
      await room(['a', 'b', 'c', 'd']);
      await sourcesOf('a');
      assert.equal(await placeOf('b'), 1);
      assert.equal(await placeOf('c'), 2);
      assert.equal(await placeOf('d'), 3);
      assert.equal(await placeOf('c'), 2);
      assert.equal(await placeOf('b', ['nobody']), 1);
      const gone = await ask('b', ['S']);
      assert.deepEqual(gone.outcome, { kind: 'no-sources' });
      assert.deepEqual(updateOf(gone.update), {
        served: [],
        moved: [
          { peerId: 'c', position: 1 },
          { peerId: 'd', position: 2 },
        ],
      });
      assert.deepEqual(gone.update.stats, stats(1, 1, 2, 0));
    });

    test('a freed slot goes to the head of the queue, and the rest move up', async () => {
      await room(['a', 'b', 'c', 'd']);
      await sourcesOf('a');
      for (const peer of ['b', 'c', 'd']) await placeOf(peer);
      const update = await swarms.release(roomId, 'a', 'S');
      assert.deepEqual(updateOf(update), {
        served: [{ peerId: 'b', sources: ['S'] }],
        moved: [
          { peerId: 'c', position: 1 },
          { peerId: 'd', position: 2 },
        ],
      });
      assert.deepEqual(update?.stats, stats(1, 1, 2, 0));
      assert.equal(update?.statsChanged, true);
      assert.deepEqual(pairs(await swarms.inspect(roomId)), ['b>S']);
      // Releasing what it does not hold changes nothing.
      const nothing = await swarms.release(roomId, 'a', 'S');
      assert.deepEqual(updateOf(nothing), { served: [], moved: [] });
      assert.equal(nothing?.statsChanged, false);
    });

    test('a waiter that cannot use the free slot does not hold up those behind it', async () => {
      await room(['x', 'a', 'b', 'c', 'd', 'e']);
      await swarms.setSeed(roomId, 'x', ALL, 1);
      await prove('x');
      assert.deepEqual(await sourcesOf('a', ['x']), ['S']);
      assert.deepEqual(await sourcesOf('d', ['S']), ['x']);
      assert.equal(await placeOf('b', ['x']), 1);
      assert.equal(await placeOf('c'), 2);
      assert.equal(await placeOf('e', ['S']), 3);
      // x frees: b excluded it, so c (the first that can use it) gets it.
      assert.deepEqual(updateOf(await swarms.release(roomId, 'd', 'x')), {
        served: [{ peerId: 'c', sources: ['x'] }],
        moved: [{ peerId: 'e', position: 2 }],
      });
      // The sharer frees: b, still first, gets it, and e moves up.
      assert.deepEqual(updateOf(await swarms.release(roomId, 'a', 'S')), {
        served: [{ peerId: 'b', sources: ['S'] }],
        moved: [{ peerId: 'e', position: 1 }],
      });
      // A seed with room that no waiter can use goes to a newcomer at once.
      assert.equal(await placeOf('e', ['S', 'a']), 1);
      assert.deepEqual(updateOf(await swarms.setSeed(roomId, 'a', ALL, 1)), {
        served: [],
        moved: [],
      });
      assert.deepEqual(await sourcesOf('d', ['S', 'x']), ['a']);
    });

    test('waiters leave from the head, the middle and the tail without stalling the queue', async () => {
      await room(['a', 'h', 'm', 't', 'z']);
      await sourcesOf('a');
      for (const peer of ['h', 'm', 't', 'z']) await placeOf(peer);
      assert.deepEqual(updateOf((await swarms.leave(roomId, 'z'))?.result), {
        served: [],
        moved: [],
      });
      assert.deepEqual(updateOf((await swarms.leave(roomId, 'm'))?.result), {
        served: [],
        moved: [{ peerId: 't', position: 2 }],
      });
      assert.deepEqual(updateOf((await swarms.leave(roomId, 'h'))?.result), {
        served: [],
        moved: [{ peerId: 't', position: 1 }],
      });
      // The downloader leaving frees its slot for the one waiter left.
      const removal = await swarms.leave(roomId, 'a');
      assert.deepEqual(updateOf(removal?.result), {
        served: [{ peerId: 't', sources: ['S'] }],
        moved: [],
      });
      assert.deepEqual(removal?.result.stats, stats(1, 1, 0, 0));
    });

    test('a served waiter that leaves mid-handover passes the slot on', async () => {
      await room(['a', 'b', 'c']);
      await sourcesOf('a');
      await placeOf('b');
      await placeOf('c');
      assert.deepEqual(updateOf(await swarms.release(roomId, 'a', 'S')).served, [
        { peerId: 'b', sources: ['S'] },
      ]);
      // b leaves before it ever connected: c gets the slot.
      assert.deepEqual(updateOf((await swarms.leave(roomId, 'b'))?.result), {
        served: [{ peerId: 'c', sources: ['S'] }],
        moved: [],
      });
    });

    test('a seed that leaves ends its assignments and frees nothing', async () => {
      await room(['x', 'a', 'b', 'c'], 1);
      await swarms.setSeed(roomId, 'x', ALL, 1);
      await prove('x');
      assert.deepEqual(await sourcesOf('a', [], 1), ['x']);
      assert.deepEqual(await sourcesOf('b', [], 1), ['S']);
      assert.equal(await placeOf('c'), 1);
      const update = await swarms.setSeed(roomId, 'x', { have: 'all', seeding: false }, 1);
      assert.deepEqual(updateOf(update), { served: [], moved: [] });
      assert.deepEqual(update?.stats, stats(1, 1, 1, 1));
      assert.deepEqual(pairs(await swarms.inspect(roomId)), ['b>S']);
      // It asks again and waits behind c.
      assert.equal(await placeOf('a'), 2);
      // The sharer leaving: b loses its source, the waiters stay.
      const removal = await swarms.leave(roomId, 'S');
      assert.deepEqual(updateOf(removal?.result), { served: [], moved: [] });
      assert.deepEqual(removal?.result.stats, stats(0, 0, 2, 1));
    });

    test('a seed joining serves the queue in order, up to its capacity', async () => {
      await room(['a', 'b', 'c', 'd', 'x']);
      await sourcesOf('a');
      for (const peer of ['b', 'c', 'd']) await placeOf(peer);
      const update = await swarms.setSeed(roomId, 'x', SOME, 2);
      assert.deepEqual(updateOf(update), {
        served: [
          { peerId: 'b', sources: ['x'] },
          { peerId: 'c', sources: ['x'] },
        ],
        moved: [],
      });
      // On probation, x is no proven source: b and c keep their places for the sharer.
      assert.deepEqual(update?.stats, stats(2, 3, 3, 0));
      await swarms.report(roomId, 'x', 'b', 'opened');
      const proof = await swarms.report(roomId, 'b', 'x', 'good');
      assert.deepEqual(updateOf(proof?.update), {
        served: [],
        moved: [{ peerId: 'd', position: 1 }],
      });
      assert.deepEqual(proof?.update.stats, stats(2, 3, 1, 0));
    });

    test('having it all ends its own downloads and counts it finished once; the sharer never counts', async () => {
      await room(['a', 'b']);
      await sourcesOf('a');
      await placeOf('b');
      await swarms.report(roomId, 'S', 'a', 'opened');
      await swarms.report(roomId, 'a', 'S', 'good');
      const update = await swarms.setSeed(roomId, 'a', ALL, 1);
      assert.deepEqual(updateOf(update), {
        served: [{ peerId: 'b', sources: ['S', 'a'] }],
        moved: [],
      });
      assert.deepEqual(update?.stats, stats(2, 1, 0, 1));
      await swarms.setSeed(roomId, 'a', ALL, 1);
      await swarms.setSeed(roomId, 'a', { have: 'all', seeding: false }, 1);
      await swarms.setSeed(roomId, 'a', ALL, 1);
      await swarms.setSeed(roomId, 'S', ALL, 1);
      assert.deepEqual(await swarms.stats(roomId), stats(2, 1, 0, 1));
      // Nothing held means no seed, whatever it says of seeding.
      await swarms.setSeed(roomId, 'a', { have: 'none', seeding: true }, 1);
      assert.deepEqual(await swarms.stats(roomId), stats(1, 1, 0, 1));
      await swarms.leave(roomId, 'a');
      assert.equal((await swarms.stats(roomId))?.finished, 1, 'finished counts stay');
    });

    test('a report ends the assignment and bans the source for the reporter only', async () => {
      await room(['x', 'a', 'b'], 2);
      await swarms.setSeed(roomId, 'x', ALL, 2);
      await prove('x');
      assert.deepEqual(await sourcesOf('a', [], 1), ['x']);
      const result = await swarms.report(roomId, 'a', 'x', 'misbehaved');
      assert.equal(result?.evicted, false);
      assert.deepEqual(pairs(await swarms.inspect(roomId)), []);
      assert.deepEqual(await sourcesOf('a', [], 1), ['S']);
      assert.deepEqual(await sourcesOf('a', [], 2), ['S'], 'x stays banned for a');
      assert.deepEqual(await sourcesOf('b', ['S'], 1), ['x'], 'but serves others');
    });

    test('a recipient seed reported corrupt by a peer it served leaves the pool for good', async () => {
      await room(['x', 'a', 'b'], 2);
      await swarms.setSeed(roomId, 'x', ALL, 2);
      await prove('x');
      assert.deepEqual(await sourcesOf('a', ['S'], 1), ['x']);
      assert.deepEqual(await sourcesOf('b', ['S'], 1), ['x']);
      const result = await swarms.report(roomId, 'a', 'x', 'corrupt');
      assert.equal(result?.evicted, true);
      assert.deepEqual(result?.update.stats, stats(1, 0, 0, 1));
      assert.deepEqual(pairs(await swarms.inspect(roomId)), []);
      await swarms.setSeed(roomId, 'x', ALL, 2);
      assert.deepEqual(await swarms.stats(roomId), stats(1, 0, 0, 1), 'it cannot come back');
      await noSources('b', ['S']);
    });

    test('a corrupt report from a peer that never dealt with the seed only bans it for itself', async () => {
      await room(['x', 'a', 'b'], 2);
      await swarms.setSeed(roomId, 'x', ALL, 2);
      const result = await swarms.report(roomId, 'a', 'x', 'corrupt');
      assert.equal(result?.evicted, false);
      assert.deepEqual(await sourcesOf('b', ['S'], 1), ['x']);
      await noSources('a', ['S']);
      // Peers that exchanged envelopes are linked, assigned or not.
      await store.addPartners(roomId, 'a', 'x');
      assert.equal((await swarms.report(roomId, 'a', 'x', 'corrupt'))?.evicted, true);
    });

    test('the sharer is never evicted from its own room, only banned for the reporter', async () => {
      await room(['a', 'b'], 2);
      assert.deepEqual(await sourcesOf('a'), ['S']);
      const result = await swarms.report(roomId, 'a', 'S', 'corrupt');
      assert.equal(result?.evicted, false);
      await noSources('a');
      assert.deepEqual(await sourcesOf('b'), ['S']);
      assert.deepEqual(await swarms.stats(roomId), stats(1, 1, 0, 0));
    });

    test('reports of oneself or of a peer that is no member leave no trace', async () => {
      await room(['a']);
      await swarms.report(roomId, 'a', 'a', 'corrupt');
      await swarms.report(roomId, 'a', 'gone-long-ago', 'corrupt');
      await swarms.report(roomId, 'a', 'S', 'good');
      await swarms.report(roomId, 'S', 'a', 'opened');
      assert.deepEqual((await swarms.inspect(roomId))?.bans, {});
      assert.deepEqual((await swarms.inspect(roomId))?.fetched, [], 'no lease, no proof');
    });

    test('only members of a live room use the swarm', async () => {
      await room(['a']);
      assert.equal(await swarms.setSeed(roomId, 'stranger', ALL, 1), null);
      assert.equal(await swarms.requestSources(roomId, 'stranger', { exclude: [] }, 4), null);
      assert.equal(await swarms.release(roomId, 'stranger', 'S'), null);
      assert.equal(await swarms.report(roomId, 'stranger', 'S', 'corrupt'), null);
      assert.equal(await swarms.report(roomId, 'stranger', 'S', 'good'), null);
      const unknown = 'AAAAAAAAAAAAAAAAAAAAAA';
      assert.equal(await swarms.requestSources(unknown, 'a', { exclude: [] }, 4), null);
      assert.equal(await swarms.stats(unknown), null);
      assert.equal(await swarms.inspect(unknown), null);
      assert.deepEqual(await swarms.stats(roomId), stats(1, 0, 0, 0));
    });

    test('a recipient seed keeps the room alive after the sharer left, until it leaves too', async () => {
      await room(['a', 'b']);
      const created = (await store.getRoom(roomId))!.createdAt;
      await sourcesOf('a');
      await swarms.setSeed(roomId, 'a', ALL, 1);
      await prove('a');
      clock += 2_000;
      await swarms.leave(roomId, 'S');
      await store.setSharerOffline(roomId, 'S');
      assert.equal((await store.getRoom(roomId))?.expiresAt, created + MAX_AGE);
      assert.deepEqual(await sourcesOf('b'), ['a']);
      clock += 3_000;
      await swarms.leave(roomId, 'a');
      assert.equal((await store.getRoom(roomId))?.expiresAt, clock + GRACE);
      // A seed that comes back within the grace period saves the room again.
      clock += GRACE - 1;
      await swarms.setSeed(roomId, 'b', SOME, 1);
      await prove('b');
      assert.equal((await store.getRoom(roomId))?.expiresAt, created + MAX_AGE);
      await swarms.setSeed(roomId, 'b', { have: 'some', seeding: false }, 1);
      assert.equal((await store.getRoom(roomId))?.expiresAt, clock + GRACE);
      clock += GRACE;
      assert.equal(await store.getRoom(roomId), null);
    });

    test('a seed never keeps a room past its maximum age', async () => {
      await room(['a']);
      await swarms.setSeed(roomId, 'a', ALL, 1);
      await swarms.leave(roomId, 'S');
      await store.setSharerOffline(roomId, 'S');
      clock += MAX_AGE;
      assert.equal(await store.getRoom(roomId), null);
      assert.equal(await swarms.setSeed(roomId, 'a', ALL, 1), null);
      assert.deepEqual(await store.sweep(), [roomId]);
    });

    test('no state is left once everyone left, and none at all once the room is gone', async () => {
      await room(['x', 'a', 'b', 'c', 'd', 'e'], 2);
      await swarms.setSeed(roomId, 'x', SOME, 1);
      await prove('x');
      assert.deepEqual(await sourcesOf('a', [], 2), ['x', 'S']);
      assert.equal((await swarms.report(roomId, 'a', 'x', 'corrupt'))?.evicted, true);
      await swarms.report(roomId, 'b', 'S', 'misbehaved');
      assert.deepEqual(await sourcesOf('c'), ['S']);
      assert.equal(await placeOf('d'), 1);
      assert.equal(await placeOf('e'), 2);
      await swarms.setSeed(roomId, 'd', { have: 'all', seeding: false }, 1);
      const full = await swarms.inspect(roomId);
      assert.deepEqual(
        [full?.evicted, full?.bans, pairs(full), full?.claimed, full?.queue.length],
        [['x'], { a: ['x'], b: ['S'] }, ['a>S', 'c>S'], ['d'], 1],
      );
      await swarms.report(roomId, 'S', 'c', 'opened');
      await swarms.report(roomId, 'c', 'S', 'good');
      await swarms.setSeed(roomId, 'c', { have: 'all', seeding: false }, 1);
      assert.deepEqual((await swarms.inspect(roomId))?.counted, ['c']);
      for (const peerId of ['S', 'x', 'a', 'b', 'c', 'd', 'e']) await swarms.leave(roomId, peerId);
      assert.deepEqual(await swarms.inspect(roomId), { ...emptySwarm(), finished: 1 });
      assert.deepEqual(await swarms.stats(roomId), stats(0, 0, 0, 1));

      await room(['a']);
      await sourcesOf('a');
      assert.equal(await store.deleteRoom(roomId), true);
      assert.equal(await swarms.inspect(roomId), null);
      const other = await store.createRoom(META);
      await store.addMember(other.id, { peerId: 'a', role: 'recipient' }, 10);
      await swarms.setSeed(other.id, 'a', SOME, 1);
      await swarms.leave(other.id, 'a');
      clock += GRACE;
      assert.deepEqual(await store.sweep(), [other.id]);
      assert.equal(await swarms.inspect(other.id), null);
    });

    test('bans are kept per reporter, at most MAX_BANS each, the oldest forgotten first', async () => {
      const others = Array.from({ length: MAX_BANS + 6 }, (_, i) => `o${i}`);
      await room(['r', 'q', ...others]);
      for (const other of others) await swarms.report(roomId, 'r', other, 'misbehaved');
      await swarms.report(roomId, 'q', 'S', 'misbehaved');
      const swarm = await swarms.inspect(roomId);
      assert.deepEqual(swarm?.bans.r, others.slice(6));
      assert.deepEqual(swarm?.bans.q, ['S']);
      // The oldest bans are forgotten: o0 may serve r again, o6 may not.
      await swarms.setSeed(roomId, 'o0', ALL, 1);
      await swarms.setSeed(roomId, 'o6', ALL, 1);
      assert.deepEqual(await sourcesOf('r', ['S']), ['o0']);
      await swarms.leave(roomId, 'r');
      assert.equal((await swarms.inspect(roomId))?.bans.r, undefined, 'a leaver takes its bans');
    });

    test('a lease ends at its deadline unless its seed confirms it; the seed is not given again', async () => {
      await room(['a', 'b', 'c'], 2);
      assert.deepEqual(await sourcesOf('a'), ['S']);
      clock += LEASE / 2;
      assert.deepEqual(await sourcesOf('b'), ['S']);
      assert.equal(await placeOf('c'), 1);
      const leases = (await swarms.inspect(roomId))?.leases;
      assert.deepEqual(leases?.a, [{ seed: 'S', until: clock - LEASE / 2 + LEASE }]);
      // The sharer says a link with b opened; a's own good word counts for nothing without it.
      await swarms.report(roomId, 'S', 'b', 'opened');
      await swarms.report(roomId, 'a', 'S', 'good');
      clock += LEASE / 2;
      // Nobody spoke: the timer's step ends a's lease and serves the queue.
      const update = await swarms.expire(roomId);
      assert.deepEqual(updateOf(update), { served: [{ peerId: 'c', sources: ['S'] }], moved: [] });
      assert.equal(update?.nextExpiry, clock + LEASE, "c's lease is next");
      assert.deepEqual(pairs(await swarms.inspect(roomId)), ['b>S', 'c>S']);
      // b's lease was confirmed: it never runs out.
      clock += 10 * LEASE;
      await noSources('a');
      assert.deepEqual(pairs(await swarms.inspect(roomId)), ['b>S']);
      assert.deepEqual((await swarms.inspect(roomId))?.bans, { a: ['S'], c: ['S'] });
    });

    test("a downloader's good word without the seed's neither keeps the lease nor proves the seed", async () => {
      await room(['f', 'a', 'b']);
      await swarms.setSeed(roomId, 'f', ALL, 1);
      assert.deepEqual(await sourcesOf('a', ['S']), ['f']);
      assert.deepEqual(await sourcesOf('b'), ['S']);
      // Neither f nor the sharer says a link opened; both downloaders say they verified a piece.
      await swarms.report(roomId, 'a', 'f', 'good');
      await swarms.report(roomId, 'b', 'S', 'good');
      let swarm = await swarms.inspect(roomId);
      assert.equal(swarm?.seeds.find((e) => e.peerId === 'f')?.proven, false);
      assert.deepEqual([swarm?.fetched, swarm?.claimed, swarm?.finished], [[], ['f'], 0]);
      assert.equal(swarm?.nextExpiry, clock + LEASE);
      clock += LEASE;
      await swarms.expire(roomId);
      swarm = await swarms.inspect(roomId);
      assert.deepEqual(pairs(swarm), [], 'both slots free at the deadline');
      assert.deepEqual(swarm?.bans, { a: ['f'], b: ['S'] });
      assert.equal(swarm?.seeds.find((e) => e.peerId === 'f')?.proven, false);
    });

    test("the seed's word keeps the lease; with the downloader's, in either order, it proves", async () => {
      await room(['f', 'g', 'a', 'b', 'c']);
      await swarms.setSeed(roomId, 'f', ALL, 1);
      await swarms.setSeed(roomId, 'g', ALL, 1);
      assert.deepEqual(await sourcesOf('a', ['S', 'g']), ['f']);
      assert.deepEqual(await sourcesOf('b', ['S', 'f']), ['g']);
      await swarms.report(roomId, 'f', 'a', 'opened');
      await swarms.report(roomId, 'b', 'g', 'good');
      // A seed's word about a peer it does not serve changes nothing.
      await swarms.report(roomId, 'f', 'b', 'opened');
      clock += 10 * LEASE;
      await swarms.expire(roomId);
      let swarm = await swarms.inspect(roomId);
      assert.deepEqual(pairs(swarm), ['a>f'], "f's word keeps a's lease; b's alone does not");
      assert.deepEqual(swarm?.leases.a, [{ seed: 'f', until: null }]);
      assert.equal(swarm?.seeds.find((e) => e.peerId === 'f')?.proven, false, 'not yet proven');
      const proof = await swarms.report(roomId, 'a', 'f', 'good');
      assert.deepEqual(proof?.update.stats, stats(3, 1, 0, 1), 'proven, f counts as finished');
      // The other order: the downloader's word first, then the seed's.
      assert.deepEqual(await sourcesOf('c', ['S', 'f']), ['g']);
      await swarms.report(roomId, 'c', 'g', 'good');
      swarm = await swarms.inspect(roomId);
      assert.equal(swarm?.seeds.find((e) => e.peerId === 'g')?.proven, false);
      await swarms.report(roomId, 'g', 'c', 'opened');
      swarm = await swarms.inspect(roomId);
      assert.deepEqual(
        swarm?.seeds.map((e) => [e.peerId, e.proven]),
        [
          ['S', true],
          ['f', true],
          ['g', true],
        ],
      );
      assert.deepEqual(swarm?.fetched, ['a', 'c']);
      assert.deepEqual(swarm?.bans, { b: ['g'] }, "b's lease ran out");
    });

    test("the sharer's word keeps its slot; a squatter's good word does not", async () => {
      await room(['q', 'a']);
      assert.deepEqual(await sourcesOf('q'), ['S']);
      await swarms.report(roomId, 'q', 'S', 'good');
      assert.equal(await placeOf('a'), 1);
      clock += LEASE;
      assert.deepEqual(updateOf(await swarms.expire(roomId)).served, [
        { peerId: 'a', sources: ['S'] },
      ]);
      await swarms.report(roomId, 'S', 'a', 'opened');
      clock += 10 * LEASE;
      await noSources('q');
      assert.deepEqual(pairs(await swarms.inspect(roomId)), ['a>S']);
    });

    test('leases that run out are ended by the next step of anyone', async () => {
      await room(['a', 'b']);
      assert.deepEqual(await sourcesOf('a'), ['S']);
      assert.equal(await placeOf('b'), 1);
      clock += LEASE;
      const { outcome, update } = await ask('b');
      assert.deepEqual(outcome, { kind: 'sources', sources: ['S'] });
      assert.deepEqual(update.stats, stats(1, 1, 0, 0));
      assert.equal(update.nextExpiry, clock + LEASE);
    });

    test('a timer ends leases in a room where nobody speaks, and says what it changed', async () => {
      const changes: SwarmUpdate[] = [];
      const timed = new RoomSwarms(store, {
        now: () => clock,
        leaseMs: 20,
        onExpired: (id, update) => {
          assert.equal(id, roomId);
          changes.push(update);
        },
      });
      try {
        await room(['a', 'b']);
        await timed.requestSources(roomId, 'a', { exclude: [] }, 4);
        await timed.requestSources(roomId, 'b', { exclude: [] }, 4);
        clock += 20;
        const deadline = Date.now() + 5_000;
        while (changes.length === 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.deepEqual(
          changes.map((u) => u.served),
          [[{ peerId: 'b', sources: ['S'] }]],
        );
      } finally {
        timed.close();
      }
    });

    test('an unproven seed never ranks above the sharer with room, nor any proven seed', async () => {
      await room(['f1', 'f2', 'x', 'a', 'b', 'c'], 2);
      for (const seed of ['f1', 'f2', 'x']) await swarms.setSeed(roomId, seed, ALL, 2);
      await prove('x');
      // Least-loaded alone would pick the fakes first; proof comes first.
      assert.deepEqual(await sourcesOf('a', [], 2), ['x', 'S']);
      assert.deepEqual(await sourcesOf('b', [], 3), ['x', 'S', 'f1']);
      const swarm = await swarms.inspect(roomId);
      assert.deepEqual(
        swarm?.seeds.map((e) => [e.peerId, e.proven]),
        [
          ['S', true],
          ['f1', false],
          ['f2', false],
          ['x', true],
        ],
      );
      // Proven seeds full: the unproven ones serve, and c waits for a proven slot as well.
      const { outcome } = await ask('c', [], 2);
      assert.deepEqual(outcome, { kind: 'sources', sources: ['f2', 'f1'] });
      assert.deepEqual((await swarms.inspect(roomId))?.queue, [
        { peerId: 'c', exclude: [], max: 2 },
      ]);
      // A proven slot frees: c takes it, in place of its oldest unproven lease (it is at max).
      const update = await swarms.release(roomId, 'a', 'S');
      assert.deepEqual(updateOf(update), {
        served: [{ peerId: 'c', sources: ['f1', 'S'] }],
        moved: [],
      });
      assert.deepEqual((await swarms.inspect(roomId))?.queue, []);
    });

    test('a recipient whose unproven sources never connect gets the sharer next', async () => {
      await room(['f', 'q1', 'q2', 'a'], 2);
      await swarms.setSeed(roomId, 'f', ALL, 4);
      // Squatters hold both of the sharer's slots and never connect.
      assert.deepEqual(await sourcesOf('q1', [], 1), ['S']);
      assert.deepEqual(await sourcesOf('q2', [], 1), ['S']);
      clock += 1;
      assert.deepEqual(await sourcesOf('a'), ['f']);
      // The squatters' leases end first: the sharer's slot goes to a, who waited.
      clock += LEASE - 1;
      assert.deepEqual(updateOf(await swarms.expire(roomId)).served, [
        { peerId: 'a', sources: ['f', 'S'] },
      ]);
      // a's link to f times out too; asking again (f excluded) it keeps the sharer.
      clock += 1;
      assert.deepEqual(await sourcesOf('a', ['f']), ['S']);
      assert.deepEqual(await sourcesOf('q1'), ['f'], 'the squatter may not take the sharer again');
    });

    test('unproven seeds keep no room alive and are not counted finished until proven', async () => {
      await room(['f', 'a', 'b']);
      const created = (await store.getRoom(roomId))!.createdAt;
      await swarms.setSeed(roomId, 'f', ALL, 1);
      await swarms.leave(roomId, 'S');
      await store.setSharerOffline(roomId, 'S');
      assert.equal((await store.getRoom(roomId))?.expiresAt, clock + GRACE, 'f does not count');
      assert.deepEqual(await swarms.stats(roomId), stats(1, 0, 0, 0), 'nor is f finished');
      // a fetches a verified piece from f: f is proven, saves the room and counts.
      assert.deepEqual(await sourcesOf('a'), ['f']);
      await swarms.report(roomId, 'f', 'a', 'opened');
      const proof = await swarms.report(roomId, 'a', 'f', 'good');
      assert.deepEqual(proof?.update.stats, stats(1, 1, 0, 1));
      assert.equal((await store.getRoom(roomId))?.expiresAt, created + MAX_AGE);
      // A good word from one with no lease of it proves nothing.
      await swarms.setSeed(roomId, 'b', ALL, 1);
      await swarms.report(roomId, 'a', 'b', 'good');
      const swarm = await swarms.inspect(roomId);
      assert.deepEqual(
        [swarm?.claimed, swarm?.counted, swarm?.seeds.find((e) => e.peerId === 'b')?.proven],
        [['b'], ['f'], false],
      );
      // One that fetched and then finished counts, seeding or not.
      await swarms.setSeed(roomId, 'a', { have: 'all', seeding: false }, 1);
      assert.deepEqual((await swarms.stats(roomId))?.finished, 2);
    });

    test('random joins, asks, releases, reports and departures never break the rules', async () => {
      const PEERS = ['S', 'a', 'b', 'c', 'd', 'e', 'f'];
      const peer = fc.constantFrom(...PEERS);
      // Weighted so rooms fill up, seeds and queues form, and departures still come often.
      const op = fc.oneof(
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('join' as const), peer }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), peer }) },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('seed' as const),
            peer,
            have: fc.constantFrom('none', 'some', 'all'),
            seeding: fc.boolean(),
            capacity: fc.integer({ min: 1, max: 3 }),
          }),
        },
        {
          weight: 5,
          arbitrary: fc.record({
            kind: fc.constant('ask' as const),
            peer,
            exclude: fc.subarray(PEERS, { maxLength: 3 }),
            max: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ kind: fc.constant('release' as const), peer, source: peer }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('report' as const),
            peer,
            source: peer,
            corrupt: fc.boolean(),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ kind: fc.constant('good' as const), peer, source: peer }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ kind: fc.constant('opened' as const), peer, source: peer }),
        },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), peer }) },
      );
      const LIMIT = 2;

      await fc.assert(
        fc.asyncProperty(
          fc.array(op, { minLength: 1, maxLength: 150, size: 'max' }),
          async (ops) => {
            // Rooms outlive the leases that run out here.
            const s = await factory({
              roomGraceMs: 1_000 * MAX_AGE,
              roomMaxAgeMs: 1_000 * MAX_AGE,
              now: () => clock,
            });
            const sw = new RoomSwarms(s, { now: () => clock, leaseMs: LEASE });
            try {
              const id = (await s.createRoom(META)).id;
              const members = new Set<string>();
              // Counted members that left: `finished` outlives them.
              let departed = 0;
              for (const o of ops) {
                const before = await sw.inspect(id);
                let update: SwarmUpdate | null = null;
                if (o.kind === 'join') {
                  if (members.has(o.peer)) continue;
                  const role = o.peer === 'S' ? 'sharer' : 'recipient';
                  await s.addMember(id, { peerId: o.peer, role }, 100);
                  members.add(o.peer);
                  if (role === 'sharer') {
                    await s.setSharerOnline(id, 'S');
                    update = await sw.setSeed(id, 'S', ALL, 2);
                  }
                } else if (o.kind === 'leave') {
                  if (before?.counted.includes(o.peer)) departed++;
                  update = (await sw.leave(id, o.peer))?.result ?? null;
                  if (o.peer === 'S') await s.setSharerOffline(id, 'S');
                  members.delete(o.peer);
                } else if (o.kind === 'seed') {
                  update = await sw.setSeed(id, o.peer, o, o.capacity);
                } else if (o.kind === 'tick') {
                  // Leases run out; the next step (here, the timer's) ends them.
                  clock += LEASE;
                  update = await sw.expire(id);
                  const left = (await sw.inspect(id))!;
                  assert.ok(allLeases(left).every(([, l]) => l.until === null || l.until > clock));
                } else if (o.kind === 'good' || o.kind === 'opened') {
                  // `peer` fetches from `source` for `good`; `opened` is the seed's word.
                  const [downloader, seed] =
                    o.kind === 'good' ? [o.peer, o.source] : [o.source, o.peer];
                  const lease = before?.leases[downloader]?.find((l) => l.seed === seed);
                  const other = o.kind === 'good' ? lease?.until === null : lease?.vouched;
                  update = (await sw.report(id, o.peer, o.source, o.kind))?.update ?? null;
                  const was = before?.seeds.find((e) => e.peerId === seed)?.proven;
                  const entry = (await sw.inspect(id))!.seeds.find((e) => e.peerId === seed);
                  if (other && o.peer !== o.source && entry) assert.ok(entry.proven, 'both spoke');
                  if (!lease && entry && !was) assert.ok(!entry.proven, 'no lease, no proof');
                } else if (o.kind === 'ask') {
                  const result = await sw.requestSources(id, o.peer, o, LIMIT);
                  update = result?.update ?? null;
                  if (result?.outcome.kind === 'sources') {
                    for (const source of result.outcome.sources) {
                      assert.ok(!o.exclude.includes(source), 'an excluded source');
                    }
                  }
                } else if (o.kind === 'release') {
                  update = await sw.release(id, o.peer, o.source);
                } else {
                  const reason = o.corrupt ? 'corrupt' : 'misbehaved';
                  update = (await sw.report(id, o.peer, o.source, reason))?.update ?? null;
                }
                if (!members.has(o.peer) && o.kind !== 'leave' && o.kind !== 'tick') {
                  assert.equal(update, null, `${o.kind} by a non-member`);
                }
                const after = (await sw.inspect(id))!;
                checkRules(after, members, LIMIT);
                assert.equal(after.finished, after.counted.length + departed);
                assert.ok(after.finished >= before!.finished, 'finished never drops');
                const counts = await sw.stats(id);
                if (update) {
                  assert.deepEqual(update.stats, counts);
                  checkUpdate(before!, after, update);
                }
              }
              const finished = (await sw.inspect(id))!.finished;
              for (const member of [...members]) await sw.leave(id, member);
              assert.deepEqual(await sw.inspect(id), { ...emptySwarm(), finished });
            } finally {
              sw.close();
              await s.close();
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  });
}

/** What must hold after every step, whatever came before. */
function checkRules(swarm: SwarmState, members: Set<string>, limit: number): void {
  const seeds = new Map(swarm.seeds.map((s) => [s.peerId, s]));
  const leases = allLeases(swarm);
  const banned = (reporter: string, reported: string) =>
    (swarm.bans[reporter] ?? []).includes(reported);
  assert.equal(seeds.size, swarm.seeds.length, 'a seed is in the pool once');
  for (const seed of swarm.seeds) {
    assert.ok(members.has(seed.peerId), 'seeds are members');
    const load = leases.filter(([, l]) => l.seed === seed.peerId).length;
    assert.equal(seed.load, load, `${seed.peerId} counts its load`);
    assert.ok(load <= seed.capacity, `${seed.peerId} serves ${load} > ${seed.capacity}`);
    assert.ok(!swarm.evicted.includes(seed.peerId), 'an evicted seed is out');
    if (seed.sharer) assert.ok(seed.proven, 'the sharer needs no proof');
  }
  const keys = leases.map(([downloader, l]) => `${downloader}>${l.seed}`);
  assert.equal(new Set(keys).size, keys.length, 'no assignment twice');
  assert.equal(swarm.downloading, Object.keys(swarm.leases).length, 'downloading is counted');
  for (const [downloader, lease] of leases) {
    assert.notEqual(downloader, lease.seed, 'nobody fetches from itself');
    assert.ok(members.has(downloader), 'downloaders are members');
    assert.ok(seeds.has(lease.seed), 'sources are in the pool');
    assert.ok(!banned(downloader, lease.seed), 'no banned source');
    if (lease.until === null && lease.vouched) {
      assert.ok(seeds.get(lease.seed)!.proven, 'confirmed by both means proven');
    }
    if (lease.until !== null)
      assert.ok(swarm.nextExpiry !== null && swarm.nextExpiry <= lease.until, 'timer is set');
  }
  for (const [downloader, list] of Object.entries(swarm.leases)) {
    assert.ok(list.length > 0 && list.length <= limit, `${downloader} holds ${list.length}`);
  }
  const queued = swarm.queue.map((w) => w.peerId);
  assert.equal(new Set(queued).size, queued.length, 'a waiter is queued once');
  for (const waiter of swarm.queue) {
    assert.ok(members.has(waiter.peerId), 'waiters are members');
    const held = swarm.leases[waiter.peerId] ?? [];
    assert.ok(!held.some((l) => seeds.get(l.seed)!.proven), 'a waiter holds no proven source');
    // The queue never stalls: no seed with room is one this waiter could use (a proven one,
    // for a waiter that holds unproven ones).
    const usable = swarm.seeds.filter(
      (s) =>
        s.peerId !== waiter.peerId &&
        (held.length === 0 || s.proven) &&
        !waiter.exclude.includes(s.peerId) &&
        !banned(waiter.peerId, s.peerId) &&
        !held.some((l) => l.seed === s.peerId) &&
        s.load < s.capacity,
    );
    assert.deepEqual(usable, [], `${waiter.peerId} waits while a slot is free`);
  }
  for (const [reporter, list] of Object.entries(swarm.bans)) {
    assert.ok(members.has(reporter), 'bans are kept for members');
    assert.ok(list.length <= MAX_BANS && new Set(list).size === list.length);
  }
  for (const peerId of [...swarm.evicted, ...swarm.counted, ...swarm.claimed, ...swarm.fetched]) {
    assert.ok(members.has(peerId), 'per-peer state is of members');
  }
  for (const peerId of swarm.claimed) assert.ok(!swarm.counted.includes(peerId));
}

/** An update names exactly the waiters served (in queue order) and those that moved. */
function checkUpdate(before: SwarmState, after: SwarmState, update: SwarmUpdate): void {
  const was = before.queue.map((w) => w.peerId);
  const now = after.queue.map((w) => w.peerId);
  for (const { peerId, sources } of update.served) {
    assert.ok(was.includes(peerId), 'only waiters are served');
    const held = (after.leases[peerId] ?? []).map((l) => l.seed);
    assert.deepEqual([...sources].sort(), held.sort(), 'served with what it holds');
  }
  const order = update.served.map((s) => was.indexOf(s.peerId));
  assert.deepEqual(
    order,
    [...order].sort((x, y) => x - y),
    'served in queue order',
  );
  const expectedMoves = now
    .map((peerId, i) => ({ peerId, position: i + 1 }))
    .filter(({ peerId, position }) => was.includes(peerId) && was.indexOf(peerId) + 1 !== position);
  assert.deepEqual(update.moved, expectedMoves);
  // The queue keeps its order: nobody overtakes.
  assert.deepEqual(
    was.filter((p) => now.includes(p)),
    now.filter((p) => was.includes(p)),
  );
  assert.equal(update.nextExpiry, after.nextExpiry);
}
