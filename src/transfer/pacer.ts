/**
 * The upload limit: one pacer per browser tab, shared by every PieceSender it runs (sharer and
 * seed alike), so the limit holds for the tab's uplink as a whole. Senders reserve bytes before
 * each frame and wait their turn; reservations are served in the order they were made.
 * Hidden tabs wake timers late (at most once a second): the time a sleep overslept is credited
 * back, so a hidden sharer keeps the limit's rate instead of a burst per wake-up.
 */
import { realClock, type Clock } from './clock.js';

/** Bytes that may leave at once after an idle spell, so small bursts are not delayed. */
export const BURST_SECONDS = 0.25;

export class UploadPacer {
  private readonly rate: number;
  /** When the uplink is free again, in the clock's milliseconds. */
  private freeAt = -Infinity;
  /** How late the last sleep woke, in ms: waiting on a timer is not idle time. */
  private late = 0;

  /** `bytesPerSecond` of 0, negative or not finite means no limit. */
  constructor(
    bytesPerSecond: number,
    private readonly clock: Clock = realClock,
  ) {
    this.rate = Number.isFinite(bytesPerSecond) && bytesPerSecond > 0 ? bytesPerSecond : 0;
  }

  get limited(): boolean {
    return this.rate > 0;
  }

  /** Resolves when `bytes` may be sent without passing the limit; undefined: send now. */
  reserve(bytes: number): Promise<void> | undefined {
    if (!this.rate) return undefined;
    const now = this.clock.now();
    // Idle time earns at most a burst's worth of credit (and the last sleep's lateness, once).
    const floor = now - BURST_SECONDS * 1000 - this.late;
    if (floor > this.freeAt) this.late = 0;
    const start = Math.max(this.freeAt, floor);
    this.freeAt = start + (bytes / this.rate) * 1000;
    const wait = start - now;
    if (wait <= 1) return undefined;
    return this.clock.sleep(wait).then(() => {
      this.late = Math.max(0, this.clock.now() - start);
    });
  }
}
