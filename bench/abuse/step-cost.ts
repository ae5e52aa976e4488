/**
 * The cost of one swarm step (server/swarm/steps.ts) in the worst room one client can build:
 * members at the room's limit, every one reporting every other, all but a few waiting. Each step
 * kind is timed many times on that room and on a room of two, in this process.
 */
import { defaultConfig } from '../../server/config.js';
import { emptySwarm, type SwarmState } from '../../server/swarm/state.js';
import { release, report, requestSources, setSeed } from '../../server/swarm/steps.js';
import { percentile } from '../lib/stats.js';

export interface StepTiming {
  p50Us: number;
  p99Us: number;
  /** The same step's p99 in a room of a sharer and one recipient. */
  idleP99Us: number;
}

export interface StepCost {
  members: number;
  waiting: number;
  bans: number;
  sources: StepTiming;
  report: StepTiming;
  release: StepTiming;
}

const peer = (i: number) => `peer-${String(i).padStart(4, '0')}-xxxxxxxxxxxxxxxx`;
const ALL = { have: 'all', seeding: true } as const;
const SOME = { have: 'some', seeding: true } as const;

/** A room of `members` (the first the sharer), `seeds` recipient seeds, everyone banning everyone. */
function buildRoom(members: number, seeds: number, reportAll: boolean): SwarmState {
  const state = emptySwarm();
  const { swarmCapacity, swarmMaxSources } = defaultConfig;
  setSeed(state, { peerId: peer(0), sharer: true }, ALL, swarmCapacity);
  for (let i = 1; i <= seeds; i++) {
    setSeed(state, { peerId: peer(i), sharer: false }, SOME, swarmCapacity);
  }
  if (reportAll) {
    for (let a = 1; a < members; a++) {
      for (let b = 1; b < members; b++) {
        if (a !== b)
          report(state, peer(a), peer(b), { corrupt: false, linked: false, member: true });
      }
    }
  }
  for (let i = seeds + 1; i < members; i++) {
    requestSources(state, peer(i), { exclude: [], max: swarmMaxSources });
  }
  return state;
}

/** One step kind: the timed step, and what restores the room after it (not timed). */
interface StepKind {
  step(state: SwarmState, i: number, members: number): void;
  restore?(state: SwarmState, i: number, members: number): void;
}

function time(state: SwarmState, members: number, kind: StepKind, rounds: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    kind.step(state, i, members);
    out.push((performance.now() - t0) * 1000);
    kind.restore?.(state, i, members);
  }
  return out;
}

function timings(
  worst: SwarmState,
  idle: SwarmState,
  members: number,
  rounds: number,
  kind: StepKind,
): StepTiming {
  // A warm-up pass first, so the figures are of compiled code.
  time(worst, members, kind, Math.min(rounds, 500));
  const hot = time(worst, members, kind, rounds);
  const quiet = time(idle, 2, kind, rounds);
  return {
    p50Us: percentile(hot, 50),
    p99Us: percentile(hot, 99),
    idleP99Us: percentile(quiet, 99),
  };
}

export function measureStepCost(rounds: number): StepCost {
  const members = defaultConfig.maxSocketsPerRoom;
  const seeds = 5;
  const worst = buildRoom(members, seeds, true);
  const idle = buildRoom(2, 0, false);
  const ask = (state: SwarmState, who: string) =>
    requestSources(state, who, { exclude: [], max: defaultConfig.swarmMaxSources });
  const last = (n: number, i: number) => peer(n - 1 - (i % Math.max(1, n - 1 - seeds)));
  return {
    members,
    waiting: worst.queue.length,
    bans: countBans(worst),
    sources: timings(worst, idle, members, rounds, {
      step: (state, i, n) => ask(state, last(n, i)),
    }),
    // Every member already reported every other recipient; this one reports a seed again.
    report: timings(worst, idle, members, rounds, {
      step: (state, i, n) =>
        report(state, last(n, i), peer(1), { corrupt: false, linked: true, member: true }),
    }),
    release: timings(worst, idle, members, rounds, {
      step: (state, i, n) => {
        const who = holder(state) ?? last(n, i);
        release(state, who, sourceOf(state, who) ?? peer(0));
      },
      restore: (state, i, n) => ask(state, last(n, i)),
    }),
  };
}

/** A recipient that holds a source, and one of its sources. */
function holder(state: SwarmState): string | undefined {
  return state.assignments.find((a) => a.downloader !== peer(0))?.downloader;
}
function sourceOf(state: SwarmState, who: string): string | undefined {
  return state.assignments.find((a) => a.downloader === who)?.seed;
}

function countBans(state: SwarmState): number {
  const bans = (state as unknown as { bans: unknown }).bans;
  if (Array.isArray(bans)) return bans.length;
  if (bans && typeof bans === 'object') {
    return Object.values(bans as Record<string, unknown[]>).reduce((n, l) => n + l.length, 0);
  }
  return 0;
}
