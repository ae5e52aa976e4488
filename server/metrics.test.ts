import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomId } from '../protocol/index.js';
import { defaultConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { createService } from './service.js';
import {
  ENVELOPE,
  join,
  nextEvent,
  passwordAuthFor,
  request,
  settled,
  startService,
  tryPassword,
  whileHasherBusy,
} from './test-support.js';

const TOKEN = 'metrics-token-0123456789';

/** Every sample of a Prometheus text exposition, by `name{labels}` as written. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    found.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return found;
}

async function scrape(url: string, token = TOKEN): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return samples(await res.text());
}

test('the counters and gauges follow real activity', async () => {
  const h = await startService({
    config: {
      metricsToken: TOKEN,
      swarmCapacity: 1,
      socketMessagesPerSecond: 1,
      socketMessageBurst: 20,
    },
  });
  try {
    const before = await scrape(h.url);
    assert.equal(before.get('p2p_share_messages_relayed_total'), 0);
    assert.equal(before.get('p2p_share_sockets'), 0);
    assert.equal(before.get('p2p_share_rooms'), 0);
    assert.equal(before.get('p2p_share_draining'), 0);
    // prom-client's process metrics, the event-loop lag among them.
    assert.ok(before.has('nodejs_eventloop_lag_seconds'));
    assert.ok(before.has('nodejs_eventloop_lag_p99_seconds'));
    assert.ok(before.has('process_cpu_seconds_total'));

    const room = await h.createRoom();
    const sharer = await h.connect();
    const r1 = await h.connect();
    const r2 = await h.connect();
    const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
    await join(r1, room.roomId);
    await join(r2, room.roomId);
    // One seed of capacity 1: the first recipient gets it, the second waits.
    assert.deepEqual(await request(r1, 'sources', {}), { ok: true, sources: [sharerId] });
    assert.deepEqual(await request(r2, 'sources', {}), { ok: true, sources: [], position: 1 });

    // Three relays arrive; one envelope past the limit and one to nobody are refused.
    const arrived = nextEvent(sharer, 'signal');
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await request(r1, 'signal', { to: sharerId, envelope: ENVELOPE }), {
        ok: true,
      });
    }
    await arrived;
    const long = 'A'.repeat(defaultConfig.maxEnvelopeChars + 1);
    assert.equal((await request(r1, 'signal', { to: sharerId, envelope: long })).ok, false);
    assert.equal(
      (await request(r1, 'signal', { to: 'x'.repeat(20), envelope: ENVELOPE })).ok,
      false,
    );

    // 25 unknown events from one socket with a burst of 20: refused as unknown, then for rate.
    const flooder = await h.connect();
    const answers = await Promise.all(
      Array.from({ length: 25 }, () => request(flooder, 'bogus', {})),
    );
    assert.ok(answers.every((a) => !a.ok));

    // A wrong password, and a password room that stays open.
    const linkKey = randomId();
    const locked = await h.createRoom(undefined, passwordAuthFor(linkKey, 'right'));
    const wrong = await whileHasherBusy(() =>
      tryPassword(h.url, locked.roomId, passwordAuthFor(linkKey, 'wrong')),
    );
    assert.equal(wrong.status, 403);

    // What other modules count (the Redis store, say) shows up as they count it.
    h.service.metrics.redisErrors.inc();
    h.service.metrics.redisErrors.inc();

    await settled([sharer, r1, r2]);
    const after = await scrape(h.url);
    assert.equal(after.get('p2p_share_messages_relayed_total'), 3);
    assert.equal(
      after.get('p2p_share_messages_refused_total{event="signal",code="limit-exceeded"}'),
      1,
    );
    // `settled` sends one relay to itself per socket, which is refused as to no peer.
    assert.equal(
      after.get('p2p_share_messages_refused_total{event="signal",code="peer-not-found"}'),
      1 + 3,
    );
    const unknown =
      (after.get('p2p_share_messages_refused_total{event="unknown",code="bad-request"}') ?? 0) +
      (after.get('p2p_share_messages_refused_total{event="unknown",code="rate-limited"}') ?? 0);
    assert.equal(unknown, 25);
    assert.ok(
      (after.get('p2p_share_messages_refused_total{event="unknown",code="rate-limited"}') ?? 0) >=
        1,
    );
    assert.equal(after.get('p2p_share_password_failures_total'), 1);
    assert.equal(after.get('p2p_share_requests_refused_total{code="bad-password"}'), 1);
    assert.equal(after.get('p2p_share_redis_errors_total'), 2);
    assert.equal(after.get('p2p_share_sockets'), 4);
    assert.equal(after.get('p2p_share_rooms'), 2);
    assert.equal(after.get('p2p_share_seeds'), 1);
    assert.equal(after.get('p2p_share_queue_depth'), 1);

    // A socket that leaves takes its place in the queue with it.
    const left = nextEvent(r1, 'disconnect');
    r2.disconnect();
    r1.disconnect();
    await left;
    let last = await scrape(h.url);
    const gone = () =>
      last.get('p2p_share_queue_depth') === 0 && last.get('p2p_share_sockets') === 2;
    for (let i = 0; i < 100 && !gone(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      last = await scrape(h.url);
    }
    assert.equal(last.get('p2p_share_queue_depth'), 0);
    assert.equal(last.get('p2p_share_sockets'), 2);
  } finally {
    await h.close();
  }
});

test('/metrics needs the bearer token, and is not there without one', async () => {
  const h = await startService({ config: { metricsToken: TOKEN } });
  const plain = await startService();
  try {
    const none = await fetch(`${h.url}/metrics`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'not-allowed');
    const wrong = await fetch(`${h.url}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` },
    });
    assert.equal(wrong.status, 401);
    const basic = await fetch(`${h.url}/metrics`, { headers: { authorization: TOKEN } });
    assert.equal(basic.status, 401);
    assert.ok((await scrape(h.url)).has('p2p_share_sockets'));

    // Without METRICS_TOKEN the service's port does not serve them, token or not.
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }] as Record<string, string>[]) {
      const res = await fetch(`${plain.url}/metrics`, { headers });
      assert.equal(res.status, 404);
      assert.doesNotMatch(await res.text(), /p2p_share/);
    }
  } finally {
    await h.close();
    await plain.close();
  }
});

test('METRICS_PORT serves them on a listener of its own, to anyone reaching it', async () => {
  const config: Config = { ...defaultConfig, metricsPort: 0, metricsHost: '127.0.0.1' };
  const logger = createLogger({ level: 'silent' });
  const service = createService({ config, logger });
  const other = createService({ config, logger });
  try {
    const { url, metricsUrl } = await service.listen(0, '127.0.0.1');
    const second = await other.listen(0, '127.0.0.1');
    assert.ok(metricsUrl && second.metricsUrl);
    assert.notEqual(metricsUrl, second.metricsUrl);

    const res = await fetch(metricsUrl);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^p2p_share_messages_relayed_total 0$/m);
    // Only /metrics there; the service's port does not serve them (no token is set).
    assert.equal((await fetch(new URL('/', metricsUrl))).status, 404);
    assert.equal((await fetch(new URL('/metrics', metricsUrl), { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${url}/metrics`)).status, 404);

    // Each service counts into its own registry.
    service.metrics.relayed.inc();
    assert.match(await (await fetch(metricsUrl)).text(), /^p2p_share_messages_relayed_total 1$/m);
    assert.match(
      await (await fetch(second.metricsUrl)).text(),
      /^p2p_share_messages_relayed_total 0$/m,
    );
    await service.close();
    // The listener closes with the service.
    await assert.rejects(fetch(metricsUrl));
  } finally {
    await service.close();
    await other.close();
  }
});

test('a count the store cannot give is NaN, and the scrape still works', async () => {
  const h = await startService({ config: { metricsToken: TOKEN } });
  try {
    h.service.store.countRooms = () => Promise.reject(new Error('store down'));
    const text = samples(
      await (
        await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text(),
    );
    assert.ok(Number.isNaN(text.get('p2p_share_rooms')));
    assert.equal(text.get('p2p_share_sockets'), 0);
  } finally {
    await h.close();
  }
});
