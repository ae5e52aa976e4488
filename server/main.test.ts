import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

test('a bad configuration stops the service with exit code 78 and the reason', async () => {
  const run = start({ PORT: 'eighty', LOG_LEVEL: 'chatty' });
  assert.equal(await run.exited, 78);
  assert.match(run.err(), /PORT: must be a whole number/);
  assert.match(run.err(), /LOG_LEVEL/);
});

test('REDIS_URL without TOKEN_SECRET stops the service with one line', async () => {
  const run = start({ REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.equal(await run.exited, 78);
  assert.match(run.err(), /^ {2}TOKEN_SECRET: must be set when REDIS_URL is \(.*\)$/m);
  assert.equal(run.err().trim().split('\n').length, 2, run.err());
});

test('the service says where it is, serves, and shuts down on SIGTERM', async (t) => {
  const secret = 'do-not-print-this-secret-0123456789abcdef';
  const run = start({
    PORT: '0',
    HOST: '127.0.0.1',
    ALLOWED_ORIGINS: 'https://a.example',
    TOKEN_SECRET: secret,
    TRUSTED_PROXY: '10.0.0.0/8',
  });
  t.after(() => run.child.kill('SIGKILL'));
  const deadline = Date.now() + 15_000;
  let url: string | undefined;
  while (!url && Date.now() < deadline) {
    url =
      /p2p-share service on (http:\/\/127\.0\.0\.1:\d+) \(demo at \/, widget at \/p2p-share\.js\)/.exec(
        run.out(),
      )?.[1];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(url, `no start-up line in: ${run.out()} ${run.err()}`);
  assert.match(run.out(), /origins allowed: https:\/\/a\.example/);
  assert.match(run.out(), /64 sockets per room/);
  assert.match(run.out(), /client address: X-Forwarded-For from trusted proxies 10\.0\.0\.0\/8/);
  assert.match(
    run.out(),
    /100 messages\/s per socket \(burst 400\), 30 rooms per address per 60 s/,
  );
  assert.match(run.out(), /passwords: 5 tries per address and 5 per room per 60 s/);
  assert.match(
    run.out(),
    /per address: 50 sockets open, 60 connections per 60 s, 200 messages\/s over all its sockets \(burst 1000\), 20 live rooms/,
  );
  assert.match(run.out(), /signed with TOKEN_SECRET/);
  assert.ok(!run.out().includes(secret), 'the secret itself is never printed');
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0);
  assert.match(run.out(), /SIGTERM: shutting down/);
});
