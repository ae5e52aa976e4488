/**
 * Checks of SECURITY.md's limits on a room's swarm: sockets per address per room, the sharer's
 * reserved place, leases, the room's budget of swarm events, bans per reporter and seeds on
 * probation, each driven over sockets as recipients drive it.
 */
import assert from 'node:assert/strict';
import { defaultConfig } from '../../../server/config.js';
import { SHARER_SOCKETS } from '../../../server/store/store.js';
import { MAX_BANS } from '../../../server/swarm/state.js';
import {
  assertError,
  join,
  nextEvent,
  request,
  sleep,
  waitFor,
  type Client,
} from '../../../server/test-support.js';
import {
  ackRefusal,
  amount,
  from,
  joinAck,
  MINUTE,
  numbers,
  pair,
  withService,
  type Check,
} from './support.js';

/** Row name → the check of what the row says. */
export const SWARM: Record<string, Check> = {
  async 'Sockets per address per room'(row) {
    const limit = amount(row.default);
    assert.match(row.default, /recipients \(`MAX_SOCKETS_PER_ADDRESS_PER_ROOM`\)$/);
    assert.equal(defaultConfig.maxSocketsPerAddressPerRoom, limit);
    const refusal = ackRefusal(row.past);
    assert.match(row.past, /; other addresses and the sharer's token still get in$/);
    await withService({ maxSocketsPerAddressPerRoom: limit }, async (h) => {
      const room = await h.createRoom();
      for (let i = 0; i < limit; i++) await join(await h.connect(), room.roomId);
      assertError(await joinAck(await h.connect(), room.roomId), refusal, 'one address past it');
      await join(await h.connect(from('127.0.0.2')), room.roomId);
      await join(await h.connect(), room.roomId, 'sharer', room.sharerToken);
      const other = await h.createRoom();
      await join(await h.connect(), other.roomId);
    });
  },

  async "The sharer's place in a room"(row) {
    const [recipients, room, sharerSockets] = numbers(row.default);
    assert.equal(defaultConfig.maxSocketsPerRoom, room);
    assert.equal(recipients, room! - 1);
    assert.equal(sharerSockets, SHARER_SOCKETS);
    const refusal = ackRefusal(row.past);
    // The default room's arithmetic at a smaller size.
    const cap = 4;
    await withService({ maxSocketsPerRoom: cap, maxSocketsPerAddressPerRoom: cap }, async (h) => {
      const r = await h.createRoom();
      for (let i = 0; i < cap - 1; i++) await join(await h.connect(), r.roomId);
      assertError(await joinAck(await h.connect(), r.roomId), refusal, 'a recipient past it');
      for (let i = 0; i < sharerSockets!; i++) {
        await join(await h.connect(), r.roomId, 'sharer', r.sharerToken);
      }
      const third = await joinAck(await h.connect(), r.roomId, 'sharer', r.sharerToken);
      assertError(third, refusal, 'a sharer socket past its two');
    });
  },

  async 'Swarm lease'(row) {
    const seconds = amount(row.default);
    assert.match(
      row.default,
      /^\d+ s \(`SWARM_LEASE_MS`\) unless the seed's `opened` report confirms it$/,
    );
    assert.equal(defaultConfig.swarmLeaseMs, seconds * 1000);
    assert.match(row.past, /^the slot frees; that seed is not assigned to that recipient again$/);
    // Waiting out the default is the same code with a shorter lease.
    const leaseMs = 200;
    await withService({ swarmCapacity: 1, swarmLeaseMs: leaseMs }, async (h) => {
      const { room, sharer, recipient: squatter, sharerId } = await pair(h);
      const waiter = await h.connect();
      await join(waiter, room.roomId);
      assert.deepEqual(await request(squatter, 'sources', {}), { ok: true, sources: [sharerId] });
      const assigned = nextEvent(waiter, 'assigned', 10_000);
      assert.deepEqual(await request(waiter, 'sources', {}), {
        ok: true,
        sources: [],
        position: 1,
      });
      // The squatter says it verified a piece, but the sharer never says a link opened: its
      // slot goes to the waiter, and never back to it.
      const squat = await request(squatter, 'report', { peerId: sharerId, reason: 'good' });
      assert.deepEqual(squat, { ok: true });
      assert.deepEqual(await assigned, { sources: [sharerId] });
      assertError(await request(squatter, 'sources', {}), 'no-sources');
      // A lease its seed confirmed outlives its deadline.
      assert.deepEqual(await request(sharer, 'report', { peerId: waiter.id, reason: 'opened' }), {
        ok: true,
      });
      await sleep(3 * leaseMs);
      const swarm = await h.service.swarms.inspect(room.roomId);
      assert.deepEqual(swarm?.leases[waiter.id!], [{ seed: sharerId, until: null }]);
    });
  },

  async 'Swarm events per room'(row) {
    const [rate, burst] = numbers(row.default);
    assert.match(row.default, /all members together \(`SWARM_EVENTS_PER_ROOM_PER_SECOND`\)$/);
    assert.equal(defaultConfig.swarmEventsPerRoomPerSecond, rate);
    assert.equal(burst, 2 * rate!);
    const refusal = ackRefusal(row.past);
    assert.match(row.past, /\+ `retryAfterMs`; other rooms keep their own budget$/);
    await withService({}, async (h) => {
      const room = await h.createRoom();
      // Five members, each within its own socket's burst, share the room's.
      const members: Client[] = [];
      for (let i = 0; i < 5; i++) {
        members.push(await h.connect());
        await join(members[i]!, room.roomId);
      }
      const started = performance.now();
      const acks = (
        await Promise.all(
          members.map((m) =>
            Promise.all(
              Array.from({ length: 200 }, () =>
                request(m, 'seed', { have: 'none', seeding: false }),
              ),
            ),
          ),
        )
      ).flat();
      const seconds = (performance.now() - started) / 1000;
      const refused = acks.filter((a) => !a.ok && a.error.code === refusal);
      const answered = acks.length - refused.length;
      assert.ok(refused.length > 0, `none of ${acks.length} refused in ${seconds.toFixed(2)} s`);
      assert.ok(
        answered <= burst! + Math.ceil(rate! * seconds) + 1,
        `${answered} answered in ${seconds.toFixed(2)} s: more than ${burst} + ${rate}/s`,
      );
      const first = refused[0]!;
      assert.ok(!first.ok && (first.error.retryAfterMs ?? 0) > 0, 'with retryAfterMs');
      const other = await h.createRoom();
      const outsider = await h.connect();
      await join(outsider, other.roomId);
      const own = await request(outsider, 'seed', { have: 'none', seeding: false });
      assert.deepEqual(own, { ok: true }, "another room's budget is its own");
    });
  },

  async 'Bans per reporter'(row) {
    const cap = amount(row.default);
    assert.match(row.default, /^\d+ peers$/);
    assert.equal(MAX_BANS, cap);
    assert.match(row.past, /^the oldest is dropped: that peer may be assigned to the reporter/);
    const roomy = { maxSocketsPerRoom: cap + 8, maxSocketsPerAddressPerRoom: cap + 8 };
    await withService(roomy, async (h) => {
      const { room, recipient: reporter, sharerId } = await pair(h);
      await request(reporter, 'report', { peerId: sharerId, reason: 'misbehaved' });
      assertError(await request(reporter, 'sources', {}), 'no-sources', 'the sharer banned');
      // As many more bans as the cap holds push the oldest, the sharer's, out.
      for (let i = 0; i < cap; i++) {
        const other = await h.connect();
        const peerId = await join(other, room.roomId);
        await request(reporter, 'report', { peerId, reason: 'misbehaved' });
      }
      const bans = (await h.service.swarms.inspect(room.roomId))?.bans[reporter.id!];
      assert.equal(bans?.length, cap);
      assert.ok(!bans.includes(sharerId));
      assert.deepEqual(await request(reporter, 'sources', {}), { ok: true, sources: [sharerId] });
    });
  },

  async 'Seeds on probation'(row) {
    assert.match(
      row.default,
      /^until a recipient whose link it confirmed \(`opened`\) reports `good`$/,
    );
    assert.match(row.past, /after the sharer and proven seeds; not counted as finished; keeps/);
    const graceMs = 60_000;
    await withService({ roomGraceMs: graceMs }, async (h) => {
      const { room, sharer, recipient, sharerId } = await pair(h);
      const seedAll = { have: 'all', seeding: true };
      const fake = await h.connect();
      await join(fake, room.roomId);
      assert.deepEqual(await request(fake, 'seed', seedAll), { ok: true });
      const finished = async () => (await h.service.swarms.stats(room.roomId))?.finished;
      assert.equal(await finished(), 0, 'a claim is not a finish');
      // Both free, the unproven seed ranks after the sharer.
      const first = await request(recipient, 'sources', { max: 1 });
      assert.deepEqual(first, { ok: true, sources: [sharerId] });
      // With only an unproven seed left, the sharer's departure starts the grace period.
      sharer.disconnect();
      const expiresAt = async () =>
        ((await (await fetch(`${h.url}/rooms/${room.roomId}`)).json()) as { expiresAt: number })
          .expiresAt;
      await waitFor(async () => (await expiresAt()) <= Date.now() + graceMs);
      // A verified piece from it proves it only over a link it says opened.
      const next = await request(recipient, 'sources', { exclude: [sharerId], max: 1 });
      assert.deepEqual(next, { ok: true, sources: [fake.id] });
      await request(recipient, 'report', { peerId: fake.id, reason: 'good' });
      assert.equal(await finished(), 0, 'a word from one side is no proof');
      await request(fake, 'report', { peerId: recipient.id, reason: 'opened' });
      assert.equal(await finished(), 1, 'proven, it counts');
      assert.ok((await expiresAt()) > Date.now() + 60 * MINUTE, 'and keeps the room alive');
      // A newer unproven seed ranks after the proven one, loaded as that one is.
      const fresh = await h.connect();
      await join(fresh, room.roomId);
      assert.deepEqual(await request(fresh, 'seed', seedAll), { ok: true });
      const late = await h.connect();
      await join(late, room.roomId);
      assert.deepEqual(await request(late, 'sources', { max: 1 }), {
        ok: true,
        sources: [fake.id],
      });
      assert.equal(await finished(), 1);
    });
  },
};
