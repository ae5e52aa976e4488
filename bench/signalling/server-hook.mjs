// Preloaded (`node --import`) into each server the signalling benchmark starts, so both servers
// run their own code unchanged while the benchmark can steer them through signals:
// SIGWINCH runs a full garbage collection (so RSS is read at a settled heap, for both alike);
// SIGUSR2 starts a V8 CPU profile, and the next SIGUSR2 writes it to $BENCH_CPU_PROFILE.
// An in-process inspector session drops a post made inside another post's callback, so every
// post here is made from the signal handler itself (they run in order).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();

process.on('SIGWINCH', () => {
  session.post('HeapProfiler.collectGarbage');
  session.post('HeapProfiler.collectGarbage', () => process.stdout.write('gc done\n'));
});

const out = process.env.BENCH_CPU_PROFILE;
let profiling = false;
process.on('SIGUSR2', () => {
  if (!out) return;
  if (!profiling) {
    profiling = true;
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 500 });
    session.post('Profiler.start');
    return;
  }
  profiling = false;
  session.post('Profiler.stop', (err, result) => {
    if (!err) writeFileSync(out, JSON.stringify(result.profile));
    process.stdout.write('profile written\n');
  });
});
