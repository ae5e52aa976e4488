/**
 * Several service processes behind a real load balancer: three `dist/server.js` processes share
 * one redis-server and sit behind HAProxy run with the repository's deploy/haproxy.cfg. The
 * sharer and two recipients land on three different processes; the sharer serves one recipient
 * at a time, so the second waits in the swarm's queue, kept in Redis. The process holding the
 * sharer is killed mid-transfer. The transfer in flight goes on (it is peer-to-peer), the
 * sharer's widget reconnects through the balancer to a process still alive, the room, its swarm
 * and its queue are still there: the waiting recipient is served, and a recipient arriving
 * afterwards gets the file.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserKind } from '../testing/browsers.js';
import { removeTempDir, tempDir } from '../testing/cleanup.js';
import { makeRandomFile, MiB } from '../testing/files.js';
import { startHaproxy, type Balancer } from '../testing/haproxy.js';
import type { HostServer } from '../testing/host-server.js';
import { startRedis, type RedisServer } from '../testing/redis.js';
import { startServiceProcess, type ServiceProcess } from '../testing/service-process.js';
import { until } from '../testing/wait.js';
import { startHostPages } from './lib/host-page.js';
import { gotoHost, launchPeer, type Peer } from './lib/peer.js';
import { eventCount, events, waitForProgress } from './lib/recorder.js';
import { clickButton, waitForText } from './lib/screen.js';
import { awaitSaved, openLink, receive, share, sharerOnline } from './lib/transfer.js';
import { log } from './lib/world.js';

const METRICS_TOKEN = 'cluster-test-metrics-token';
const FILE_SIZE = 6 * MiB;
/** Bytes per second the sharer sends: the download takes about 10 s, long enough to kill. */
const UPLOAD_LIMIT = 600 * 1024;

let redis: RedisServer | null = null;
let services: ServiceProcess[] = [];
let balancer: Balancer | null = null;
let host: HostServer | null = null;
let tmp: string | null = null;
const peers: Peer[] = [];

before(async () => {
  redis = await startRedis();
  const env = {
    REDIS_URL: redis.url,
    TOKEN_SECRET: 'cluster-test-token-secret-of-32-characters',
    METRICS_TOKEN,
    // HAProxy on 127.0.0.1 names the client in X-Forwarded-For.
    TRUSTED_PROXY: '127.0.0.1',
    DRAIN_MS: '2000',
    // One recipient at a time per seed, and recipients below do not seed: a second one queues.
    SWARM_CAPACITY: '1',
  };
  services = await Promise.all([0, 1, 2].map(() => startServiceProcess(env)));
  balancer = await startHaproxy(services.map((s) => `127.0.0.1:${s.port}`));
  // HAProxy takes a process out after two failed health checks (/readyz, a second apart): the
  // balancer must still answer after that long.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  await until(async () => (await fetch(`${balancer!.url}/readyz`).catch(() => null))?.ok, {
    timeout: 20_000,
    interval: 200,
    message: 'the balancer never answered /readyz',
  });
  host = await startHostPages();
  tmp = tempDir('p2p-cluster-');
});

after(async () => {
  await Promise.all(peers.map((peer) => peer.close()));
  await balancer?.stop();
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await redis?.stop();
  await host?.close();
  if (tmp) removeTempDir(tmp);
});

/** Socket.IO connections a process holds, from its own metrics (NaN once it is gone). */
async function socketsOn(service: ServiceProcess): Promise<number> {
  const res = await fetch(`${service.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  }).catch(() => null);
  if (!res?.ok) return NaN;
  const m = /^p2p_share_sockets (\d+)$/m.exec(await res.text());
  return m ? Number(m[1]) : NaN;
}

/** Each live process's socket count, once the counts add up to `total`. */
async function socketsWhenTotal(total: number, live: ServiceProcess[]): Promise<number[]> {
  let counts: number[] = [];
  await until(
    async () => {
      counts = await Promise.all(live.map(socketsOn));
      return counts.reduce((a, b) => a + b, 0) === total;
    },
    { timeout: 30_000, interval: 200, message: () => `sockets per process: ${counts.join(', ')}` },
  );
  return counts;
}

test(
  'sharer and recipients on different processes; a process dies mid-transfer',
  { timeout: 300_000 },
  async () => {
    const hostUrl = (extra = '') =>
      `${host!.origin}/?service=${encodeURIComponent(`${balancer!.url}/`)}&save-to=opfs${extra}`;
    const launch = async (kind: BrowserKind, label: string, extra = '') => {
      const downloads = path.join(tmp!, `downloads-${label}`);
      await mkdir(downloads);
      const peer = await launchPeer(kind, label, downloads);
      peers.push(peer);
      await gotoHost(peer.page, hostUrl(extra));
      return peer;
    };
    const file = await makeRandomFile(tmp!, 'across-processes.bin', FILE_SIZE);

    const sharer = await launch('chromium', 'sharer', `&upload-limit=${UPLOAD_LIMIT}`);
    const link = await share(sharer, file);
    const sharerCounts = await socketsWhenTotal(1, services);
    const sharerProcess = services[sharerCounts.indexOf(1)]!;
    log('the sharer is on process', sharerProcess.port);

    // Each recipient opens the link on its own page, with its own attributes.
    const own = (peer: Peer) => {
      const url = new URL(peer.page.url());
      url.hash = new URL(link).hash;
      return url.href;
    };
    const [first, second] = await Promise.all([
      launch('chromium', 'first', '&seeding=off'),
      launch('chromium', 'second', '&seeding=off'),
    ]);
    await openLink(first, own(first), file);
    await openLink(second, own(second), file);
    const since = await eventCount(first.page);
    const secondSince = await eventCount(second.page);
    await clickButton(first.page, /download/i);
    await waitForProgress(first.page, 1);
    // The sharer's one slot is taken: the second recipient, on a third process, queues.
    await clickButton(second.page, /download/i);
    await waitForText(second.page, 'you are next in the queue', 30_000);
    // leastconn: each recipient's socket goes to a process that holds none.
    const counts = await socketsWhenTotal(3, services);
    assert.deepEqual(counts, [1, 1, 1], 'sharer and recipients are on three processes');

    await waitForProgress(first.page, 2 * MiB);
    await sharerProcess.stop('SIGKILL');
    log('killed the sharer’s process mid-transfer');
    const live = services.filter((s) => s !== sharerProcess);

    // The transfer in flight goes on, peer to peer, and ends hash-equal.
    const saved = await awaitSaved(first, file, since, 120_000);
    assert.equal(saved.complete.detail.size, FILE_SIZE);

    // The sharer's widget reconnected through the balancer to a process still alive, and the
    // room it holds (in Redis) says so. (The first recipient, which does not seed, has left.)
    await socketsWhenTotal(2, live);
    await until(() => sharerOnline(balancer!.url, link), {
      timeout: 30_000,
      interval: 200,
      message: 'the room never showed its sharer again',
    });

    // The queue survived the process: the recipient waiting in it is served, and its file too
    // ends hash-equal.
    await awaitSaved(second, file, secondSince, 120_000);

    // A recipient arriving afterwards gets the file.
    const late = await launch('firefox', 'late');
    const got = await receive(late, link, file);
    log(`the recipient who came after the kill got the file in ${got.seconds.toFixed(1)} s`);

    for (const peer of [sharer, first, second]) {
      const errors = (await events(peer.page)).filter((e) => e.type === 'p2p-share-error');
      assert.deepEqual(errors, [], `${peer.label} saw no error`);
    }
  },
);
