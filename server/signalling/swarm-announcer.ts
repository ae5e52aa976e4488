/**
 * Tells sockets what a swarm step changed: sources to each waiter served (`assigned`), new places
 * to each waiter that moved (`queue`), and the room's counts to the whole room (`swarm`),
 * coalesced so a busy room of many members is never flooded. It keeps one timer per room with
 * counts sent in the last window, and nothing else.
 */
import type { SwarmStats } from '../../protocol/index.js';
import { errorKind, roomTag, type Logger } from '../log.js';
import type { RoomSwarms, SwarmUpdate } from '../swarm/room-swarms.js';
import { sameStats } from '../swarm/steps.js';
import { channel, type Announcer, type SignallingServer } from './context.js';

/**
 * A room's `swarm` counts go out at most this often: the first change at once, later ones
 * within the window together at its end.
 */
export const SWARM_STATS_INTERVAL_MS = 250;

/** A room whose counts went out in the last window: what was sent, and whether more changed. */
interface Window {
  sent: SwarmStats;
  dirty: boolean;
  timer: ReturnType<typeof setTimeout>;
}

export class SwarmAnnouncer implements Announcer {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly io: SignallingServer,
    private readonly swarms: RoomSwarms,
    private readonly logger: Logger,
  ) {}

  /** Tells the sockets concerned; true when the counts went out to the room just now. */
  announce(roomId: string, update: SwarmUpdate): boolean {
    for (const { peerId, sources } of update.served) {
      this.io.to(peerId).emit('assigned', { sources });
    }
    for (const { peerId, position } of update.moved) this.io.to(peerId).emit('queue', { position });
    if (update.served.length > 0) {
      this.logger.debug('swarm.served', { room: roomTag(roomId), waiters: update.served.length });
    }
    return update.statsChanged ? this.#statsChanged(roomId, update.stats) : false;
  }

  /** The room closed: counts waiting for the end of its window go nowhere. */
  forget(roomId: string): void {
    const open = this.#windows.get(roomId);
    if (open) clearTimeout(open.timer);
    this.#windows.delete(roomId);
  }

  #statsChanged(roomId: string, stats: SwarmStats): boolean {
    const open = this.#windows.get(roomId);
    if (open) {
      open.dirty = true;
      return false;
    }
    this.#send(roomId, stats);
    return true;
  }

  /** Sends the counts to the room, which opens a window. */
  #send(roomId: string, stats: SwarmStats): void {
    this.io.to(channel(roomId)).emit('swarm', stats);
    const timer = setTimeout(() => {
      this.#closeWindow(roomId).catch((err: unknown) => {
        this.#windows.delete(roomId);
        this.logger.error('swarm.stats-failed', { kind: errorKind(err) });
      });
    }, SWARM_STATS_INTERVAL_MS);
    // A pending count must not keep a closing process alive.
    timer.unref();
    this.#windows.set(roomId, { sent: stats, dirty: false, timer });
  }

  /** The window ends: what changed within it goes out in one event, which opens the next. */
  async #closeWindow(roomId: string): Promise<void> {
    const open = this.#windows.get(roomId);
    this.#windows.delete(roomId);
    if (!open?.dirty) return;
    const stats = await this.swarms.stats(roomId);
    if (!stats || this.#windows.has(roomId) || sameStats(stats, open.sent)) return;
    this.#send(roomId, stats);
  }
}
