/**
 * The service's entry point (bundled to dist/server.js, run by `npm start`): reads the
 * configuration, starts listening, says what is in force, and on SIGTERM or SIGINT drains
 * (docs/operations.md) within `DRAIN_MS`, then exits 0; a second signal exits at once. A bad
 * configuration ends the process with exit code 78 (EX_CONFIG) and one line per problem.
 */
import { ConfigError, loadConfig, type Config } from './config.js';
import { startupSummary } from './summary.js';
import { createService } from './service.js';

/** sysexits.h: "configuration error". */
const EX_CONFIG = 78;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(EX_CONFIG);
  }

  const service = createService({ config });
  const { url, metricsUrl } = await service.listen();
  const metrics = metricsUrl
    ? `  metrics: ${metricsUrl}${config.metricsToken === null ? '' : ', and /metrics with METRICS_TOKEN'}`
    : config.metricsToken === null
      ? '  metrics: off (set METRICS_TOKEN or METRICS_PORT)'
      : '  metrics: /metrics with METRICS_TOKEN';
  const summary = [
    ...startupSummary(config, url),
    metrics,
    `  drain on SIGTERM: ${config.drainMs} ms`,
  ];
  process.stdout.write(`${summary.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means "now".
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`${signal}: shutting down within ${config.drainMs} ms\n`);
    // The drain closes by its deadline; this is for a close that hangs past it.
    const force = setTimeout(() => process.exit(1), config.drainMs + 5_000);
    force.unref();
    service.drain().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`p2p-share service failed to start: ${String(err)}\n`);
  process.exit(1);
});
