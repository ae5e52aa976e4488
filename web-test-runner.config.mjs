// Browser tests (element, sinks, anything under src/) in the system Chromium, one file at a time
// (two cores). Tests that need the real signalling service fetch `/__service-url`: the service is
// started on a free port on first request and closed when the run ends.
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';

const root = new URL('./', import.meta.url);

/** Starts `createService()` from server/service.ts lazily, so runs that never ask pay nothing. */
function realService() {
  let starting = null;
  let service = null;

  async function start() {
    const { tsImport } = await import('tsx/esm/api');
    const { createService } = await tsImport('./server/service.ts', import.meta.url);
    const { defaultConfig } = await tsImport('./server/config.ts', import.meta.url);
    service = createService({ config: { ...defaultConfig, logLevel: 'warn' } });
    const { url } = await service.listen(0, '127.0.0.1');
    return url;
  }

  return {
    middleware: async (ctx, next) => {
      if (ctx.path !== '/__service-url') return next();
      starting ??= start();
      try {
        ctx.body = { url: await starting };
      } catch (err) {
        ctx.status = 503;
        ctx.body = { error: `The signalling service did not start: ${err?.stack ?? err}` };
      }
    },
    plugin: {
      name: 'p2p-share-real-service',
      async serverStop() {
        if (!starting) return;
        await starting.catch(() => {});
        await service?.close();
      },
    },
  };
}

const service = realService();

export default {
  rootDir: fileURLToPath(root),
  files: ['src/**/*.test.ts', 'test/element/**/*.test.ts', 'test/sinks/**/*.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      },
    }),
  ],
  middleware: [service.middleware],
  plugins: [
    esbuildPlugin({ ts: true, tsconfig: fileURLToPath(new URL('./tsconfig.json', root)) }),
    service.plugin,
  ],
  testFramework: { config: { timeout: 10000 } },
};
