// `npm test` (= `npm run verify`): everything that proves the product works, in order, stopping at
// the first failure: format, lint, types, build, docs, size, then the server, element and e2e tests.
// It first makes sure the programs its stages need are installed (the two browsers the element and
// end-to-end tests drive, ffmpeg for the media fixtures), installing them with apt when run as
// root, as CI is, or naming the command to run; then it runs the stages below and ends
// with one `N passed, N failed` line that adds up the tests of every stage that ran. A full run
// first refuses test files that no stage would run.
//
//   npm test                      every stage, in order (what CI runs)
//   npm test -- server element    only the named stages, still in order (local convenience)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The stages, in the order they run. `counts` says how a stage's tests are counted: 'tap' for
 * Node's test runner (scripts/node-test.mjs writes a TAP copy), 'wtr' for web-test-runner's
 * progress lines; a stage without counts is one check that passes or fails.
 */
const STAGES = [
  { name: 'format', script: 'format:check' },
  { name: 'lint', script: 'lint' },
  { name: 'types', script: 'typecheck' },
  { name: 'build', script: 'build' },
  { name: 'docs', script: 'docs:check' },
  { name: 'size', script: 'size' },
  { name: 'server', script: 'test:server', counts: 'tap' },
  { name: 'element', script: 'test:element', counts: 'wtr' },
  { name: 'e2e', script: 'test:e2e', counts: 'tap' },
];

/** The programs the stages need, from Debian: each stage that uses one, and where it is. */
const TOOLS = [
  { env: 'CHROME_PATH', path: '/usr/bin/chromium', pkg: 'chromium', stages: ['element', 'e2e'] },
  {
    env: 'FIREFOX_PATH',
    path: '/usr/bin/firefox-esr',
    pkg: 'firefox-esr',
    stages: ['element', 'e2e'],
  },
  // Media fixtures are made at test time (testing/media.ts), never downloaded.
  { env: 'FFMPEG_PATH', path: '/usr/bin/ffmpeg', pkg: 'ffmpeg', stages: ['server', 'e2e'] },
  // The Redis store, adapter and limits run against a real server (testing/redis.ts).
  {
    env: 'REDIS_SERVER_PATH',
    path: '/usr/bin/redis-server',
    pkg: 'redis-server',
    stages: ['server', 'e2e'],
  },
  // Relayed connections go through a real TURN server; several processes through a balancer.
  { env: 'TURNSERVER_PATH', path: '/usr/bin/turnserver', pkg: 'coturn', stages: ['e2e'] },
  { env: 'HAPROXY_PATH', path: '/usr/sbin/haproxy', pkg: 'haproxy', stages: ['e2e'] },
  // The outage tests put browsers in network namespaces (netns.ts) and shape the path with a
  // netfilter queue, whose verdicts a python3 script takes (path-shaper.py).
  { env: 'IP_PATH', path: '/usr/sbin/ip', pkg: 'iproute2', stages: ['e2e'] },
  { env: 'IPTABLES_PATH', path: '/usr/sbin/iptables', pkg: 'iptables', stages: ['e2e'] },
  { env: 'PYTHON_PATH', path: '/usr/bin/python3', pkg: 'python3', stages: ['e2e'] },
];

function log(message) {
  console.log(`\n▶ test: ${message}`);
}

/**
 * Resolves each program the chosen stages need, installing Debian's packages when root and
 * missing.
 */
function ensureTools(stageNames) {
  const resolved = TOOLS.filter((t) => t.stages.some((s) => stageNames.includes(s))).map((b) => ({
    ...b,
    path: process.env[b.env] || b.path,
  }));
  const custom = resolved.filter((b) => process.env[b.env] && !existsSync(b.path));
  if (custom.length) {
    for (const b of custom) console.error(`test: ${b.env}=${b.path} does not exist`);
    process.exit(1);
  }
  const missing = resolved.filter((b) => !existsSync(b.path));
  if (missing.length) {
    const pkgs = [...new Set(missing.map((b) => b.pkg))].join(' ');
    const command = `apt-get update && apt-get install -y ${pkgs}`;
    if (process.getuid?.() !== 0) {
      console.error(`test: missing ${missing.map((b) => b.path).join(', ')}. Install with:`);
      console.error(`  sudo sh -c '${command}'`);
      process.exit(1);
    }
    log(`installing ${pkgs}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update'], ['install', '-y', ...new Set(missing.map((b) => b.pkg))]]) {
      const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
      if (result.status !== 0) {
        console.error(`test: \`apt-get ${args.join(' ')}\` failed`);
        process.exit(1);
      }
    }
    const still = missing.filter((b) => !existsSync(b.path));
    if (still.length) {
      console.error(`test: still missing after install: ${still.map((b) => b.path).join(', ')}`);
      process.exit(1);
    }
  }
  // Every stage finds the programs through these, so they all run the same executables.
  for (const b of resolved) process.env[b.env] = b.path;
}

/** Runs `npm run <script>`; stdout is teed when the stage's counts come from it. */
function runScript(script, { captureStdout = false, env = process.env } = {}) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', script], {
      stdio: ['inherit', captureStdout ? 'pipe' : 'inherit', 'inherit'],
      env,
    });
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      process.stdout.write(chunk);
      stdout += chunk;
    });
    child.on('error', (err) => {
      console.error(`test: cannot start npm: ${err.message}`);
      resolve({ code: 1, stdout });
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), stdout }));
  });
}

function tapCounts(tap) {
  const read = (key) => Number(tap.match(new RegExp(`^# ${key} (\\d+)$`, 'm'))?.[1] ?? NaN);
  const counts = {
    passed: read('pass'),
    failed: read('fail') + read('cancelled'),
    skipped: read('skipped') + read('todo'),
  };
  return Object.values(counts).every(Number.isFinite) ? counts : null;
}

/** web-test-runner reprints one progress line per browser; the last one per browser is final. */
function wtrCounts(output) {
  // Colours and the cursor moves it redraws its progress line with (ESC [ … letter).
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
  const line = /^(\S[^\n:]*):\s.*\|\s*(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/gm;
  const perBrowser = new Map();
  for (const m of plain.matchAll(line)) {
    perBrowser.set(m[1], { passed: +m[2], failed: +m[3], skipped: +(m[4] ?? 0) });
  }
  if (perBrowser.size === 0) return null;
  const sum = { passed: 0, failed: 0, skipped: 0 };
  for (const c of perBrowser.values()) for (const k of Object.keys(sum)) sum[k] += c[k];
  return sum;
}

async function runStage(stage, tapDir) {
  if (!stage.counts) {
    const { code } = await runScript(stage.script);
    return { code, counts: null };
  }
  if (stage.counts === 'tap') {
    const tapFile = join(tapDir, `${stage.name}.tap`);
    const env = { ...process.env, P2P_TEST_TAP_FILE: tapFile };
    const { code } = await runScript(stage.script, { env });
    const tap = await readFile(tapFile, 'utf8').catch(() => '');
    return { code, counts: tapCounts(tap) };
  }
  const { code, stdout } = await runScript(stage.script, { captureStdout: true });
  return { code, counts: wtrCounts(stdout) };
}

/** A glob as web-test-runner reads it (`**`, `*`, `?`, `{a,b}`) as an anchored RegExp. */
function globToRegExp(pattern) {
  const glob = pattern.replace(/^\.\//, '');
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (glob.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '{') {
      braces += 1;
      re += '(?:';
    } else if (c === '}' && braces) {
      braces -= 1;
      re += ')';
    } else if (c === ',' && braces) {
      re += '|';
    } else {
      re += c.replace(/[.+^$(){}|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/**
 * Test files that no stage runs. Node stages run every test file under the folders their npm
 * script names; the element stage runs web-test-runner.config.mjs's `files` globs. A test file
 * outside all of them would never run, and nothing else would say so.
 */
async function unwiredTests() {
  const pkg = JSON.parse(await readFile('package.json', 'utf8'));
  const folders = STAGES.filter((s) => s.counts === 'tap').flatMap((s) => {
    const words = (pkg.scripts[s.script] ?? '').split(/\s+/);
    return words
      .slice(words.indexOf('scripts/node-test.mjs') + 1)
      .filter((w) => !w.startsWith('-'));
  });
  const wtr = (await import(pathToFileURL('web-test-runner.config.mjs').href)).default;
  const globs = [wtr.files ?? []].flat();
  const include = globs.filter((g) => !g.startsWith('!')).map(globToRegExp);
  const exclude = globs.filter((g) => g.startsWith('!')).map((g) => globToRegExp(g.slice(1)));

  const all = [];
  const walk = async (dir) => {
    for (const entry of await readdir(dir || '.', { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) {
        continue;
      }
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else if (/\.test\.(ts|mjs|js)$/.test(entry.name)) all.push(rel);
    }
  };
  await walk('');
  return all
    .filter((rel) => !folders.some((f) => rel === f || rel.startsWith(`${f.replace(/\/$/, '')}/`)))
    .filter((rel) => !include.some((re) => re.test(rel)) || exclude.some((re) => re.test(rel)))
    .sort();
}

async function main() {
  process.chdir(fileURLToPath(new URL('..', import.meta.url)));
  const known = STAGES.map((s) => s.name);
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !known.includes(name));
  if (unknown.length) {
    console.error(`test: unknown stage ${unknown.join(', ')}; stages are: ${known.join(', ')}`);
    process.exit(2);
  }
  const stages = wanted.length ? STAGES.filter((s) => wanted.includes(s.name)) : STAGES;

  if (wanted.length === 0) {
    const unwired = await unwiredTests();
    if (unwired.length) {
      console.error('test: no stage runs these test files:');
      for (const file of unwired) console.error(`  ${file}`);
      console.error(
        "Browser tests belong in web-test-runner.config.mjs's `files`; Node tests under a folder" +
          ' that test:server or test:e2e names in package.json.',
      );
      console.log('0 passed, 1 failed');
      process.exit(1);
    }
  }

  ensureTools(stages.map((s) => s.name));

  const tapDir = await mkdtemp(join(tmpdir(), 'p2p-share-test-'));
  const total = { passed: 0, failed: 0, skipped: 0 };
  let failedStage = null;
  try {
    for (const stage of stages) {
      log(`${stage.name} (npm run ${stage.script})`);
      const { code, counts } = await runStage(stage, tapDir);
      if (counts) for (const k of Object.keys(total)) total[k] += counts[k];
      const ok = code === 0;
      if (!counts) total[ok ? 'passed' : 'failed'] += 1;
      // A stage that exits non-zero is a failure even if no single test was reported failing.
      else if (!ok && counts.failed === 0) total.failed += 1;
      if (!ok) {
        failedStage = stage;
        break;
      }
    }
  } finally {
    await rm(tapDir, { recursive: true, force: true });
  }

  const ran = stages.slice(0, failedStage ? stages.indexOf(failedStage) + 1 : stages.length);
  console.log(
    failedStage
      ? `\ntest: stage "${failedStage.name}" failed; stopped there (ran: ${ran.map((s) => s.name).join(', ')})`
      : `\ntest: all stages passed (${ran.map((s) => s.name).join(', ')})`,
  );
  console.log(
    `${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`,
  );
  process.exitCode = failedStage ? 1 : 0;
}

main().catch((err) => {
  console.error(`test: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
