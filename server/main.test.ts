import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { io } from 'socket.io-client';

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

/** Waits for the start-up line and returns the service's URL. */
async function started(run: ReturnType<typeof start>): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const url = /p2p-share service on (http:\/\/127\.0\.0\.1:\d+) /.exec(run.out())?.[1];
    if (url) return url;
    assert.ok(Date.now() < deadline, `no start-up line in: ${run.out()} ${run.err()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The JSON log lines the process wrote whose event is `event`. */
function logged(run: ReturnType<typeof start>, event: string): Record<string, unknown>[] {
  return run
    .out()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((fields) => fields.event === event);
}

test('a bad configuration stops the service with exit code 78 and every problem', async () => {
  const run = start({
    PORT: 'eighty',
    LOG_LEVEL: 'chatty',
    DRAIN_MS: 'soon',
    METRICS_TOKEN: 'short',
    ROOM_GRACE_MS: '5000',
    ROOM_MAX_AGE_MS: '4000',
  });
  assert.equal(await run.exited, 78);
  assert.deepEqual(run.err().trimEnd().split('\n'), [
    'Invalid configuration:',
    '  PORT: must be a whole number',
    '  LOG_LEVEL: must be one of debug, info, warn, error, silent',
    '  DRAIN_MS: must be a whole number',
    '  METRICS_TOKEN: must be at least 16 characters (random, kept secret)',
    '  ROOM_GRACE_MS: must not exceed ROOM_MAX_AGE_MS',
  ]);
});

test('SIGTERM drains: the widget is told to reconnect, then the process exits 0', async (t) => {
  const run = start({ PORT: '0', HOST: '127.0.0.1', DRAIN_MS: '20000' });
  t.after(() => run.child.kill('SIGKILL'));
  const url = await started(run);
  assert.match(run.out(), /drain on SIGTERM: 20000 ms/);
  assert.match(run.out(), /metrics: off/);
  const client = io(url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 100 });
  t.after(() => client.close());
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const reason = new Promise<string>((resolve) => client.once('disconnect', resolve));
  const retried = new Promise<void>((resolve) =>
    client.io.once('reconnect_attempt', () => resolve()),
  );

  run.child.kill('SIGTERM');
  // "transport close" is what socket.io-client reconnects after ("io server disconnect" is not).
  assert.equal(await reason, 'transport close');
  await retried;
  assert.equal(await run.exited, 0);
  assert.match(run.out(), /SIGTERM: shutting down within 20000 ms/);
  const [draining] = logged(run, 'service.draining');
  assert.equal(draining?.sockets, 1);
  const [drained] = logged(run, 'service.drained');
  // Done when the socket was gone, not at the deadline.
  assert.equal(drained?.forced, false);
  assert.ok(Number(drained?.ms) < 20_000);
});

test('SIGTERM with a request that never ends: the process still exits 0 by DRAIN_MS', async (t) => {
  const run = start({ PORT: '0', HOST: '127.0.0.1', DRAIN_MS: '1000' });
  t.after(() => run.child.kill('SIGKILL'));
  const url = await started(run);
  // Headers and part of a body, and never the rest.
  const req = httpRequest(`${url}/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': '100' },
  });
  req.on('error', () => {});
  t.after(() => req.destroy());
  await new Promise<void>((resolve) => req.write('{"v":', () => resolve()));
  // Sent, and the service has read it by the time it answers a request sent after it.
  assert.equal((await fetch(`${url}/healthz`)).status, 200);

  run.child.kill('SIGTERM');
  // main.ts exits 1 if the drain has not closed the service 5 s past DRAIN_MS: 0 means it did.
  assert.equal(await run.exited, 0);
  const [drained] = logged(run, 'service.drained');
  assert.equal(drained?.forced, true);
  assert.equal(drained?.requests, 1);
  assert.ok(Number(drained?.ms) >= 1_000);
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
