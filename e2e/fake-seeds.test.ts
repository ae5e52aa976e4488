/**
 * Claims are proven before they are trusted, end to end: a link holder's sockets (Node clients,
 * each address a loopback address of its own) announce themselves as seeds with every piece and
 * never answer, rotating their ids, while others take every slot of the sharer, never connect
 * and report a verified piece from it all the same. An honest recipient in a real browser still
 * gets the file within the widget's connect timeout plus 5 s: only the sharer's word keeps a
 * slot. Then one address cannot fill the room, a room filled from several addresses still lets
 * its sharer back in, and a new recipient gets in while one address floods.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, type Ack } from '../protocol/index.js';
import { makeRandomFile, MiB } from '../testing/files.js';
import { until } from '../testing/wait.js';
import { downloadAndVerify, openLink, roomOf, share } from './lib/transfer.js';
import { log, useE2E } from './lib/world.js';

/** The widget's link connect timeout (src/rtc/peer-link.ts). */
const CONNECT_TIMEOUT_S = 30;
const ROOM_MAX = 20;
const PER_ADDRESS = 4;
/** How often the fake seeds take new ids, as the attack in issue 22 did. */
const ROTATE_MS = 20_000;

const env = useE2E({
  config: { maxSocketsPerRoom: ROOM_MAX, maxSocketsPerAddressPerRoom: PER_ADDRESS },
});

const opened: Socket[] = [];

/** A raw Socket.IO client from loopback address `from`, as an attacker's script would open. */
async function connectFrom(from: string): Promise<Socket> {
  const socket = io(env.serviceUrl, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    localAddress: from,
  } as Parameters<typeof io>[1]);
  opened.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

const send = (socket: Socket, event: string, payload: object) =>
  socket.timeout(5_000).emitWithAck(event, payload) as Promise<Ack<object>>;

async function joinFrom(from: string, roomId: string): Promise<{ socket: Socket; ack: Ack }> {
  const socket = await connectFrom(from);
  const ack = await send(socket, 'join', { v: PROTOCOL_VERSION, roomId, role: 'recipient' });
  return { socket, ack };
}

/** A fake seed: joins, says it has every piece and seeds, and answers nobody. */
async function fakeSeed(from: string, roomId: string): Promise<Socket> {
  const { socket, ack } = await joinFrom(from, roomId);
  assert.equal(ack.ok, true, `fake seed joins: ${JSON.stringify(ack)}`);
  assert.deepEqual(await send(socket, 'seed', { have: 'all', seeding: true }), { ok: true });
  return socket;
}

test(
  'fake seeds and squatters slow an honest download by at most the connect timeout; the sharer and newcomers get in',
  { timeout: 150_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'claims.bin', 2 * MiB);
    const [sharer, honest] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'honest'),
    ]);
    const link = await share(sharer, file);
    const roomId = roomOf(link);
    const sharerId = (await env.service.store.getRoom(roomId))?.sharerPeerId;
    assert.ok(sharerId, 'the sharer is online');

    // Four squatters take every slot of the sharer, never connect, and say they verified a
    // piece from it (which kept a slot for as long as they stayed when the service took it).
    const squatters: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { socket, ack } = await joinFrom('127.0.0.2', roomId);
      assert.equal(ack.ok, true);
      assert.deepEqual(await send(socket, 'sources', { max: 1 }), {
        ok: true,
        sources: [sharerId],
      });
      const good = await send(socket, 'report', { peerId: sharerId, reason: 'good' });
      assert.deepEqual(good, { ok: true });
      squatters.push(socket.id!);
    }
    // Four fake seeds claim the whole file, and take new ids every ROTATE_MS.
    let fakes = await Promise.all([1, 2, 3, 4].map(() => fakeSeed('127.0.0.3', roomId)));
    let rotating = Promise.resolve();
    let rotations = 0;
    const rotation = setInterval(() => {
      rotating = (async () => {
        for (const fake of fakes) fake.disconnect();
        // From the next address, so the old sockets' places need not be free yet.
        const from = `127.0.0.${++rotations % 2 === 1 ? 13 : 3}`;
        fakes = await Promise.all(fakes.map(() => fakeSeed(from, roomId)));
        log('fake seeds rotated');
      })();
    }, ROTATE_MS);
    try {
      const swarm = await env.service.swarms.inspect(roomId);
      assert.deepEqual(
        swarm?.seeds.filter((s) => !s.proven).length,
        4,
        'the fakes are seeds on probation',
      );
      assert.equal((await env.service.swarms.stats(roomId))?.finished, 0, 'none counts finished');

      await openLink(honest, link, file);
      const { seconds } = await downloadAndVerify(honest, file, (CONNECT_TIMEOUT_S + 20) * 1000);
      log(`honest download with fake seeds and squatters: ${seconds.toFixed(1)} s`);
      assert.ok(
        seconds <= CONNECT_TIMEOUT_S + 5,
        `took ${seconds.toFixed(1)} s, past the connect timeout + 5 s`,
      );
      const leases = (await env.service.swarms.inspect(roomId))?.leases ?? {};
      assert.deepEqual(
        squatters.filter((id) => Object.hasOwn(leases, id)),
        [],
        'no squatter holds a slot past its lease',
      );
    } finally {
      clearInterval(rotation);
      await rotating;
    }

    // One address cannot fill the room: past its cap, its joins are refused.
    const flood = await Promise.all(
      Array.from({ length: PER_ADDRESS + 2 }, () => joinFrom('127.0.0.4', roomId)),
    );
    const joined = flood.filter(({ ack }) => ack.ok).length;
    assert.equal(joined, PER_ADDRESS, 'an address holds its cap of places');
    for (const { ack } of flood.filter(({ ack }) => !ack.ok)) {
      assert.equal(!ack.ok && ack.error.code, 'limit-exceeded');
    }
    // So a newcomer still gets in (and gets the file).
    const newcomer = await env.launch('chromium', 'newcomer');
    await openLink(newcomer, link, file);
    await downloadAndVerify(newcomer, file, 60_000);

    // Several addresses fill every recipient place.
    let address = 5;
    for (;;) {
      const { ack } = await joinFrom(`127.0.0.${address}`, roomId);
      if (!ack.ok) {
        assert.equal(ack.error.code, 'limit-exceeded');
        if (ack.error.message.includes('network')) {
          address++;
          continue;
        }
        break;
      }
    }
    const members = await env.service.store.listMembers(roomId);
    assert.equal(members.length, ROOM_MAX, 'the room is full');

    // The sharer's connection drops; it reconnects and rejoins with its token all the same.
    env.service.io.sockets.sockets.get(sharerId)?.conn.close();
    const back = await until(
      async () => {
        const room = await env.service.store.getRoom(roomId);
        return room?.sharerPeerId && room.sharerPeerId !== sharerId ? room.sharerPeerId : null;
      },
      { timeout: 20_000, message: () => 'the sharer did not get back into its full room' },
    );
    const pool = await env.service.swarms.inspect(roomId);
    assert.ok(
      pool?.seeds.some((s) => s.peerId === back && s.sharer),
      'and serves again',
    );
    for (const socket of opened) socket.disconnect();
  },
);
