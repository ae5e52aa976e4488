/**
 * The npm package as an application gets it: `npm pack` of the built repository, installed into
 * an empty project with `npm ci --offline` (its lockfile is the repository's, so every dependency
 * comes from the cache the repository's own `npm ci` filled and nothing is downloaded). There the
 * test bundles `p2p-share` and `p2p-share/define` with Rollup and runs the bundle in Chromium
 * against the service started by `npx p2p-share-service`, and type-checks an import of both
 * entries with the installed declarations. Needs `npm run build` first.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import resolve from '@rollup/plugin-node-resolve';
import type { Browser } from 'puppeteer-core';
import { rollup } from 'rollup';
import { closeBrowser, echoConsole, launchBrowser } from '../testing/browsers.js';
import { killProcessGroup, removeTempDir, tempDir } from '../testing/cleanup.js';
import { startHostServer, type HostServer } from '../testing/host-server.js';
import { startServiceProcess, type ServiceProcess } from '../testing/service-process.js';
import { until, withTimeout } from '../testing/wait.js';
import { ERROR_CODES } from '../protocol/errors.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);

let tmp: string | null = null;
let service: ServiceProcess | null = null;
let host: HostServer | null = null;
let browser: Browser | null = null;
after(async () => {
  if (browser) await closeBrowser(browser);
  await host?.close();
  if (service) killProcessGroup(service.proc);
  if (tmp) removeTempDir(tmp);
});

/**
 * The installing project's lockfile: the tarball, then every package the repository's lockfile
 * installs for production (its `dependencies` and what they need), at the same paths.
 */
async function lockfileFor(tarball: string, integrity: string): Promise<object> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const packages: Record<string, unknown> = {
    '': { name: 'app', dependencies: { [pkg.name]: `file:${tarball}` } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: `file:${tarball}`,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages as Record<string, Record<string, true>>))
    if (key.startsWith('node_modules/') && !entry.dev && !entry.devOptional) packages[key] = entry;
  return { name: 'app', lockfileVersion: 3, requires: true, packages };
}

/** What the bundled page checks: `.` registers nothing, `./define` registers the same class. */
const MAIN = `
import { P2PShareElement, ERROR_CODES } from 'p2p-share';
const before = customElements.get('p2p-share');
const define = await import('p2p-share/define');
const el = document.createElement('p2p-share');
el.setAttribute('server', new URLSearchParams(location.search).get('service'));
document.body.append(el);
await el.updateComplete;
window.result = {
  definedBefore: before !== undefined,
  sameClass: customElements.get('p2p-share') === P2PShareElement && define.P2PShareElement === P2PShareElement,
  upgraded: el instanceof P2PShareElement,
  dropzone: el.shadowRoot?.querySelector('[part~="dropzone"]') !== null,
  errorCodes: ERROR_CODES.length,
};
window.link = el.share(new File(['package test'], 'hello.txt'));
`;

/** What a TypeScript application writes: the class, the tag, the events and the errors typed. */
const CHECK_TS = `
import { ERROR_CODES, P2PShareElement, type ErrorCode } from 'p2p-share';
import 'p2p-share/define';

const el: P2PShareElement = document.createElement('p2p-share');
const link: Promise<string> = el.share(new File([], 'a.txt'));
const code: ErrorCode = ERROR_CODES[0];
el.addEventListener('p2p-share-link', (e) => console.log(e.detail.link.length, code, link));
// @ts-expect-error: the element's type is its class, not \`any\`
el.noSuchMethod();
`;

test(
  'the packed package installs offline, bundles, type-checks and starts its service',
  { timeout: 120_000 },
  async () => {
    for (const built of ['dist/lib/define.js', 'dist/types/src/api.d.ts', 'custom-elements.json'])
      assert.ok(existsSync(path.join(ROOT, built)), `${built} is missing: run \`npm run build\``);
    tmp = tempDir('p2p-package-');
    const app = path.join(tmp, 'app');

    const { stdout: packed } = await run('npm', ['pack', '--json', '--pack-destination', tmp], {
      cwd: ROOT,
    });
    const [tarball] = JSON.parse(packed) as [
      { filename: string; integrity: string; files: { path: string }[] },
    ];
    const files = tarball.files.map((f) => f.path);
    for (const needed of [
      'bin/p2p-share-service.js',
      'dist/p2p-share.js',
      'dist/server.js',
      'dist/lib/index.js',
      'dist/lib/define.js',
      'dist/types/src/index.d.ts',
      'custom-elements.json',
      'demo/index.html',
      'README.md',
    ])
      assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
    const stray = files.filter((f) => !/^(bin|dist|demo)\/|^[^/]+\.(json|md)$/.test(f));
    assert.deepEqual(stray, [], 'the tarball holds only what an installer needs');

    await run('mkdir', [app]);
    const lock = await lockfileFor(`../${tarball.filename}`, tarball.integrity);
    const deps = (lock as { packages: Record<string, { dependencies?: object }> }).packages[''];
    await writeFile(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module', ...deps }),
    );
    await writeFile(path.join(app, 'package-lock.json'), JSON.stringify(lock));
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: app });

    // The bin, as `npx` finds it in the project; a drain this short keeps the stop quick, and
    // the log says when it drained.
    service = await startServiceProcess(
      { DRAIN_MS: '1000', LOG_LEVEL: 'info', npm_config_offline: 'true' },
      undefined,
      { command: ['npx', '--no', 'p2p-share-service'], cwd: app },
    );
    const { url: serviceUrl, output } = service;
    await until(async () => (await fetch(`${serviceUrl}/healthz`).catch(() => null))?.ok, {
      timeout: 20_000,
      message: () => `the service never answered /healthz:\n${output()}`,
    });
    const widget = await fetch(`${serviceUrl}/p2p-share.js`);
    assert.equal(widget.status, 200, 'the installed service serves the widget');
    assert.equal(
      (await widget.arrayBuffer()).byteLength,
      (await readFile(path.join(ROOT, 'dist/p2p-share.js'))).byteLength,
    );

    // Rollup with node-resolve, as an application's build would run it.
    await writeFile(path.join(app, 'main.js'), MAIN);
    const bundle = await rollup({
      input: path.join(app, 'main.js'),
      plugins: [resolve({ browser: true, rootDir: app })],
      onwarn: (warning) => assert.fail(`Rollup: ${warning.message}`),
    });
    const out = path.join(app, 'out');
    await bundle.write({ dir: out, format: 'es' });
    await bundle.close();

    host = await startHostServer((req, res) => {
      const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
      if (name === '') {
        res.setHeader('content-type', 'text/html');
        res.end(
          '<!doctype html><link rel="icon" href="data:,"><script type="module" src="/main.js"></script>',
        );
        return;
      }
      readFile(path.join(out, path.basename(name))).then(
        (body) => res.setHeader('content-type', 'text/javascript').end(body),
        () => res.writeHead(404).end(),
      );
    });
    const launched = await launchBrowser('chromium', {
      downloadDir: path.join(tmp, 'downloads'),
      protocolTimeout: 30_000,
    });
    browser = launched.browser;
    const page = launched.page;
    echoConsole(page, '[app]');
    await page.goto(`${host.origin}/?service=${encodeURIComponent(`${serviceUrl}/`)}`);
    await page.waitForFunction(() => 'link' in window, { timeout: 20_000 });
    const result = await page.evaluate(() => (window as unknown as { result: object }).result);
    assert.deepEqual(result, {
      definedBefore: false,
      sameClass: true,
      upgraded: true,
      dropzone: true,
      errorCodes: ERROR_CODES.length,
    });
    // Sharing loads the engine's lazy chunks from the application's bundle and opens a room.
    const link = await page.evaluate(() => (window as unknown as { link: Promise<string> }).link);
    assert.match(link, /#p2p=[A-Za-z0-9_-]{22}\./);

    // The declarations, with the checks a strict application has (library files included).
    await writeFile(path.join(app, 'check.ts'), CHECK_TS);
    await writeFile(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          types: [],
          strict: true,
          noEmit: true,
        },
        files: ['check.ts'],
      }),
    );
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', app]).catch((err: { stdout: string }) =>
      assert.fail(`tsc found errors:\n${err.stdout}`),
    );

    // SIGTERM to the group, as a terminal or process manager sends it: the service drains.
    process.kill(-service.proc.pid!, 'SIGTERM');
    await withTimeout(service.exited, 10_000, 'the service did not stop on SIGTERM');
    await until(() => output().includes('"event":"service.drained"'), {
      message: () => `the service did not drain:\n${output()}`,
    });
  },
);
