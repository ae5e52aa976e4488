/**
 * The cost of one swarm step in the worst room one client can build: members at the room's
 * limit, every recipient reporting every other, all but a few waiting. Each step kind is timed
 * many times through RoomSwarms over the memory store (the path the service takes), on that room
 * and on a room of a sharer and one recipient, in this process.
 */
import { defaultConfig } from '../../server/config.js';
import { MemoryRoomStore } from '../../server/store/memory.js';
import { RoomSwarms } from '../../server/swarm/room-swarms.js';
import { percentile } from '../lib/stats.js';

export interface StepTiming {
  p50Us: number;
  p99Us: number;
  /** The same step's p99 in a room of a sharer and one recipient. */
  idleP99Us: number;
}

export type StepKind = 'sources' | 'release' | 'report' | 'seed';

export type StepCost = { members: number; waiting: number; bans: number } & Record<
  StepKind,
  StepTiming
>;

const META = 'c2VhbGVkLW1ldGE';
const SOME = { have: 'some', seeding: true } as const;

interface Room {
  swarms: RoomSwarms;
  store: MemoryRoomStore;
  roomId: string;
  recipients: string[];
  tick(): void;
}

/** A room of `members` (the first the sharer); with `reportAll`, every recipient bans every other. */
async function buildRoom(members: number, reportAll: boolean): Promise<Room> {
  let clock = 1_700_000_000_000;
  const now = () => clock;
  const store = new MemoryRoomStore({ roomGraceMs: 60_000, roomMaxAgeMs: 24 * 3600_000, now });
  // No per-room event budget (RoomSwarms' default): the step is timed, not the service's limit.
  const swarms = new RoomSwarms(store, { now });
  const { maxSocketsPerRoom: limit, swarmCapacity, swarmMaxSources } = defaultConfig;
  const roomId = (await store.createRoom(META)).id;
  await store.addMember(roomId, { peerId: 'S', role: 'sharer' }, limit);
  await store.setSharerOnline(roomId, 'S');
  await swarms.setSeed(roomId, 'S', { have: 'all', seeding: true }, swarmCapacity);
  const recipients = Array.from({ length: members - 1 }, (_, i) => `r${i}`);
  for (const peerId of recipients) {
    await store.addMember(roomId, { peerId, role: 'recipient' }, limit);
    await swarms.setSeed(roomId, peerId, SOME, swarmCapacity);
  }
  if (reportAll) {
    for (const reporter of recipients) {
      for (const other of recipients) {
        if (other !== reporter) await swarms.report(roomId, reporter, other, 'misbehaved');
      }
    }
  }
  for (const peerId of recipients) {
    await swarms.requestSources(roomId, peerId, { exclude: [] }, swarmMaxSources);
  }
  return { swarms, store, roomId, recipients, tick: () => void (clock += 1) };
}

async function timeSteps(room: Room, rounds: number): Promise<Record<StepKind, number[]>> {
  const { swarms, roomId, recipients } = room;
  const { swarmMaxSources } = defaultConfig;
  const times: Record<StepKind, number[]> = { sources: [], release: [], report: [], seed: [] };
  const time = async (kind: StepKind, run: () => Promise<unknown>) => {
    const start = performance.now();
    await run();
    times[kind].push((performance.now() - start) * 1000);
  };
  for (let i = 0; i < rounds; i++) {
    room.tick();
    const swarm = (await swarms.inspect(roomId))!;
    const waiter = swarm.queue[i % Math.max(1, swarm.queue.length)]?.peerId ?? recipients[0]!;
    const downloader = Object.keys(swarm.leases)[0] ?? recipients[0]!;
    // A waiter asks again, as the attack's waiters did 20 times a second each.
    await time('sources', () =>
      swarms.requestSources(roomId, waiter, { exclude: [] }, swarmMaxSources),
    );
    // A downloader lets the sharer go: the head of the queue is served past every ban.
    await time('release', () => swarms.release(roomId, downloader, 'S'));
    await time('report', () =>
      swarms.report(roomId, waiter, recipients[i % recipients.length]!, 'misbehaved'),
    );
    await time('seed', () => swarms.setSeed(roomId, waiter, SOME, defaultConfig.swarmCapacity));
    // The one that let go asks again, so the room stays as bad as it was.
    await swarms.requestSources(roomId, downloader, { exclude: [] }, swarmMaxSources);
  }
  return times;
}

export async function measureStepCost(rounds: number): Promise<StepCost> {
  const members = defaultConfig.maxSocketsPerRoom;
  const worst = await buildRoom(members, true);
  const idle = await buildRoom(2, false);
  try {
    const swarm = (await worst.swarms.inspect(worst.roomId))!;
    const bans = Object.values(swarm.bans).reduce((n, list) => n + list.length, 0);
    const waiting = swarm.queue.length;
    // A warm-up pass first, so the figures are of compiled code.
    await timeSteps(worst, Math.min(rounds, 500));
    const hot = await timeSteps(worst, rounds);
    const quiet = await timeSteps(idle, rounds);
    const timing = (kind: StepKind): StepTiming => ({
      p50Us: percentile(hot[kind], 50),
      p99Us: percentile(hot[kind], 99),
      idleP99Us: percentile(quiet[kind], 99),
    });
    return {
      members,
      waiting,
      bans,
      sources: timing('sources'),
      release: timing('release'),
      report: timing('report'),
      seed: timing('seed'),
    };
  } finally {
    for (const room of [worst, idle]) {
      room.swarms.close();
      await room.store.close();
    }
  }
}
