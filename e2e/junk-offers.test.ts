/**
 * The sharer's page survives link holders who flood it with offers: from eight loopback
 * addresses, 2,000 junk offers that do not open and 200 genuine offers that never complete.
 * An honest recipient right after gets the file within twice the time it took without the
 * attack, and the sharer's page returns to the RTCPeerConnections and JS heap it had before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRandomFile, MiB } from '../testing/files.js';
import { delay, until } from '../testing/wait.js';
import {
  ATTACK_ADDRESSES,
  findSharer,
  flushed,
  halfOpenOffer,
  joinAttacker,
  junkOffer,
  linkKeys,
  relay,
  type Attacker,
} from './lib/attackers.js';
import { gotoHost } from './lib/peer.js';
import { countPeerConnections, heapAfterGc, peerConnections, shownRows } from './lib/page-peers.js';
import { downloadAndVerify, openLink, share } from './lib/transfer.js';
import { log, useE2E } from './lib/world.js';

const JUNK_SOCKETS = 20;
const JUNK_EACH = 100;
/**
 * One genuine offer per socket: a peer's next offer would take over from its last connection,
 * closing it; offers from as many peers keep the sharer's places taken until the timeout.
 */
const HALF_OPEN_SOCKETS = 200;
/** The attack is sent in this many rounds, 200 ms apart. */
const ROUNDS = 5;
/** The widget's connect timeout: half-open connections it let in are closed by then. */
const CONNECT_TIMEOUT_MS = 30_000;
/** The recipients the sharer may list at the end: three honest ones and the failed rows it keeps. */
const MAX_ROWS = 3 + 16;

// The widget is under test, not the service: the room takes every attacker at once, from any
// address. The per-socket and per-address message budgets stay at their defaults; the attack
// keeps within them (each socket sends at most 102 events, each address about 330 in 1.5 s).
const env = useE2E({
  config: { maxSocketsPerRoom: 1024, maxSocketsPerAddressPerRoom: 1024 },
});

const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

test(
  'junk and half-open offers leave the sharer serving, and nothing behind',
  { timeout: 120_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'flooded.bin', 2 * MiB);
    const recipientUrl = env.hostUrl({ seeding: 'off' });
    const [sharer, warm, quiet] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'warm', recipientUrl),
      env.launch('chromium', 'quiet', recipientUrl),
    ]);
    await countPeerConnections(sharer.page);
    await gotoHost(sharer.page, env.hostUrl());
    const link = await share(sharer, file);
    // The recipients open it on a page that does not seed: the sharer stays the only source.
    const recipientLink = recipientUrl + link.slice(link.indexOf('#'));

    // Without the attack. The sharer's first recipient is served differently from the next (the
    // next ones are asked to wait a moment for pieces an earlier recipient got), so the quiet
    // time is the second recipient's, like the one under attack.
    await openLink(warm, recipientLink, file);
    await downloadAndVerify(warm, file, 60_000);
    await warm.close();
    await openLink(quiet, recipientLink, file);
    const calm = await downloadAndVerify(quiet, file, 60_000);
    await quiet.close();
    await until(async () => (await peerConnections(sharer.page)).live === 0, {
      timeout: 15_000,
      message: 'the sharer to close its recipients’ connections',
    });
    const baseline = await peerConnections(sharer.page);
    const heapBefore = await heapAfterGc(sharer.page);
    log(`without the attack: ${calm.seconds.toFixed(2)} s; sharer heap ${mib(heapBefore)}`);

    // The attack: every socket joins, then relays its share of the envelopes to the sharer.
    const after = await env.launch('chromium', 'after', recipientUrl);
    await openLink(after, recipientLink, file);
    const { roomId, keys } = await linkKeys(link);
    const join = (i: number) =>
      joinAttacker(env.serviceUrl, roomId, ATTACK_ADDRESSES[i % ATTACK_ADDRESSES.length]!);
    const junkers = await Promise.all(Array.from({ length: JUNK_SOCKETS }, (_, i) => join(i)));
    const openers = await Promise.all(Array.from({ length: HALF_OPEN_SOCKETS }, (_, i) => join(i)));
    const attackers: Attacker[] = [...junkers, ...openers];
    try {
      const sharerId = await findSharer(junkers[0]!);
      const attackStart = performance.now();
      const perRound = HALF_OPEN_SOCKETS / ROUNDS;
      for (let round = 0; round < ROUNDS; round++) {
        for (const a of openers.slice(round * perRound, (round + 1) * perRound)) {
          relay(a, sharerId, await halfOpenOffer(keys, roomId, a.peerId, sharerId));
        }
        for (let i = 0; i < JUNK_EACH / ROUNDS; i++) {
          for (const a of junkers) relay(a, sharerId, junkOffer());
        }
        await delay(200);
      }
      await flushed(attackers);
      const sent = JUNK_SOCKETS * JUNK_EACH + HALF_OPEN_SOCKETS;
      const during = await peerConnections(sharer.page);
      log(
        `attack: ${sent} envelopes from ${attackers.length} sockets on ${ATTACK_ADDRESSES.length} ` +
          `addresses in ${Math.round(performance.now() - attackStart)} ms; the sharer made ` +
          `${during.made - baseline.made} connections, ${during.live} live`,
      );

      // An honest recipient right after.
      const flooded = await downloadAndVerify(after, file, 60_000);
      log(
        `after the attack: ${flooded.seconds.toFixed(2)} s (${calm.seconds.toFixed(2)} s before)`,
      );
      const bound = 2 * calm.seconds;
      assert.ok(
        flooded.seconds <= bound,
        `the download took ${flooded.seconds.toFixed(2)} s, more than ${bound.toFixed(2)} s`,
      );

      // The half-open connections go at the connect timeout, with the attackers still there.
      await until(async () => (await peerConnections(sharer.page)).live <= baseline.live, {
        timeout: CONNECT_TIMEOUT_MS + 15_000,
        message: async () =>
          `the sharer's live connections to return to ${baseline.live}: ${JSON.stringify(await peerConnections(sharer.page))}`,
      });
      // The widget redraws its list at most four times a second.
      const rows = await until(
        async () => {
          const n = await shownRows(sharer.page);
          return n <= MAX_ROWS ? { n } : null;
        },
        {
          timeout: 2000,
          message: async () => `the sharer lists ${await shownRows(sharer.page)} recipients`,
        },
      ).then((r) => r.n);
      const end = await peerConnections(sharer.page);
      const heapAfter = await heapAfterGc(sharer.page);
      log(
        `the sharer made ${end.made - baseline.made} connections in all, ${end.live} live now; ` +
          `${rows} rows; heap ${mib(heapBefore)} before, ${mib(heapAfter)} after`,
      );
      assert.ok(
        end.made - baseline.made <= HALF_OPEN_SOCKETS + 1,
        'no connection for a junk offer',
      );
      assert.ok(
        heapAfter <= Math.max(heapBefore * 1.2, heapBefore + 2 * MiB),
        `the sharer's heap went from ${mib(heapBefore)} to ${mib(heapAfter)}`,
      );
    } finally {
      for (const a of attackers) a.socket.disconnect();
    }
  },
);
