/**
 * The service's entry point (bundled to dist/server.js, run by `npm start`): reads the
 * configuration, starts listening, says what is in force, and shuts down cleanly on SIGINT or
 * SIGTERM. A bad configuration ends the process with exit code 78 (EX_CONFIG) and the reason.
 */
import { ConfigError, loadConfig, type Config } from './config.js';
import { redisLimits } from './limits-redis.js';
import { createLogger } from './log.js';
import { connectRedis } from './redis.js';
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

  // With REDIS_URL the limits are counted in Redis, for every process together; config
  // validation has made sure TOKEN_SECRET is set, which also keys the hashed addresses there.
  const redis =
    config.redisUrl === null
      ? null
      : connectRedis(config.redisUrl, createLogger({ level: config.logLevel }));
  const limits =
    redis && config.tokenSecret !== null
      ? redisLimits({ redis, secret: config.tokenSecret, roomMaxAgeMs: config.roomMaxAgeMs })
      : undefined;
  const service = createService({ config, limits });
  const { url } = await service.listen();
  process.stdout.write(`${startupSummary(config, url).join('\n')}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means "now".
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`${signal}: shutting down\n`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    service.close().then(
      () => {
        redis?.disconnect();
        process.exit(0);
      },
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
