/**
 * TURN with a real coturn on 127.0.0.1 (use-auth-secret, a test secret): `relay-only` widgets in
 * two browser processes connect only through the relay, the file arrives whole, each page's
 * `getStats` shows a relayed selected candidate pair, and the widget says "relayed". A service
 * that is relay-only by default and whose clock runs two hours behind mints credentials that
 * expired before they were made: coturn refuses them (401) and the widget fails with
 * `connection-failed`, reason `relay-refused`, in its own words.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { defaultConfig, type Config } from '../server/config.js';
import { createLogger } from '../server/log.js';
import { createService, type Service } from '../server/service.js';
import { echoConsole, launchBrowser, type BrowserKind } from '../testing/browsers.js';
import { startCoturn, type Coturn } from '../testing/coturn.js';
import { KiB, makeRandomFile } from '../testing/files.js';
import { until } from '../testing/wait.js';
import { en } from '../src/ui/locales/en.js';
import { Peer } from './lib/peer.js';
import { eventCount } from './lib/recorder.js';
import { clickButton, visibleText, waitForShownError, waitForText } from './lib/screen.js';
import { awaitSaved, openLink, share } from './lib/transfer.js';
import { E2E, log } from './lib/world.js';

let coturn: Coturn | undefined;
let env: E2E;
/** A second service, on the same coturn, whose clock is two hours behind. */
let late: { service: Service; url: string } | undefined;

const turnConfig = (c: Coturn): Partial<Config> => ({
  turnUrls: c.urls,
  turnSecret: c.secret,
  turnTtlSeconds: 3600,
});

// One hook, so the service starts once coturn's port is known.
before(async () => {
  coturn = await startCoturn();
  env = new E2E({ config: turnConfig(coturn) });
  await env.start();
  // Relay-only as the service's default, not the element's attribute.
  const service = createService({
    config: { ...defaultConfig, ...turnConfig(coturn), relayOnly: true },
    logger: createLogger({ level: 'warn' }),
    now: () => Date.now() - 2 * 3600_000,
  });
  const { port } = await service.listen(0, '127.0.0.1');
  late = { service, url: `http://127.0.0.1:${port}/` };
});
const ownPeers = new Set<Peer>();
afterEach(async () => {
  await Promise.all([...ownPeers].map((peer) => peer.close()));
  ownPeers.clear();
  await env?.closePeers();
});

/**
 * A peer on a blank page. Firefox uses a TURN server on a loopback address only with
 * `media.peerconnection.ice.loopback`, which the world's own peers do not set.
 */
async function launch(kind: BrowserKind, label: string): Promise<Peer> {
  const downloadDir = path.join(env.tmp, `downloads-${label}-${kind}`);
  await mkdir(downloadDir, { recursive: true });
  const prefs = { 'media.peerconnection.ice.loopback': true };
  const { browser, page } = await launchBrowser(kind, {
    downloadDir,
    protocolTimeout: 120_000,
    prefs,
  });
  echoConsole(page, `[${label}:${kind}]`);
  const peer = new Peer(kind, label, browser, page, downloadDir);
  ownPeers.add(peer);
  return peer;
}
after(async () => {
  await env?.close();
  await late?.service.close();
  await coturn?.stop();
});

/**
 * Keeps every RTCPeerConnection the page makes, so the test can read `getStats` as the widget
 * sees it; registered before the page's next load.
 */
async function watchConnections(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const Native = window.RTCPeerConnection;
    const made: RTCPeerConnection[] = [];
    (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = made;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        made.push(this);
      }
    };
  });
}

interface Route {
  policy: string | undefined;
  local: string | undefined;
  remote: string | undefined;
}

/** The selected candidate pair's candidate types of each connected connection in the page. */
function routes(page: Page): Promise<Route[]> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const out: Route[] = [];
    for (const pc of pcs) {
      if (pc.connectionState !== 'connected') continue;
      const stats = await pc.getStats();
      let pair: RTCIceCandidatePairStats | undefined;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          pair ??= stats.get(s.selectedCandidatePairId);
        }
        if (s.type === 'candidate-pair' && s.selected) pair = s;
      });
      if (!pair) continue;
      out.push({
        policy: pc.getConfiguration().iceTransportPolicy,
        local: stats.get(pair.localCandidateId)?.candidateType,
        remote: stats.get(pair.remoteCandidateId)?.candidateType,
      });
    }
    return out;
  });
}

async function relayedRoute(page: Page, label: string): Promise<Route> {
  let seen: Route[] = [];
  return until(
    async () => {
      seen = await routes(page);
      return seen[0];
    },
    { timeout: 30_000, message: () => `${label}: no connected route; saw ${JSON.stringify(seen)}` },
  );
}

for (const [sharerKind, recipientKind] of [
  ['chromium', 'chromium'],
  ['chromium', 'firefox'],
] as [BrowserKind, BrowserKind][]) {
  test(
    `relay-only: ${sharerKind} to ${recipientKind} through coturn, relayed on both sides`,
    { timeout: 180_000 },
    async () => {
      // Slow enough (256 KiB/s) that the connection is still up while the test reads it.
      const file = await makeRandomFile(env.tmp, 'through-the-relay.bin', 1536 * KiB);
      const url = `${env.hostUrl({ uploadLimit: 256 * KiB })}&relay-only`;
      const sharer = await env.launch(sharerKind, 'sharer', url);
      await watchConnections(sharer.page);
      await sharer.page.goto('about:blank');
      await sharer.page.goto(url, { waitUntil: 'load' });
      const link = await share(sharer, file);
      const recipient = await launch(recipientKind, 'recipient');
      await watchConnections(recipient.page);
      await openLink(recipient, link, file);
      const since = await eventCount(recipient.page);
      await clickButton(recipient.page, /download/i);

      const [there, here] = await Promise.all([
        relayedRoute(sharer.page, 'sharer'),
        relayedRoute(recipient.page, 'recipient'),
      ]);
      log('routes', { sharer: there, recipient: here });
      for (const route of [there, here]) {
        assert.deepEqual(route, { policy: 'relay', local: 'relay', remote: 'relay' });
      }
      // The widget says so: the recipient while it downloads, the sharer in the recipient's row.
      await waitForText(recipient.page, /· relayed/, 30_000);
      await awaitSaved(recipient, file, since, 120_000);
      const shown = await waitForText(sharer.page, /Done · relayed/, 30_000);
      assert.doesNotMatch(shown, /direct/);
      // coturn relayed it: it logged allocations for this secret's users.
      assert.match(coturn!.log(), /ALLOCATE processed, success/);
    },
  );
}

test('an expired TURN credential is refused by coturn and the widget says so', async () => {
  const file = await makeRandomFile(env.tmp, 'too-late.bin', 64 * KiB);
  const url = env.hostUrl({ service: late!.url });
  const sharer = await env.launch('chromium', 'late-sharer', url);
  const link = await share(sharer, file);
  const recipient = await env.launch('chromium', 'late-recipient');
  await openLink(recipient, link, file);
  const since = await eventCount(recipient.page);
  await clickButton(recipient.page, /download/i);
  const error = await waitForShownError(recipient.page, { since, timeout: 90_000 });
  assert.equal(error.detail.code, 'connection-failed', JSON.stringify(error.detail));
  assert.equal(error.detail.reason, 'relay-refused');
  const words = en.errors['connection-failed'].reasons['relay-refused'] as string;
  assert.equal(error.detail.message, words);
  assert.match(await visibleText(recipient.page), /relay server refused/);
  assert.match(coturn!.log(), /401/);
  // Nothing arrived: the download never started.
  const completes = (await recipient.page.evaluate(() => window.__p2p.events)).filter(
    (e) => e.type === 'p2p-share-complete',
  );
  assert.equal(completes.length, 0);
});
