/**
 * The attacks of issue 22, as one visitor with a link (and a handful of loopback addresses) runs
 * them against a service. Each sets itself up, then keeps going until its signal aborts; it
 * counts what it sent and what the service refused, so the benchmark can show the attack ran.
 * Run in a process of its own (bench/abuse/attacker.ts), so the attacker's CPU is not the
 * benchmark's and the honest visitor's latency is the service's.
 */
import type { Socket } from 'socket.io-client';
import { delay } from '../../testing/wait.js';
import { ask, connect, createRoom, join, loopback, type Room } from './client.js';

export interface Tally {
  /** Events (or requests) sent. */
  sent: number;
  /** Answers that refused them (rate-limited, limit-exceeded, …) and connections refused. */
  refused: number;
  /** Sockets the service disconnected. */
  dropped: number;
}

export type Attack = (base: string, signal: AbortSignal, tally: Tally) => Promise<void>;

/** A junk envelope: base64url that opens under no key. */
const JUNK = 'o'.repeat(64);

/** Members of one room, spread over `addresses` loopback addresses (from the second on). */
async function fillRoom(
  base: string,
  room: Room,
  count: number,
  addresses: number,
  tally: Tally,
): Promise<Array<{ socket: Socket; peerId: string }>> {
  const joined: Array<{ socket: Socket; peerId: string }> = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      try {
        const socket = await connect(base, loopback(1 + (i % addresses)));
        socket.on('disconnect', () => tally.dropped++);
        joined.push({ socket, peerId: await join(socket, room, 'recipient') });
      } catch {
        tally.refused++;
      }
    }),
  );
  return joined;
}

/** The room an attack targets, with its sharer online (from the first address). */
async function sharedRoom(base: string): Promise<{ room: Room; sharer: Socket }> {
  const room = await createRoom(base, loopback(0));
  const sharer = await connect(base, loopback(0));
  await join(sharer, room, 'sharer');
  return { room, sharer };
}

function closeAll(sockets: Iterable<Socket>): void {
  for (const s of sockets) s.close();
}

/** Row 1: fresh sockets, each sending the sharer one junk offer, on several addresses. */
export const junkOffers: Attack = async (base, signal, tally) => {
  const { room, sharer } = await sharedRoom(base);
  const sharerId = sharer.id!;
  const lanes = Array.from({ length: 8 }, async (_, lane) => {
    while (!signal.aborted) {
      try {
        const socket = await connect(base, loopback(1 + lane));
        await join(socket, room, 'recipient');
        socket.emit('signal', { to: sharerId, envelope: JUNK });
        tally.sent++;
        socket.close();
      } catch {
        tally.refused++;
        await delay(50);
      }
    }
  });
  await Promise.all(lanes);
  sharer.close();
};

/**
 * Row 2: a room at its member limit whose members all report each other, all but a few waiting
 * and asking for sources 20 times a second.
 */
export const banStorm: Attack = async (base, signal, tally) => {
  const { room, sharer } = await sharedRoom(base);
  const members = await fillRoom(base, room, 63, 16, tally);
  const seeds = members.slice(0, 5);
  await Promise.all(
    seeds.map(({ socket }) => ask(socket, 'seed', { have: 'some', seeding: true })),
  );
  await Promise.all(
    members.map(async ({ socket, peerId }) => {
      for (const other of members) {
        if (other.peerId === peerId || signal.aborted) continue;
        const ack = await ask(socket, 'report', {
          peerId: other.peerId,
          reason: 'misbehaved',
        }).catch(() => null);
        tally.sent++;
        if (!ack?.ok) tally.refused++;
      }
    }),
  );
  const waiters = members.slice(5);
  await Promise.all(
    waiters.map(async ({ socket }) => {
      while (!signal.aborted && socket.connected) {
        socket.emit('sources', {}, (ack: { ok: boolean }) => {
          if (!ack.ok) tally.refused++;
        });
        tally.sent++;
        await delay(50);
      }
    }),
  );
  closeAll([sharer, ...members.map((m) => m.socket)]);
};

/**
 * Rows 3 and 4: fake seeds that claim every piece and rotate their ids (every 2 s, ten times as
 * often as the issue's, for churn within a short phase), and slot squatters.
 */
export const fakeSeedsAndSquatters: Attack = async (base, signal, tally) => {
  const { room, sharer } = await sharedRoom(base);
  const squatters = await fillRoom(base, room, 4, 4, tally);
  for (const { socket } of squatters) {
    const ack = await ask(socket, 'sources', {});
    tally.sent++;
    if (!ack.ok) tally.refused++;
  }
  while (!signal.aborted) {
    const seeds = await fillRoom(base, room, 4, 4, tally);
    for (const { socket } of seeds) {
      await ask(socket, 'seed', { have: 'all', seeding: true }).catch(() => tally.refused++);
      tally.sent++;
    }
    await delay(2_000);
    closeAll(seeds.map((s) => s.socket));
  }
  closeAll([sharer, ...squatters.map((s) => s.socket)]);
};

/** Row 5: members from a few addresses fill a plain room and stay. */
export const roomFill: Attack = async (base, signal, tally) => {
  const { room, sharer } = await sharedRoom(base);
  const members = await fillRoom(base, room, 63, 4, tally);
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  closeAll([sharer, ...members.map((m) => m.socket)]);
};

/** A connected socket from `from`, or null (counted as refused) after waiting `backoffMs`. */
async function connectOrWait(
  base: string,
  from: string,
  tally: Tally,
  backoffMs: number,
): Promise<Socket | null> {
  try {
    const socket = await connect(base, from);
    socket.on('disconnect', () => tally.dropped++);
    return socket;
  } catch {
    tally.refused++;
    await delay(backoffMs);
    return null;
  }
}

/** Row 6, first half: one address reconnecting after each burst of events. */
export const reconnectFlood: Attack = async (base, signal, tally) => {
  const lanes = Array.from({ length: 4 }, async () => {
    while (!signal.aborted) {
      const socket = await connectOrWait(base, loopback(1), tally, 20);
      if (!socket) continue;
      for (let i = 0; i < 500 && socket.connected; i++) {
        socket.emit('sources', {}, () => undefined);
        tally.sent++;
      }
      await delay(20);
      socket.close();
    }
  });
  await Promise.all(lanes);
};

/** Row 6, second half: 100 sockets of junk from one address. */
export const socketFlood: Attack = async (base, signal, tally) => {
  const lanes = Array.from({ length: 100 }, async () => {
    while (!signal.aborted) {
      const socket = await connectOrWait(base, loopback(1), tally, 200);
      if (!socket) continue;
      while (!signal.aborted && socket.connected) {
        for (let i = 0; i < 50; i++) socket.emit('junk', { x: i });
        tally.sent += 50;
        await delay(5);
      }
      socket.close();
    }
  });
  await Promise.all(lanes);
};

/** Row 7: one address creates rooms as fast as it is allowed and keeps each with a sharer. */
export const roomHoard: Attack = async (base, signal, tally) => {
  const held: Socket[] = [];
  while (!signal.aborted) {
    try {
      const room = await createRoom(base, loopback(1));
      const sharer = await connect(base, loopback(1));
      held.push(sharer);
      await join(sharer, room, 'sharer');
      tally.sent++;
    } catch {
      tally.refused++;
      await delay(100);
    }
  }
  closeAll(held);
};

export const ATTACKS: Readonly<Record<string, Attack>> = {
  'junk-offers': junkOffers,
  'ban-storm': banStorm,
  'fake-seeds': fakeSeedsAndSquatters,
  'room-fill': roomFill,
  'reconnect-flood': reconnectFlood,
  'socket-flood': socketFlood,
  'room-hoard': roomHoard,
};
