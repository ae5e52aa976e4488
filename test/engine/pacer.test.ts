/**
 * The upload pacer on a fake clock: what it makes senders wait adds up to the limit, several
 * senders share one limit, idle time earns only a short burst, a hidden tab's late timers cost
 * no rate, and no limit means no waiting.
 */
import { expect } from '@open-wc/testing';
import type { Clock } from '../../src/transfer/clock.js';
import { BURST_SECONDS, UploadPacer } from '../../src/transfer/pacer.js';

/** A clock that moves only when a sender sleeps (as if each send waited its turn). */
function fakeClock(): Clock & { slept: number[]; t: number } {
  const clock = {
    t: 1000,
    slept: [] as number[],
    now: () => clock.t,
    sleep: (ms: number) => {
      clock.slept.push(ms);
      clock.t += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

/** A clock whose sleeps wake on the next whole second, as a hidden tab's timers do. */
function hiddenTabClock(): Clock & { wakes: number; t: number } {
  const clock = {
    t: 1000,
    wakes: 0,
    now: () => clock.t,
    sleep: (ms: number) => {
      clock.wakes++;
      clock.t = Math.ceil((clock.t + ms) / 1000) * 1000;
      return Promise.resolve();
    },
  };
  return clock;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** Sends `total` bytes in `chunk`s through `pacer`, waiting whenever it says so. */
async function send(pacer: UploadPacer, total: number, chunk = 64 * KiB): Promise<void> {
  for (let sent = 0; sent < total; sent += chunk) {
    const wait = pacer.reserve(Math.min(chunk, total - sent));
    if (wait) await wait;
  }
}

describe('UploadPacer', () => {
  it('holds one sender to the limit, after a short burst', async () => {
    const clock = fakeClock();
    const pacer = new UploadPacer(MiB, clock);
    const start = clock.t;
    await send(pacer, 4 * MiB);
    const seconds = (clock.t - start) / 1000;
    // 4 MiB at 1 MiB/s, less the burst it may send at once, less the last chunk (sent, not waited for).
    expect(seconds).to.be.closeTo(4 - BURST_SECONDS - 1 / 16, 0.01);
  });

  it('shares one limit between several senders, in the order they asked', () => {
    const clock = fakeClock();
    const pacer = new UploadPacer(2 * MiB, clock);
    const chunk = 64 * KiB;
    const waits: number[] = [];
    // Three senders ask in turn, all at the same instant (nobody has slept yet).
    for (let round = 0; round < 32; round++) {
      for (let sender = 0; sender < 3; sender++) {
        const before = clock.slept.length;
        void pacer.reserve(chunk);
        waits.push(clock.slept.length > before ? clock.slept.at(-1)! : 0);
        clock.t -= waits.at(-1)!; // undo the fake sleep: everyone asked at once
      }
    }
    expect(waits).to.deep.equal(
      [...waits].sort((a, b) => a - b),
      'first asked, first served',
    );
    // 96 chunks of 64 KiB = 6 MiB at 2 MiB/s: the last one goes 3 s later, less the burst and itself.
    expect(waits.at(-1)! / 1000).to.be.closeTo(3 - BURST_SECONDS - 1 / 32, 0.01);
  });

  it('gives idle time back only as a short burst', async () => {
    const clock = fakeClock();
    const pacer = new UploadPacer(MiB, clock);
    await send(pacer, MiB);
    clock.t += 60_000; // a minute idle
    const before = clock.slept.length;
    // A burst's worth goes at once, and so does the chunk that starts right after it…
    expect(pacer.reserve(BURST_SECONDS * MiB)).to.equal(undefined);
    expect(pacer.reserve(64 * KiB)).to.equal(undefined);
    expect(clock.slept.length).to.equal(before);
    // …but the next one waits for the rate again: a minute idle did not earn a minute's worth.
    await pacer.reserve(64 * KiB);
    expect(clock.slept.slice(before)).to.have.length(1);
    expect(clock.slept.at(-1)).to.be.closeTo(62.5, 0.01);
  });

  it('keeps the rate when timers wake late, as in a hidden tab', async () => {
    const clock = hiddenTabClock();
    const pacer = new UploadPacer(MiB, clock);
    const start = clock.t;
    await send(pacer, 8 * MiB);
    const seconds = (clock.t - start) / 1000;
    // 8 MiB at 1 MiB/s: about 8 s, however late each wake-up; one wake-up a second at most.
    expect(seconds).to.be.within(7, 8);
    expect(clock.wakes).to.be.at.most(8);
    // Idle time after it still earns only the burst (and at most one wake-up's lateness).
    clock.t += 60_000;
    let free = 0;
    while (pacer.reserve(64 * KiB) === undefined) free += 64 * KiB;
    expect(free / MiB).to.be.at.most(BURST_SECONDS + 1 + 1 / 16);
  });

  it('does not pace without a limit', () => {
    for (const limit of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const pacer = new UploadPacer(limit, fakeClock());
      expect(pacer.limited).to.equal(false);
      expect(pacer.reserve(100 * MiB)).to.equal(undefined);
    }
  });
});
