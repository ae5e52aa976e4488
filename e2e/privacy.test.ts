/**
 * The service learns nothing about the peers' network: while a real transfer runs, nothing any
 * browser sends it (REST bodies, every WebSocket message, read off the wire by a recording proxy,
 * and every Socket.IO event its handlers see), nothing it relays and nothing it logs contains an
 * IP address, an SDP fingerprint or an ICE candidate; and the link key never reaches it at all.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { E2E, MiB, makeRandomFile, receive, share } from './harness.js';

const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])/;
const IPV6 =
  /(?<![0-9a-f:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:|(?:[0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}|::(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4}|::)(?![0-9a-f:])/i;
const FORBIDDEN: [string, RegExp][] = [
  ['an IPv4 address', IPV4],
  ['an IPv6 address', IPV6],
  ['a DTLS fingerprint', /a=fingerprint/i],
  ['an ICE candidate', /candidate:/i],
  ['an mDNS host name', /[0-9a-f-]{36}\.local\b/i],
  ['SDP', /\bv=0\r?\n|a=ice-ufrag/],
];

const logLines: string[] = [];
const socketEvents: string[] = [];
const relayed: string[] = [];
let env: E2E;
before(async () => {
  env = await E2E.start({
    record: true,
    onLog: (line) => logLines.push(line),
    relayHook: ({ to, envelope }) => {
      relayed.push(envelope);
      return { to, envelope };
    },
  });
  env.service.io.on('connection', (socket) => {
    socket.onAny((event: string, ...args: unknown[]) => {
      socketEvents.push(JSON.stringify([event, ...args.filter((a) => typeof a !== 'function')]));
    });
  });
});
afterEach(() => env.closePeers());
after(() => env.close());

test('the patterns catch what they are meant to catch', () => {
  for (const sample of [
    'a=candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host',
    'c=IN IP6 fe80::1c2b:3dff:fe4e:5f60',
    'a=fingerprint:sha-256 AB:CD',
    '::1',
    '2001:db8:85a3:0:0:8a2e:370:7334',
    'candidate:842163049 1 udp 1677729535 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.local 50000',
  ]) {
    assert.ok(
      FORBIDDEN.some(([, re]) => re.test(sample)),
      `a forbidden pattern matches ${JSON.stringify(sample)}`,
    );
  }
  for (const benign of [
    '42["signal",{"to":"abc","envelope":"AbC-_d09"}]',
    '{"t":"2024-01-01T10:20:30.000Z"}',
  ]) {
    assert.ok(!FORBIDDEN.some(([, re]) => re.test(benign)), `nothing matches ${benign}`);
  }
});

test(
  'nothing the service receives, relays or logs during a transfer reveals a peer',
  { timeout: 120_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'private.bin', 3 * MiB);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'recipient'),
    ]);
    const link = await share(sharer, file);
    await receive(recipient, link, file, 90_000);

    const received = env.proxy!.received;
    assert.ok(
      received.payloads.some((p) => p.startsWith('POST /rooms')),
      'the proxy saw the room created',
    );
    assert.ok(
      relayed.length >= 2,
      `the service relayed the offer and answer (${relayed.length} envelopes)`,
    );
    assert.ok(
      socketEvents.some((e) => e.startsWith('["signal"')),
      'socket events were recorded',
    );
    assert.ok(logLines.length > 0, 'the service logged at debug level');
    // The widget really talked to the service from the host page's origin.
    assert.ok(
      received.raw.toLowerCase().includes(`\r\norigin: ${env.hostOrigin}`),
      'requests to the service carry the host page origin',
    );

    const sources: [string, string[]][] = [
      ['request bodies and WebSocket messages', received.payloads],
      ['Socket.IO events', socketEvents],
      ['relayed envelopes', relayed],
      ['log lines', logLines],
    ];
    for (const [what, items] of sources) {
      for (const item of items) {
        for (const [name, re] of FORBIDDEN) {
          const hit = re.exec(item);
          assert.equal(
            hit,
            null,
            `${what} contain ${name}: …${item.slice(Math.max(0, (hit?.index ?? 0) - 40), (hit?.index ?? 0) + 60)}…`,
          );
        }
      }
    }
    const key = link.split('.').pop()!;
    assert.ok(
      !received.raw.includes(key),
      'the link key never reaches the service, not even in a header',
    );
    for (const line of logLines) assert.ok(!line.includes(key), 'the link key is never logged');
  },
);
