/**
 * The swarm end to end, each peer its own browser process: recipients that finished keep serving
 * the file, the service queues recipients when every source is busy, a recipient fetches from
 * several sources and survives losing one, and a seed that serves a corrupt piece is dropped and
 * reported while the file still arrives intact. Recipients run a test build of the widget that
 * traces every piece request and verification (`window.__p2pTrace`); the corrupt seed runs one
 * that also flips a byte in the first piece it serves. Files on disk are compared by SHA-256.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { makeRandomFile, MiB } from '../testing/files.js';
import { until } from '../testing/wait.js';
import { testBuild } from './lib/host-page.js';
import type { Peer } from './lib/peer.js';
import { eventCount, waitForProgress } from './lib/recorder.js';
import { clickButton, waitForText } from './lib/screen.js';
import { awaitSaved, openLink, receive, share } from './lib/transfer.js';
import { useE2E } from './lib/world.js';

interface TraceEntry {
  kind: 'request' | 'verified' | 'corrupt';
  peer: string;
  pieces: number[];
  at: number;
}

const traceModule = (corruptFirstPieces: number) => `
export const TEST_HOOKS = true;
export const CORRUPT_FIRST_PIECES = ${corruptFirstPieces};
export function trace(kind, peer, pieces) {
  (globalThis.__p2pTrace ??= []).push({ kind, peer, pieces: [...pieces], at: Date.now() });
}
`;

/** What the traced build saw: every request, verification and refusal, in order. */
async function traceOf(page: Page): Promise<TraceEntry[]> {
  return page.evaluate(
    () => (globalThis as unknown as { __p2pTrace?: TraceEntry[] }).__p2pTrace ?? [],
  );
}

function peersIn(trace: TraceEntry[], kind: TraceEntry['kind']): Set<string> {
  return new Set(trace.filter((e) => e.kind === kind).map((e) => e.peer));
}

/** Bytes a limited uplink lets through per second: slow enough to watch, quick enough to test. */
const UPLINK = 1536 * 1024;
const reports: string[] = [];

const env = useE2E({
  config: { swarmCapacity: 1 },
  onLog: (line) => {
    if (/report/i.test(line)) reports.push(line);
  },
});
before(() =>
  Promise.all([
    testBuild('traced', { 'transfer/faults.ts': traceModule(0) }),
    testBuild('corrupt', { 'transfer/faults.ts': traceModule(1) }),
  ]),
);

/**
 * The share link as this peer's own host page: a link opens on the sharer's page (with its
 * build and attributes), but each peer here runs its own build with its own settings.
 */
function own(peer: Peer, link: string): string {
  const url = new URL(peer.page.url());
  url.hash = new URL(link).hash;
  return url.href;
}

function launch(
  label: string,
  build = 'traced',
  uploadLimit = UPLINK,
  seeding: 'on' | 'off' = 'on',
): Promise<Peer> {
  return env.launch('chromium', label, env.hostUrl({ build, uploadLimit, seeding }));
}

test(
  'capacity 1, four recipients: the queue forms in arrival order, drains, and all finish',
  { timeout: 300_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'queue.bin', 6 * MiB + 4321);
    // Recipients do not seed here, so the sharer's one slot is the only one and the order in
    // which they are served is exactly the queue's.
    const [sharer, ...recipients] = await Promise.all([
      launch('sharer'),
      ...[1, 2, 3, 4].map((i) => launch(`recipient-${i}`, 'traced', UPLINK, 'off')),
    ]);
    const link = await share(sharer!, file);
    await Promise.all(recipients.map((r) => openLink(r, own(r, link), file)));
    const since = await Promise.all(recipients.map((r) => eventCount(r.page)));
    const [first, ...waiting] = recipients as [Peer, ...Peer[]];

    await clickButton(first.page, /download/i);
    await waitForProgress(first.page, 1);
    // Each waits for its place before the next clicks, so arrival order is certain.
    const places = ['next', 'number 2', 'number 3'];
    for (const [i, r] of waiting.entries()) {
      await clickButton(r.page, /download/i);
      await waitForText(r.page, `you are ${places[i]} in the queue`, 30_000);
    }
    // The queue moves up as it drains: the last one is next before it is served.
    await waitForText(waiting[2]!.page, 'you are next in the queue', 120_000);

    await Promise.all(recipients.map((r, i) => awaitSaved(r, file, since[i]!, 240_000)));
    // One at a time: each one's first request comes after the one before it had every piece.
    const spans = await Promise.all(
      recipients.map(async (r) => {
        const trace = await traceOf(r.page);
        return {
          first: trace.find((e) => e.kind === 'request')!.at,
          last: trace.filter((e) => e.kind === 'verified').at(-1)!.at,
        };
      }),
    );
    for (let i = 1; i < spans.length; i++) {
      assert.ok(
        spans[i]!.first >= spans[i - 1]!.last,
        `recipient ${i + 1} was served after recipient ${i}: ${JSON.stringify(spans)}`,
      );
    }
  },
);

test(
  'the sharer closes its page after the first recipient finished; two later recipients still get the file',
  { timeout: 240_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'outlives.bin', 5 * MiB + 99);
    const [sharer, seed] = await Promise.all([launch('sharer'), launch('seed')]);
    const link = await share(sharer, file);
    await receive(seed, own(seed, link), file, 120_000);
    await waitForText(seed.page, 'Keep sharing', 15_000);
    const sharerId = [...peersIn(await traceOf(seed.page), 'request')];
    assert.equal(sharerId.length, 1, 'the seed fetched from the sharer alone');
    await sharer.close();

    const later = await Promise.all([launch('later-1'), launch('later-2')]);
    await Promise.all(later.map((r) => receive(r, own(r, link), file, 180_000)));
    for (const r of later) {
      const from = peersIn(await traceOf(r.page), 'verified');
      assert.ok(from.size > 0, `${r.label} traced its sources`);
      assert.ok(!from.has(sharerId[0]!), `${r.label} got nothing from the sharer, who had left`);
    }
  },
);

test(
  'a seed closes mid-transfer: its recipient finishes from the other source and fetches no verified piece again',
  { timeout: 240_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'churn.bin', 12 * MiB);
    const [sharer, seed] = await Promise.all([launch('sharer'), launch('seed')]);
    const link = await share(sharer, file);
    await receive(seed, own(seed, link), file, 150_000);
    const [sharerId] = [...peersIn(await traceOf(seed.page), 'request')];

    const recipient = await launch('recipient');
    await openLink(recipient, own(recipient, link), file);
    const since = await eventCount(recipient.page);
    await clickButton(recipient.page, /download/i);
    // Fetching from both (capacity 1 each: the sharer and the seed are both free).
    await until(async () => peersIn(await traceOf(recipient.page), 'verified').size === 2, {
      timeout: 60_000,
      message: 'the recipient never fetched from the sharer and the seed at once',
    });
    await waitForProgress(recipient.page, 3 * MiB);
    const closedAt = Date.now();
    await seed.close();
    await awaitSaved(recipient, file, since, 180_000);

    const trace = await traceOf(recipient.page);
    const seedId = [...peersIn(trace, 'verified')].find((p) => p !== sharerId)!;
    const verifiedAt = new Map<number, number>();
    for (const e of trace) {
      if (e.kind === 'verified') {
        assert.ok(!verifiedAt.has(e.pieces[0]!), `piece ${e.pieces[0]} verified once`);
        verifiedAt.set(e.pieces[0]!, e.at);
      }
    }
    for (const e of trace.filter((e) => e.kind === 'request')) {
      for (const piece of e.pieces) {
        const at = verifiedAt.get(piece);
        assert.ok(
          at === undefined || e.at <= at,
          `piece ${piece} was requested after it was verified`,
        );
      }
    }
    const fromSeed = trace.filter((e) => e.kind === 'verified' && e.peer === seedId);
    assert.ok(fromSeed.length > 0, 'the seed delivered pieces before it closed');
    const seedLast = fromSeed.at(-1)!.at;
    const rest = trace.filter((e) => e.kind === 'verified' && e.at > seedLast);
    assert.ok(
      rest.length > 0 && rest.every((e) => e.peer === sharerId),
      'after the seed was gone, the rest came from the sharer',
    );
    assert.ok(rest.at(-1)!.at > closedAt, 'the transfer was still going when the seed closed');
  },
);

test(
  'a seed that serves a corrupt piece is dropped and reported; the file still arrives intact',
  { timeout: 240_000 },
  async () => {
    reports.length = 0;
    const file = await makeRandomFile(env.tmp, 'corrupt-seed.bin', 12 * MiB);
    const [sharer, liar] = await Promise.all([launch('sharer'), launch('liar', 'corrupt', 0)]);
    const link = await share(sharer, file);
    // It fetched honestly; only what it serves as a seed is corrupted.
    await receive(liar, own(liar, link), file, 150_000);
    const [sharerId] = [...peersIn(await traceOf(liar.page), 'request')];

    const victim = await launch('victim');
    await receive(victim, own(victim, link), file, 180_000);
    const trace = await traceOf(victim.page);
    const corrupt = trace.filter((e) => e.kind === 'corrupt');
    assert.equal(corrupt.length, 1, 'one corrupt piece was caught');
    const liarId = corrupt[0]!.peer;
    assert.notEqual(liarId, sharerId, 'the corrupt piece came from the seed, not the sharer');
    const dropped = corrupt[0]!.at;
    assert.ok(
      !trace.some((e) => e.peer === liarId && e.at > dropped && e.kind !== 'corrupt'),
      'nothing was asked of or taken from the corrupt seed after it was caught',
    );
    await until(() => reports.length > 0, {
      timeout: 10_000,
      message: 'the service logged no report',
    });

    // Not assigned again in this room: a later recipient never hears of it.
    const later = await launch('later');
    await receive(later, own(later, link), file, 180_000);
    assert.ok(
      !peersIn(await traceOf(later.page), 'request').has(liarId),
      'the reported seed was not assigned again',
    );
  },
);
