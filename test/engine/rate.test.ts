/** RateMeter: speed over a sliding window, driven by a fake clock. */
import { expect } from '@open-wc/testing';
import { RateMeter } from '../../src/session/rate.js';

describe('RateMeter', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => {
    now = 1000;
  });

  it('reports 0 until two samples span 200 ms', () => {
    const meter = new RateMeter(clock);
    expect(meter.rate).to.equal(0);
    meter.add(0);
    expect(meter.rate).to.equal(0);
    now += 199;
    meter.add(1000);
    expect(meter.rate).to.equal(0);
    now += 1;
    meter.add(1000);
    expect(meter.rate).to.equal(5000);
  });

  it('measures a steady rate', () => {
    const meter = new RateMeter(clock);
    for (let i = 0; i <= 10; i++) {
      meter.add(i * 100_000);
      now += 100;
    }
    expect(meter.rate).to.be.closeTo(1_000_000, 1e-6);
  });

  it('measures a rate sampled every millisecond, up to the latest sample', () => {
    const meter = new RateMeter(clock);
    for (let i = 0; i <= 5000; i++) {
      meter.add(i * 1000);
      if (i < 5000) now += 1;
    }
    expect(meter.rate).to.be.closeTo(1_000_000, 1e-6);
    // The latest sample counts even right after another: 100 kB more in 1 ms lifts the rate
    // over the last ~3 s by about a thirtieth.
    now += 1;
    meter.add(5_000_000 + 101_000);
    expect(meter.rate).to.be.closeTo(1_033_000, 2_000);
  });

  it('forgets samples older than its window, so it follows a change of speed', () => {
    const meter = new RateMeter(clock);
    let total = 0;
    for (let i = 0; i < 50; i++) {
      meter.add(total);
      total += 1_000_000 / 10;
      now += 100;
    }
    expect(meter.rate).to.be.closeTo(1_000_000, 1);
    for (let i = 0; i < 40; i++) {
      meter.add(total);
      total += 10_000 / 10;
      now += 100;
    }
    expect(meter.rate).to.be.closeTo(10_000, 1);
  });

  it('keeps two samples across a long pause and reports the average over it', () => {
    const meter = new RateMeter(clock);
    meter.add(0);
    now += 10_000;
    meter.add(50_000);
    expect(meter.rate).to.equal(5000);
    now += 10_000;
    meter.add(50_000);
    expect(meter.rate, 'stalled: the old sample is dropped').to.equal(0);
  });

  it('starts over after reset', () => {
    const meter = new RateMeter(clock);
    meter.add(0);
    now += 1000;
    meter.add(1_000_000);
    expect(meter.rate).to.equal(1_000_000);
    meter.reset();
    expect(meter.rate).to.equal(0);
    meter.add(1_000_000);
    now += 500;
    meter.add(1_000_500);
    expect(meter.rate).to.equal(1000);
  });
});
