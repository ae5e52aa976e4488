// Browser tests (test/engine, test/element, test/sinks, and *.test.ts under src/) in the system Chromium, one file at a time
// (two cores). Tests that need the real signalling service fetch `/__service-url`: the service is
// started on a free port on first request and closed when the run ends.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { tsImport } from 'tsx/esm/api';

// The same executable and flags as the end-to-end tests and the benchmarks.
const { CHROME_PATH, CHROMIUM_ARGS } = await tsImport(
  './testing/browser-options.ts',
  import.meta.url,
);

const root = new URL('./', import.meta.url);

/**
 * The dev server's node-resolve, like the bundle's (see rollup.config.mjs), ignores a package's
 * `browser` field for files of packages entered through `exports`; engine.io-client's Node
 * transports then reach the browser. This serves the browser file in their place.
 */
function browserFieldFiles() {
  const rootDir = fileURLToPath(root);
  const maps = new Map();
  const mapOf = (pkgDir) => {
    if (!maps.has(pkgDir)) {
      const field = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).browser;
      maps.set(pkgDir, field && typeof field === 'object' ? field : {});
    }
    return maps.get(pkgDir);
  };
  return {
    name: 'browser-field-files',
    serve(context) {
      const at = context.path.lastIndexOf('/node_modules/');
      if (at < 0) return undefined;
      const rest = context.path.slice(at + '/node_modules/'.length).split('/');
      const nameLength = rest[0].startsWith('@') ? 2 : 1;
      const pkgDir = join(
        rootDir,
        context.path.slice(0, at),
        'node_modules',
        ...rest.slice(0, nameLength),
      );
      const target = mapOf(pkgDir)[`./${rest.slice(nameLength).join('/')}`];
      if (target === false) return { body: 'export default {};', type: 'js' };
      if (typeof target !== 'string') return undefined;
      return { body: readFileSync(join(pkgDir, target), 'utf8'), type: 'js' };
    },
  };
}

/** Starts `createService()` from server/service.ts lazily, so runs that never ask pay nothing. */
function realService() {
  let starting = null;
  let service = null;

  async function start() {
    const { createService } = await tsImport('./server/service.ts', import.meta.url);
    const { defaultConfig } = await tsImport('./server/config.ts', import.meta.url);
    // Every test's browser comes from one address, one test after another: the per-address
    // budgets are for a client, not for a whole test run.
    const loose = {
      liveRoomsPerAddress: 100_000,
      socketsPerAddress: 100_000,
      maxSocketsPerAddressPerRoom: 100_000,
      connectionsPerAddress: 100_000,
      addressMessagesPerSecond: 100_000,
      addressMessageBurst: 1_000_000,
    };
    service = createService({ config: { ...defaultConfig, ...loose, logLevel: 'warn' } });
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
  files: [
    'src/**/*.test.ts',
    'test/element/**/*.test.ts',
    'test/sinks/**/*.test.ts',
    'test/engine/**/*.test.ts',
  ],
  // Browser builds of dependencies, as in the bundle: socket.io-client's Node and development
  // builds import CommonJS (`debug`, `ws`) that a browser cannot load unbundled.
  nodeResolve: { browser: true, exportConditions: ['browser', 'production'] },
  concurrency: 1,
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: CHROME_PATH,
        headless: true,
        args: [...CHROMIUM_ARGS],
      },
    }),
  ],
  middleware: [service.middleware],
  plugins: [
    browserFieldFiles(),
    esbuildPlugin({ ts: true, tsconfig: fileURLToPath(new URL('./tsconfig.json', root)) }),
    service.plugin,
  ],
  testFramework: { config: { timeout: 10000 } },
};
