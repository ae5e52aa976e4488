/**
 * A restart of a service that keeps rooms in memory: the built service (`node dist/server.js`)
 * runs as a child process, is killed after a file was shared and started again on the same port
 * with no rooms at all. The sharer's widget reconnects and restores its room under the same id,
 * so the link it gave out before the restart works: for a recipient whose page was open before
 * the restart and who downloads afterwards, and for one who opens the link only afterwards.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import type { BrowserKind } from '../testing/browsers.js';
import { removeTempDir, tempDir } from '../testing/cleanup.js';
import { makeRandomFile, MiB } from '../testing/files.js';
import type { HostServer } from '../testing/host-server.js';
import { startServiceProcess, type ServiceProcess } from '../testing/service-process.js';
import { until } from '../testing/wait.js';
import { startHostPages } from './lib/host-page.js';
import { gotoHost, launchPeer, type Peer } from './lib/peer.js';
import { events } from './lib/recorder.js';
import { downloadAndVerify, openLink, receive, roomOf, share } from './lib/transfer.js';
import { log } from './lib/world.js';

const peers: Peer[] = [];
let service: ServiceProcess | null = null;
let host: HostServer | null = null;
let tmp: string | null = null;
after(async () => {
  await Promise.all(peers.map((peer) => peer.close()));
  await service?.stop('SIGKILL');
  await host?.close();
  if (tmp) removeTempDir(tmp);
});

test(
  'links shared before a restart work after it: the sharer restores its room',
  { timeout: 240_000 },
  async () => {
    tmp = tempDir('p2p-restart-');
    // The log says when a room is restored (info).
    const env = { LOG_LEVEL: 'info' };
    service = await startServiceProcess(env);
    const port = service.port;
    const serviceUrl = `${service.url}/`;
    host = await startHostPages();
    const hostUrl = `${host.origin}/?service=${encodeURIComponent(serviceUrl)}&save-to=opfs`;
    const launch = async (kind: BrowserKind, label: string) => {
      const downloads = path.join(tmp!, `downloads-${label}`);
      await mkdir(downloads);
      const peer = await launchPeer(kind, label, downloads);
      peers.push(peer);
      await gotoHost(peer.page, hostUrl);
      return peer;
    };

    const file = await makeRandomFile(tmp, 'before-restart.bin', 3 * MiB);
    const [sharer, early] = await Promise.all([
      launch('chromium', 'sharer'),
      launch('chromium', 'early'),
    ]);
    const link = await share(sharer, file);
    const roomId = roomOf(link);
    // This recipient's page shows the file before the restart and downloads only after it.
    await openLink(early, link, file);

    await service.stop('SIGKILL');
    assert.equal((await fetch(`${serviceUrl}healthz`).catch(() => null))?.ok, undefined);
    service = await startServiceProcess(env, port);
    log('service restarted on port', port);
    // The new process knows no room until the sharer's widget reconnects and restores its own.
    const restored = await until(
      async () => {
        const res = await fetch(`${serviceUrl}rooms/${roomId}`);
        const info = res.ok ? ((await res.json()) as { sharerOnline: boolean }) : null;
        return info?.sharerOnline && info;
      },
      { timeout: 60_000, interval: 200, message: 'the sharer never restored its room' },
    );
    assert.equal(restored.sharerOnline, true);
    assert.match(service.output(), /"event":"room\.restored"/);

    const before = await downloadAndVerify(early, file);
    log(`the page open across the restart got the file in ${before.seconds.toFixed(1)} s`);

    const late = await launch('firefox', 'late');
    const after = await receive(late, link, file);
    log(`a page opened after the restart got the file in ${after.seconds.toFixed(1)} s`);

    const errors = (await events(sharer.page)).filter((e) => e.type === 'p2p-share-error');
    assert.deepEqual(errors, [], 'the sharer went on sharing without an error');
  },
);
