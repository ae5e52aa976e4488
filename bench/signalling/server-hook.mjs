// Preloaded (`node --import`) into each server the signalling benchmark starts, so both servers
// run their own code unchanged while the benchmark steers and observes them through signals:
// SIGWINCH runs a full garbage collection (so RSS is read at a settled heap, for both alike) and
// answers once the loop runs on time again;
// SIGUSR2 opens a measuring window (event-loop delay, GC pauses, and a V8 CPU profile when
// $BENCH_CPU_PROFILE names a file), and the next SIGUSR2 closes it and prints `stats {json}`.
// An in-process inspector session drops a post made inside another post's callback, so every
// post here is made from the signal handler itself (they run in order).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';

const session = new Session();
session.connect();

/**
 * Answers once the event loop has run on time for half a second. A forced full collection of a
 * heap holding 10,000 sockets stops the loop for about a second, and the loop then works through
 * what queued meanwhile for up to another second; load started before that would measure the
 * benchmark's own collection as relay latency (its backlog reached into the load window).
 */
function answerWhenSettled(line) {
  const tickMs = 20;
  let last = performance.now();
  let onTime = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    onTime = now - last < tickMs + 5 ? onTime + 1 : 0;
    last = now;
    if (onTime * tickMs >= 500) {
      clearInterval(timer);
      process.stdout.write(line);
    }
  }, tickMs);
}

process.on('SIGWINCH', () => {
  session.post('HeapProfiler.collectGarbage');
  session.post('HeapProfiler.collectGarbage', () => answerWhenSettled('gc done\n'));
});

const profilePath = process.env.BENCH_CPU_PROFILE;
const lag = monitorEventLoopDelay({ resolution: 10 });
let gc = { count: 0, totalMs: 0, maxMs: 0 };
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
});
let open = false;

process.on('SIGUSR2', () => {
  if (!open) {
    open = true;
    gc = { count: 0, totalMs: 0, maxMs: 0 };
    lag.reset();
    lag.enable();
    gcObserver.observe({ entryTypes: ['gc'] });
    if (profilePath) {
      session.post('Profiler.enable');
      session.post('Profiler.setSamplingInterval', { interval: 500 });
      session.post('Profiler.start');
    }
    return;
  }
  open = false;
  lag.disable();
  gcObserver.disconnect();
  const stats = {
    lagP50Ms: lag.percentile(50) / 1e6,
    lagP99Ms: lag.percentile(99) / 1e6,
    lagMaxMs: lag.max / 1e6,
    gcCount: gc.count,
    gcTotalMs: gc.totalMs,
    gcMaxMs: gc.maxMs,
  };
  process.stdout.write(`stats ${JSON.stringify(stats)}\n`);
  if (profilePath) {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(profilePath, JSON.stringify(result.profile));
      process.stdout.write('profile written\n');
    });
  }
});
