/**
 * Process liveness over a shared store (see `ProcessLiveness` in ./store/store.ts): every
 * heartbeat period this process renews its heartbeat, then takes out of their rooms the members
 * of processes whose heartbeat is gone, as their departures would have (partners hear
 * `peer-left`, the queue moves, places free). A process that learns it was given up while cut
 * off sends its sockets in rooms to join again, since their members are gone.
 */
import { errorKind, roomTag, type Logger } from './log.js';
import type { Orphan, ProcessLiveness } from './store/store.js';

/** Batches of orphans one period takes at most; the next period goes on. */
const MAX_ROUNDS = 100;

export interface LivenessOptions {
  liveness: ProcessLiveness;
  logger: Logger;
  /** Takes a member of a dead process out of its room, as a departure. */
  depart: (orphan: Orphan) => Promise<void>;
  /** This process was given up: its sockets in rooms must join again (under its new id). */
  rejoinAll: () => void;
}

export interface Liveness {
  /** Beats now, then every period, and cleans up after dead processes. */
  start(): void;
  /** Stops the timer (a clean exit then calls `retire`; a crash does neither). */
  stop(): void;
  /** Deletes this process's heartbeat, so others need not wait for it to expire. */
  retire(): Promise<void>;
}

export function processLiveness(options: LivenessOptions): Liveness {
  const { liveness, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  /** Since when every beat succeeded (null: the last one failed, or none was made yet). */
  let beatingSince: number | null = null;

  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const alive = await liveness.beat();
      beatingSince ??= performance.now();
      if (!alive) {
        logger.warn('process.given-up', { processId: liveness.processId });
        options.rejoinAll();
      }
      // After Redis was away, other live processes need a beat's time to renew heartbeats that
      // lapsed meanwhile: only a process that beat without a gap for a whole TTL cleans up.
    } catch (err) {
      beatingSince = null;
      logger.debug('process.beat-failed', { kind: errorKind(err) });
    }
    try {
      if (beatingSince !== null && performance.now() - beatingSince >= liveness.ttlMs) {
        await clean();
      }
    } catch (err) {
      logger.warn('process.clean-failed', { kind: errorKind(err) });
    } finally {
      running = false;
    }
  };

  const clean = async () => {
    for (let round = 0; round < MAX_ROUNDS && timer; round++) {
      // A claim lasts one TTL: a cleaner that dies meanwhile passes the process on.
      const orphans = await liveness.claimOrphans(liveness.ttlMs);
      for (const orphan of orphans) {
        logger.info('process.orphan-left', { room: roomTag(orphan.roomId), role: orphan.role });
        await options.depart(orphan);
      }
      if (orphans.length === 0) return;
    }
  };

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => void tick(), liveness.intervalMs);
      timer.unref();
      void tick();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    async retire() {
      await liveness.retire();
    },
  };
}
