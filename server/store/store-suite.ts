/**
 * The behaviour every `RoomStore` must have, as a suite that takes a store factory: the memory
 * store runs it in memory.test.ts and a Redis store runs the very same cases.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ID_PATTERN, TOKEN_PATTERN } from '../../protocol/index.js';
import { swarmSuite } from '../swarm/swarm-suite.js';
import { roomIdFor, type RoomStore, type RoomStoreFactory } from './store.js';

const GRACE = 1_000;
const MAX_AGE = 10_000;
const META = 'c2VhbGVkLW1ldGE';

/** A swarm step that changes nothing, for tests of membership alone. */
const noStep = () => undefined;

export function roomStoreSuite(name: string, factory: RoomStoreFactory): void {
  describe(`RoomStore: ${name}`, () => {
    let clock: number;
    let store: RoomStore;

    beforeEach(async () => {
      clock = 1_700_000_000_000;
      store = await factory({ roomGraceMs: GRACE, roomMaxAgeMs: MAX_AGE, now: () => clock });
    });

    afterEach(async () => {
      await store.close();
    });

    test('creates rooms with fresh 128-bit ids and 256-bit sharer tokens', async () => {
      const rooms = await Promise.all(Array.from({ length: 50 }, () => store.createRoom(META)));
      for (const room of rooms) {
        assert.match(room.id, ID_PATTERN);
        assert.match(room.sharerToken, TOKEN_PATTERN);
        assert.equal(room.meta, META);
        assert.equal(room.passwordHash, null);
        assert.equal(room.createdAt, clock);
        assert.equal(room.expiresAt, clock + GRACE);
        assert.equal(room.sharerPeerId, null);
      }
      assert.equal(new Set(rooms.map((r) => r.id)).size, rooms.length);
      assert.equal(new Set(rooms.map((r) => r.sharerToken)).size, rooms.length);
      assert.equal(await store.countRooms(), rooms.length);
    });

    test("derives each room's id from its sharer token", async () => {
      const room = await store.createRoom(META);
      assert.equal(room.id, roomIdFor(room.sharerToken));
      const other = `${room.sharerToken.slice(0, -1)}${room.sharerToken.endsWith('A') ? 'B' : 'A'}`;
      assert.notEqual(roomIdFor(other), room.id);
    });

    test('restores a room that is gone under the same id, and only then', async () => {
      const hash = 'scrypt$15$8$1$c2FsdA$aGFzaA';
      const room = await store.createRoom(META, { passwordHash: hash });
      assert.equal(await store.restoreRoom(room.sharerToken, 'b3RoZXI'), null);
      assert.equal((await store.getRoom(room.id))?.meta, META);

      await store.addMember(room.id, { peerId: 'peer-1', role: 'recipient' }, 8);
      clock += GRACE;
      assert.equal(await store.getRoom(room.id), null);
      const restored = await store.restoreRoom(room.sharerToken, META, { passwordHash: hash });
      assert.ok(restored);
      assert.deepEqual(restored, { ...room, createdAt: clock, expiresAt: clock + GRACE });
      assert.deepEqual(await store.getRoom(room.id), restored);
      assert.deepEqual(await store.listMembers(room.id), []);
      assert.equal(await store.countRooms(), 1);
      assert.deepEqual(await store.sweep(), []);
    });

    test('is ready while it can serve', async () => {
      assert.equal(await store.ready(), true);
    });

    test("keeps a password room's hash with the room", async () => {
      const hash = 'scrypt$15$8$1$c2FsdA$aGFzaA';
      const room = await store.createRoom(META, { passwordHash: hash });
      assert.equal(room.passwordHash, hash);
      assert.equal((await store.getRoom(room.id))?.passwordHash, hash);
      assert.equal((await store.createRoom(META, {})).passwordHash, null);
    });

    test('gets a room by id and nothing for an unknown id', async () => {
      const room = await store.createRoom(META);
      assert.deepEqual(await store.getRoom(room.id), room);
      assert.equal(await store.getRoom('AAAAAAAAAAAAAAAAAAAAAA'), null);
    });

    test('hands out copies, so callers cannot change stored state', async () => {
      const room = await store.createRoom(META);
      room.meta = 'changed';
      const got = await store.getRoom(room.id);
      assert.equal(got?.meta, META);
      got!.sharerPeerId = 'someone';
      assert.equal((await store.getRoom(room.id))?.sharerPeerId, null);
    });

    test('deletes a room with its members', async () => {
      const room = await store.createRoom(META);
      assert.equal(await store.addMember(room.id, { peerId: 'a', role: 'recipient' }, 10), 'ok');
      assert.equal(await store.deleteRoom(room.id), true);
      assert.equal(await store.getRoom(room.id), null);
      assert.equal(await store.getMember(room.id, 'a'), null);
      assert.deepEqual(await store.listMembers(room.id), []);
      assert.equal(await store.deleteRoom(room.id), false);
    });

    test('a sharer online keeps the room until its maximum age', async () => {
      const room = await store.createRoom(META);
      assert.equal(await store.setSharerOnline(room.id, 'sharer-1'), true);
      const online = await store.getRoom(room.id);
      assert.equal(online?.sharerPeerId, 'sharer-1');
      assert.equal(online?.expiresAt, room.createdAt + MAX_AGE);
      clock += MAX_AGE - 1;
      assert.notEqual(await store.getRoom(room.id), null);
      clock += 1;
      assert.equal(await store.getRoom(room.id), null);
    });

    test('the grace period starts when the sharer goes offline', async () => {
      const room = await store.createRoom(META);
      await store.setSharerOnline(room.id, 'sharer-1');
      clock += 3_000;
      await store.setSharerOffline(room.id, 'sharer-1');
      const offline = await store.getRoom(room.id);
      assert.equal(offline?.sharerPeerId, null);
      assert.equal(offline?.expiresAt, clock + GRACE);
      clock += GRACE - 1;
      assert.notEqual(await store.getRoom(room.id), null);
      clock += 1;
      assert.equal(await store.getRoom(room.id), null);
    });

    test('a sharer that comes back within the grace period saves the room', async () => {
      const room = await store.createRoom(META);
      await store.setSharerOnline(room.id, 'sharer-1');
      await store.setSharerOffline(room.id, 'sharer-1');
      clock += GRACE - 1;
      assert.equal(await store.setSharerOnline(room.id, 'sharer-2'), true);
      clock += GRACE * 2;
      assert.equal((await store.getRoom(room.id))?.sharerPeerId, 'sharer-2');
    });

    test('only the current sharer going offline starts the grace period', async () => {
      const room = await store.createRoom(META);
      await store.setSharerOnline(room.id, 'old');
      await store.setSharerOnline(room.id, 'new');
      await store.setSharerOffline(room.id, 'old');
      const got = await store.getRoom(room.id);
      assert.equal(got?.sharerPeerId, 'new');
      assert.equal(got?.expiresAt, room.createdAt + MAX_AGE);
    });

    test('the grace period never outlasts the maximum age', async () => {
      const room = await store.createRoom(META);
      await store.setSharerOnline(room.id, 's');
      clock = room.createdAt + MAX_AGE - 10;
      await store.setSharerOffline(room.id, 's');
      assert.equal((await store.getRoom(room.id))?.expiresAt, room.createdAt + MAX_AGE);
    });

    test('a room whose sharer never joins expires after the grace period', async () => {
      const room = await store.createRoom(META);
      clock += GRACE;
      assert.equal(await store.getRoom(room.id), null);
      assert.equal(await store.setSharerOnline(room.id, 'late'), false);
    });

    test('an expired room is absent everywhere and swept exactly once', async () => {
      const keep = await store.createRoom(META);
      const room = await store.createRoom(META);
      await store.setSharerOnline(keep.id, 'k');
      await store.addMember(room.id, { peerId: 'a', role: 'recipient' }, 10);
      assert.deepEqual(await store.sweep(), []);
      clock += GRACE;
      assert.equal(await store.getMember(room.id, 'a'), null);
      assert.deepEqual(await store.listMembers(room.id), []);
      assert.equal(
        await store.addMember(room.id, { peerId: 'b', role: 'recipient' }, 10),
        'room-not-found',
      );
      assert.equal(await store.deleteRoom(room.id), false);
      assert.equal(await store.countRooms(), 1);
      assert.deepEqual(await store.sweep(), [room.id]);
      assert.deepEqual(await store.sweep(), []);
      assert.notEqual(await store.getRoom(keep.id), null);
    });

    test('limits members per room, counting a re-added member once', async () => {
      const room = await store.createRoom(META);
      assert.equal(await store.addMember(room.id, { peerId: 'a', role: 'sharer' }, 3), 'ok');
      assert.equal(await store.addMember(room.id, { peerId: 'b', role: 'recipient' }, 3), 'ok');
      assert.equal(await store.addMember(room.id, { peerId: 'b', role: 'recipient' }, 3), 'ok');
      assert.equal(await store.addMember(room.id, { peerId: 'x', role: 'recipient' }, 3), 'ok');
      assert.equal(await store.addMember(room.id, { peerId: 'c', role: 'recipient' }, 3), 'full');
      const members = await store.listMembers(room.id);
      assert.deepEqual(
        members.sort((x, y) => x.peerId.localeCompare(y.peerId)),
        [
          { peerId: 'a', role: 'sharer' },
          { peerId: 'b', role: 'recipient' },
          { peerId: 'x', role: 'recipient' },
        ],
      );
      await store.removeMember(room.id, 'b', noStep);
      assert.equal(await store.addMember(room.id, { peerId: 'c', role: 'recipient' }, 3), 'ok');
    });

    test("recipients never take the sharer's place; its token gets in with a second socket", async () => {
      const room = await store.createRoom(META);
      const recipient = (peerId: string) => ({ peerId, role: 'recipient' as const });
      assert.equal(await store.addMember(room.id, recipient('a'), 3), 'ok');
      assert.equal(await store.addMember(room.id, recipient('b'), 3), 'ok');
      assert.equal(await store.addMember(room.id, recipient('c'), 3), 'full', 'one place is kept');
      const sharer = (peerId: string) => ({ peerId, role: 'sharer' as const });
      assert.equal(await store.addMember(room.id, sharer('S1'), 3), 'ok');
      // The old socket lingers while the sharer reconnects: the new one gets in all the same.
      assert.equal(await store.addMember(room.id, sharer('S2'), 3), 'ok');
      assert.equal(await store.addMember(room.id, sharer('S3'), 3), 'full', 'but not a third');
      await store.removeMember(room.id, 'S1', noStep);
      assert.equal(await store.addMember(room.id, recipient('c'), 3), 'full');
      assert.equal(await store.addMember(room.id, sharer('S3'), 3), 'ok');
    });

    test('caps the recipients one address holds in a room, not the sharer', async () => {
      const room = await store.createRoom(META);
      const other = await store.createRoom(META);
      const from = (peerId: string, address: string) => ({
        peerId,
        role: 'recipient' as const,
        address,
      });
      assert.equal(await store.addMember(room.id, from('a', '10.0.0.1'), 10, 2), 'ok');
      assert.equal(await store.addMember(room.id, from('b', '10.0.0.1'), 10, 2), 'ok');
      assert.equal(await store.addMember(room.id, from('b', '10.0.0.1'), 10, 2), 'ok');
      assert.equal(await store.addMember(room.id, from('c', '10.0.0.1'), 10, 2), 'address-full');
      assert.equal(await store.addMember(room.id, from('c', '10.0.0.2'), 10, 2), 'ok');
      assert.equal(await store.addMember(other.id, from('d', '10.0.0.1'), 10, 2), 'ok', 'per room');
      const sharer = { peerId: 'S', role: 'sharer' as const, address: '10.0.0.1' };
      assert.equal(await store.addMember(room.id, sharer, 10, 2), 'ok');
      await store.removeMember(room.id, 'a', noStep);
      assert.equal(await store.addMember(room.id, from('e', '10.0.0.1'), 10, 2), 'ok');
    });

    test('adding to an unknown room says so', async () => {
      assert.equal(
        await store.addMember('AAAAAAAAAAAAAAAAAAAAAA', { peerId: 'a', role: 'recipient' }, 10),
        'room-not-found',
      );
    });

    test('members are per room', async () => {
      const one = await store.createRoom(META);
      const two = await store.createRoom(META);
      await store.addMember(one.id, { peerId: 'a', role: 'recipient' }, 10);
      assert.deepEqual(await store.getMember(one.id, 'a'), { peerId: 'a', role: 'recipient' });
      assert.equal(await store.getMember(two.id, 'a'), null);
    });

    test('removing a member returns its partners and unlinks it from them', async () => {
      const room = await store.createRoom(META);
      for (const peerId of ['s', 'a', 'b', 'c']) {
        await store.addMember(
          room.id,
          { peerId, role: peerId === 's' ? 'sharer' : 'recipient' },
          10,
        );
      }
      await store.addPartners(room.id, 'a', 's');
      await store.addPartners(room.id, 'b', 's');
      await store.addPartners(room.id, 'a', 's');
      assert.deepEqual((await store.removeMember(room.id, 's', noStep))?.partners.sort(), [
        'a',
        'b',
      ]);
      assert.equal(await store.getMember(room.id, 's'), null);
      assert.deepEqual((await store.removeMember(room.id, 'a', noStep))?.partners, []);
      assert.deepEqual((await store.removeMember(room.id, 'c', noStep))?.partners, []);
      assert.equal(await store.removeMember(room.id, 'nobody', noStep), null);
    });

    test('a swarm step runs for a member of a live room and sees its role, members and partners', async () => {
      const room = await store.createRoom(META);
      await store.addMember(room.id, { peerId: 's', role: 'sharer' }, 10);
      await store.addMember(room.id, { peerId: 'a', role: 'recipient' }, 10);
      await store.addPartners(room.id, 'a', 's');
      const seen = await store.updateSwarm(room.id, 'a', (swarm, view) => {
        swarm.finished = 7;
        return [
          view.member,
          view.has('s'),
          view.has('x'),
          view.linkedWith('s'),
          view.linkedWith('a'),
        ];
      });
      assert.deepEqual(seen, [{ peerId: 'a', role: 'recipient' }, true, false, true, false]);
      assert.equal(await store.readSwarm(room.id, (swarm) => swarm.finished), 7);
      const unknown = 'AAAAAAAAAAAAAAAAAAAAAA';
      let ran = 0;
      assert.equal(await store.updateSwarm(room.id, 'x', () => ran++), null);
      assert.equal(await store.updateSwarm(unknown, 'a', () => ran++), null);
      assert.equal(await store.removeMember(unknown, 'a', () => ran++), null);
      assert.equal(await store.tendSwarm(unknown, () => ran++), null);
      assert.equal(ran, 0, 'no step runs for a stranger or a room that is gone');
      // The room's own steps need no member.
      assert.equal(await store.tendSwarm(room.id, (swarm) => ++swarm.finished), 8);
      assert.equal(await store.readSwarm(unknown, () => 1), null);
      // Leaving runs its step on the same swarm, and says what it returned.
      assert.deepEqual(await store.removeMember(room.id, 'a', (swarm) => swarm.finished), {
        partners: ['s'],
        result: 8,
      });
    });

    test('partners are only recorded between two distinct members', async () => {
      const room = await store.createRoom(META);
      await store.addMember(room.id, { peerId: 'a', role: 'recipient' }, 10);
      await store.addPartners(room.id, 'a', 'a');
      await store.addPartners(room.id, 'a', 'stranger');
      await store.addMember(room.id, { peerId: 'stranger', role: 'recipient' }, 10);
      assert.deepEqual((await store.removeMember(room.id, 'a', noStep))?.partners, []);
    });
  });

  swarmSuite(name, factory);
}
