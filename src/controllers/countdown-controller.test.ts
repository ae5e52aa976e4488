import { expect } from '@open-wc/testing';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { CountdownController } from './countdown-controller.js';

/** A host that counts its re-renders. */
class Host implements ReactiveControllerHost {
  updates = 0;
  readonly controllers: ReactiveController[] = [];
  addController(controller: ReactiveController): void {
    this.controllers.push(controller);
  }
  removeController(): void {}
  requestUpdate(): void {
    this.updates++;
  }
  get updateComplete(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

/** Replaces the interval timer with one the test ticks by hand. */
function manualInterval() {
  const real = { set: globalThis.setInterval, clear: globalThis.clearInterval };
  const timer = { tick: null as (() => void) | null, period: 0 };
  globalThis.setInterval = ((fn: () => void, ms: number) => {
    timer.tick = fn;
    timer.period = ms;
    return 1;
  }) as typeof setInterval;
  globalThis.clearInterval = (() => {
    timer.tick = null;
  }) as typeof clearInterval;
  return {
    timer,
    restore() {
      globalThis.setInterval = real.set;
      globalThis.clearInterval = real.clear;
    },
  };
}

describe('CountdownController', () => {
  it('counts whole seconds down from the wait it was given, rounding up', () => {
    let now = 1_000_000;
    const countdown = new CountdownController(new Host(), () => now);
    expect(countdown.seconds).to.equal(null);
    countdown.start(95_400);
    expect(countdown.seconds).to.equal(96);
    now += 400;
    expect(countdown.seconds).to.equal(95);
    now += 94_999;
    expect(countdown.seconds).to.equal(1);
    now += 1;
    expect(countdown.seconds).to.equal(0);
    now += 5_000;
    expect(countdown.seconds, 'never below 0').to.equal(0);
    countdown.stop();
    expect(countdown.seconds).to.equal(null);
  });

  it('re-renders its host each second, once more when the wait is over, then stops', () => {
    const { timer, restore } = manualInterval();
    try {
      let now = 0;
      const host = new Host();
      const countdown = new CountdownController(host, () => now);
      expect(host.controllers).to.deep.equal([countdown]);
      countdown.start(1500);
      expect(timer.period).to.equal(1000);
      const started = host.updates;
      now = 1000;
      timer.tick!();
      expect([countdown.seconds, host.updates - started]).to.deep.equal([1, 1]);
      now = 2000;
      timer.tick!();
      expect([countdown.seconds, host.updates - started]).to.deep.equal([0, 2]);
      expect(timer.tick, 'no tick once the wait is over').to.equal(null);
    } finally {
      restore();
    }
  });

  it('forgets the wait when its host leaves the page', () => {
    const host = new Host();
    const countdown = new CountdownController(host);
    countdown.start(10_000);
    countdown.hostDisconnected();
    expect(countdown.seconds).to.equal(null);
  });
});
