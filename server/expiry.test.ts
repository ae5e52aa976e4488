import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { PROTOCOL_VERSION, type Ack } from '../protocol/index.js';
import {
  join,
  nextEvent,
  request,
  sleep,
  startClockedService,
  startService,
  SweepCountingStore,
  waitFor,
  type Harness,
} from './test-support.js';

const GRACE = 60_000;
const MAX_AGE = 600_000;
const SWEEP_MS = 20;

describe('room expiry', () => {
  let h: Harness;
  let store: SweepCountingStore;
  let clock = 0;

  before(async () => {
    ({ h, store } = await startClockedService(() => clock, {
      roomGraceMs: GRACE,
      roomMaxAgeMs: MAX_AGE,
      sweepIntervalMs: SWEEP_MS,
    }));
  });
  beforeEach(() => {
    clock = 1_700_000_000_000;
  });
  after(() => h.close());

  const status = async (roomId: string) => (await fetch(`${h.url}/rooms/${roomId}`)).status;

  test('a room lives for the grace period after its sharer left, then closes', async () => {
    const room = await h.createRoom();
    const sharer = await h.connect();
    const recipient = await h.connect();
    await join(sharer, room.roomId, 'sharer', room.sharerToken);
    await join(recipient, room.roomId);

    clock += GRACE * 3;
    sharer.disconnect();
    await waitFor(async () => (await h.service.store.getRoom(room.roomId))?.sharerPeerId === null);
    const left = clock;

    clock = left + GRACE - 1;
    await store.nextSweep();
    assert.equal(await status(room.roomId), 200, 'still there just before the grace period ends');

    const closed = nextEvent(recipient, 'room-closed');
    clock = left + GRACE;
    assert.deepEqual(await closed, { reason: 'expired' });
    assert.equal(await status(room.roomId), 404);
    recipient.disconnect();
  });

  test('a room whose sharer stays online lives until its maximum age', async () => {
    const room = await h.createRoom();
    const sharer = await h.connect();
    await join(sharer, room.roomId, 'sharer', room.sharerToken);
    const createdAt = clock;

    clock = createdAt + MAX_AGE - 1;
    await store.nextSweep();
    assert.equal(await status(room.roomId), 200);

    const closed = nextEvent(sharer, 'room-closed');
    clock = createdAt + MAX_AGE;
    assert.deepEqual(await closed, { reason: 'expired' });
    assert.equal(await status(room.roomId), 404);
    sharer.disconnect();
  });

  test('a room whose sharer never joins expires after the grace period', async () => {
    const room = await h.createRoom();
    assert.equal(room.expiresAt, clock + GRACE);
    const recipient = await h.connect();
    await join(recipient, room.roomId);
    const closed = nextEvent(recipient, 'room-closed');
    clock += GRACE;
    assert.deepEqual(await closed, { reason: 'expired' });
    assert.equal(await status(room.roomId), 404);
    recipient.disconnect();
  });

  test('a sharer that reconnects within the grace period keeps its room', async () => {
    const room = await h.createRoom();
    const first = await h.connect();
    await join(first, room.roomId, 'sharer', room.sharerToken);
    first.disconnect();
    await waitFor(async () => (await h.service.store.getRoom(room.roomId))?.sharerPeerId === null);

    clock += GRACE - 1;
    const again = await h.connect();
    await join(again, room.roomId, 'sharer', room.sharerToken);
    clock += GRACE * 2;
    await store.nextSweep();
    assert.equal(await status(room.roomId), 200);
    again.disconnect();
  });

  test('a socket whose room closed may join another', async () => {
    const old = await h.createRoom();
    const socket = await h.connect();
    await join(socket, old.roomId);
    const closed = nextEvent(socket, 'room-closed');
    clock += GRACE;
    await closed;

    const fresh = await h.createRoom();
    const ack = (await request(socket, 'join', {
      v: PROTOCOL_VERSION,
      roomId: fresh.roomId,
      role: 'recipient',
    })) as Ack<{ peerId: string }>;
    assert.deepEqual(ack, { ok: true, peerId: socket.id });
    socket.disconnect();
  });

  test('the sweeper runs while listening and stops on close', async () => {
    const counting = new SweepCountingStore({ roomGraceMs: GRACE, roomMaxAgeMs: MAX_AGE });
    const other = await startService({ config: { sweepIntervalMs: SWEEP_MS }, store: counting });
    await waitFor(() => counting.sweeps >= 2);
    await other.close();
    const atClose = counting.sweeps;
    // Nothing can mark the absence of a timer; five of its intervals without a sweep will do.
    await sleep(SWEEP_MS * 5);
    assert.equal(counting.sweeps, atClose);
    assert.equal(other.service.httpServer.listening, false);
  });
});
