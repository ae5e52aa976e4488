// Preloaded (`node --import`) into a signalling benchmark server when profiling: the first
// SIGUSR2 starts a V8 CPU profile, the second writes it to $BENCH_CPU_PROFILE. The server's own
// code runs unchanged, and the profile covers only the load phase, not start-up or connecting.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.BENCH_CPU_PROFILE;
if (out) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 500 }, () =>
          session.post('Profiler.start'),
        ),
      );
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(out, JSON.stringify(result.profile));
      process.stdout.write('profile written\n');
    });
  });
}
