/**
 * The service learns nothing about the peers' network: while a real transfer runs, nothing any
 * browser sends it (REST bodies, every WebSocket message, read off the wire by a recording proxy,
 * and every Socket.IO event its handlers see), nothing it relays and nothing it logs contains an
 * IP address, an SDP fingerprint or an ICE candidate; and the link key never reaches it at all.
 */
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { test } from 'node:test';
import { makeRandomFile, MiB } from '../testing/files.js';
import { receive, share } from './lib/transfer.js';
import { useE2E } from './lib/world.js';

/** Where in `text` an address (as `net` judges it) starts, or -1. */
function findAddress(text: string, token: RegExp, valid: (s: string) => boolean): number {
  for (const m of text.matchAll(token)) if (valid(m[0])) return m.index;
  return -1;
}

const FORBIDDEN: [string, (text: string) => number][] = [
  ['an IPv4 address', (t) => findAddress(t, /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])/g, isIPv4)],
  [
    'an IPv6 address',
    (t) => findAddress(t, /(?<![0-9a-f:])[0-9a-f:]*:[0-9a-f]*:[0-9a-f:.]*/gi, isIPv6),
  ],
  ['a DTLS fingerprint', (t) => t.search(/a=fingerprint/i)],
  ['an ICE candidate', (t) => t.search(/candidate:/i)],
  ['an mDNS host name', (t) => t.search(/[0-9a-f-]{36}\.local\b/i)],
  ['SDP', (t) => t.search(/\bv=0\r?\n|a=ice-ufrag/)],
];
const matches = (text: string) => FORBIDDEN.some(([, find]) => find(text) >= 0);

const logLines: string[] = [];
const socketEvents: string[] = [];
const relayed: string[] = [];
const env = useE2E({
  record: true,
  onLog: (line) => logLines.push(line),
  relayHook: ({ to, envelope }) => {
    relayed.push(envelope);
    return { to, envelope };
  },
  onStart: ({ service }) => {
    service.io.on('connection', (socket) => {
      socket.onAny((event: string, ...args: unknown[]) => {
        socketEvents.push(JSON.stringify([event, ...args.filter((a) => typeof a !== 'function')]));
      });
    });
  },
});

test('the patterns catch what they are meant to catch', () => {
  for (const sample of [
    'a=candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host',
    'c=IN IP6 fe80::1c2b:3dff:fe4e:5f60',
    'a=fingerprint:sha-256 AB:CD',
    '::1',
    '2001:db8:85a3:0:0:8a2e:370:7334',
    'candidate:842163049 1 udp 1677729535 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.local 50000',
  ]) {
    assert.ok(matches(sample), `a forbidden pattern matches ${JSON.stringify(sample)}`);
  }
  for (const benign of [
    '42["signal",{"to":"abc","envelope":"AbC-_d09"}]',
    '{"t":"2024-01-01T10:20:30.000Z"}',
    'POST /rooms HTTP/1.1',
    '0{"sid":"a:b:c","upgrades":[],"pingInterval":25000}',
  ]) {
    assert.ok(!matches(benign), `nothing matches ${benign}`);
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
      received.payloads.some((p) => p.startsWith('42') && p.includes('"signal"')),
      'the proxy read the signal messages off the WebSocket',
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
        for (const [name, find] of FORBIDDEN) {
          const at = find(item);
          const context = item.slice(Math.max(0, at - 40), at + 60);
          assert.equal(at, -1, `${what} contain ${name}: …${context}…`);
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
