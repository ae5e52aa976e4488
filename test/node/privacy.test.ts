import assert from 'node:assert/strict';
import { createServer, connect, type Socket as NetSocket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { deriveRoomKeys, type RoomKeys } from '../../src/crypto/keys.js';
import { openJson, sealJson } from '../../src/crypto/seal.js';
import { META_AAD } from '../../protocol/sealing.js';
import { PROTOCOL_VERSION, randomId, type FileMeta, type SignalIn } from '../../protocol/index.js';
import type { RelayHook } from '../../server/signalling.js';
import {
  join,
  nextEvent,
  request,
  settled,
  startService,
  waitFor,
  type Harness,
} from '../../server/test-support.js';
import { relaySealed, signalAad } from './support.js';

const FINGERPRINT =
  'sha-256 6B:8B:5D:EA:59:04:20:D4:1C:23:2D:7A:C6:9C:3E:05:77:0A:11:7C:9D:3E:BA:39:5E:1C:6B:E3:95:4E:54:2F';

const sdp = (role: 'actpass' | 'active', address: string) =>
  [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS',
    'm=application 54400 UDP/DTLS/SCTP webrtc-datachannel',
    `c=IN IP4 ${address}`,
    `a=candidate:842163049 1 udp 1677729535 ${address} 54400 typ srflx raddr 192.168.1.23 rport 54400 generation 0 network-cost 999`,
    'a=ice-ufrag:EsAw',
    'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
    'a=ice-options:trickle',
    `a=fingerprint:${FINGERPRINT}`,
    `a=setup:${role}`,
    'a=mid:0',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
    '',
  ].join('\r\n');

const CANDIDATES = [
  'candidate:1467250027 1 udp 2122260223 192.168.1.23 54400 typ host generation 0 ufrag EsAw network-id 1',
  'candidate:2999745851 1 udp 2122194687 2001:db8:85a3::8a2e:370:7334 54401 typ host generation 0 ufrag EsAw network-id 2',
  'candidate:3325479131 1 udp 1686052607 203.0.113.7 61234 typ srflx raddr 10.0.0.5 rport 54400 generation 0',
  'candidate:4233069003 1 tcp 1518280447 fe80::1c2b:3dff:fe4e:5f60 9 typ host tcptype active generation 0',
];

const IPV4 =
  /(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\d.])/;
/** Eight groups, or a `::` abbreviation; plain `hh:mm:ss` times in log lines do not match. */
const IPV6 = /(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:)*[0-9a-f]{0,4}::[0-9a-f]{1,4}/i;

const FILE: FileMeta = {
  v: PROTOCOL_VERSION,
  name: 'Quarterly report — draft 3.pdf',
  size: 3_145_728,
  type: 'application/pdf',
  lastModified: 1_700_000_000_000,
  pieceSize: 262_144,
  pieceCount: 12,
  manifestSha256: 'a'.repeat(64),
  sha256: 'b'.repeat(64),
};

/** A TCP proxy that records every byte clients send to the service. */
async function recordingProxy(targetPort: number) {
  const received: Buffer[] = [];
  const sockets = new Set<NetSocket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk: Buffer) => received.push(chunk));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    text: () => Buffer.concat(received).toString('utf8'),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('privacy: what the service sees of a sealed exchange', () => {
  let h: Harness;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  /** Every event payload any socket sent to the service, as the service decoded it. */
  const socketInput: string[] = [];

  before(async () => {
    h = await startService();
    h.service.io.on('connection', (socket) => {
      socket.onAny((event: string, ...args: unknown[]) => {
        socketInput.push(`${event} ${JSON.stringify(args.filter((a) => typeof a !== 'function'))}`);
      });
    });
    proxy = await recordingProxy(Number(new URL(h.url).port));
  });
  after(async () => {
    await h.close();
    await proxy.close();
  });

  test('carries no address, fingerprint, SDP or file name, yet peers read each other', async () => {
    const linkKey = randomId();
    const keys: RoomKeys = await deriveRoomKeys(linkKey);
    const plaintexts: string[] = [FILE.name];

    // The sharer creates the room over REST (through the recording proxy).
    const created = (await (
      await fetch(`${proxy.url}/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          v: PROTOCOL_VERSION,
          meta: await sealJson(keys.meta, FILE, META_AAD),
        }),
      })
    ).json()) as { roomId: string; sharerToken: string };
    const roomId = created.roomId;

    // The sharer on WebSocket; the recipient on long-polling through the proxy, so its
    // messages cross the wire as plain HTTP bodies the proxy can read.
    const sharer = await h.connect();
    const sharerId = await join(sharer, roomId, 'sharer', created.sharerToken);
    const info = (await (await fetch(`${proxy.url}/rooms/${roomId}`)).json()) as { meta: string };
    assert.deepEqual(await openJson(keys.meta, info.meta, META_AAD), FILE);

    const viaProxy = await h.connect({ transports: ['polling'] }, proxy.url);
    const recipientId = await join(viaProxy, roomId);
    const sources = await request(viaProxy, 'sources', {});
    assert.deepEqual(sources, { ok: true, sources: [sharerId] });

    const session = randomId(8);
    const send = async (
      from: typeof sharer,
      fromId: string,
      to: typeof sharer,
      toId: string,
      body: Record<string, unknown>,
      n: number,
    ) => {
      const envelope = { s: session, n, ...body };
      plaintexts.push(JSON.stringify(envelope));
      return relaySealed(keys, roomId, { from, fromId, to, toId }, envelope);
    };

    const sealedSent: string[] = [];
    sealedSent.push(
      await send(
        viaProxy,
        recipientId,
        sharer,
        sharerId,
        { k: 'offer', sdp: sdp('actpass', '198.51.100.14') },
        0,
      ),
    );
    sealedSent.push(
      await send(
        sharer,
        sharerId,
        viaProxy,
        recipientId,
        { k: 'answer', sdp: sdp('active', '203.0.113.7') },
        0,
      ),
    );
    let n = 1;
    for (const candidate of CANDIDATES) {
      const c = { candidate, sdpMid: '0', sdpMLineIndex: 0 };
      sealedSent.push(
        await send(viaProxy, recipientId, sharer, sharerId, { k: 'candidate', c }, n),
      );
      sealedSent.push(
        await send(sharer, sharerId, viaProxy, recipientId, { k: 'candidate', c }, n),
      );
      n++;
    }

    const left = nextEvent(sharer, 'peer-left');
    viaProxy.disconnect();
    assert.deepEqual(await left, { peerId: recipientId });
    const stopped = await fetch(`${proxy.url}/rooms/${roomId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${created.sharerToken}` },
    });
    assert.equal(stopped.status, 204);
    sharer.disconnect();
    // Its leaving is the last thing the service logs of this exchange.
    await waitFor(() =>
      h.logs.some((line) => {
        const { event, role } = JSON.parse(line) as { event: string; role?: string };
        return event === 'room.left' && role === 'sharer';
      }),
    );

    // The patterns are not vacuous: the plaintext is full of what they look for.
    const plain = plaintexts.join('\n');
    assert.match(plain, IPV4);
    assert.match(plain, IPV6);
    assert.match(plain, /a=fingerprint/);
    for (const candidate of CANDIDATES)
      assert.match(candidate, candidate.includes('::') ? IPV6 : IPV4);

    // The capture is not empty: it holds the sealed envelopes the peers exchanged.
    const wire = proxy.text();
    const decoded = socketInput.join('\n');
    for (const sealed of sealedSent) assert.ok(decoded.includes(sealed), 'socket capture');
    for (const sealed of sealedSent.filter((_, i) => i % 2 === 0)) {
      assert.ok(wire.includes(sealed), 'wire capture');
    }
    assert.ok(h.logs.length > 5, 'log capture');

    // The service's own address in the Host header is the only one a client names to it.
    const wireWithoutHost = wire.replace(/^host: .*$/gim, 'host: <service>');
    const seen = {
      'bytes received through the proxy': wireWithoutHost,
      'socket payloads': decoded,
      logs: h.logs.join('\n'),
    };
    for (const [what, text] of Object.entries(seen)) {
      assert.doesNotMatch(text, IPV4, `an IPv4 address in ${what}`);
      assert.doesNotMatch(text, IPV6, `an IPv6 address in ${what}`);
      assert.doesNotMatch(text, /a=fingerprint|fingerprint:sha-256|candidate:|IN IP4/i, what);
      assert.ok(!text.includes(FILE.name), `the file name in ${what}`);
      assert.ok(!text.includes(linkKey), `the link key in ${what}`);
    }
    assert.ok(!seen.logs.includes(created.sharerToken), 'the sharer token in the logs');
    assert.ok(!h.logs.join('\n').includes(roomId), 'logs carry room-id prefixes only');
  });
});

describe('relay hook (the seam for a tampering service)', () => {
  test('can alter, redirect or drop envelopes, and altered ones fail to open', async () => {
    let mode: 'alter' | 'redirect' | 'drop' = 'alter';
    let redirectTo = '';
    const hook: RelayHook = ({ to, envelope }) => {
      if (mode === 'drop') return null;
      if (mode === 'redirect') return { to: redirectTo, envelope };
      const flipped = envelope[20] === 'A' ? 'B' : 'A';
      return { to, envelope: envelope.slice(0, 20) + flipped + envelope.slice(21) };
    };
    const h = await startService({ relayHook: hook });
    try {
      const keys = await deriveRoomKeys(randomId());
      const room = await h.createRoom();
      const sharer = await h.connect();
      const one = await h.connect();
      const two = await h.connect();
      const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
      const oneId = await join(one, room.roomId);
      const twoId = await join(two, room.roomId);
      const aad = signalAad(room.roomId, oneId, sharerId);
      const sealed = await sealJson(keys.signal, { s: 'x', n: 0, k: 'offer', sdp: 'v=0' }, aad);

      const altered = nextEvent<SignalIn>(sharer, 'signal');
      assert.deepEqual(await request(one, 'signal', { to: sharerId, envelope: sealed }), {
        ok: true,
      });
      const got = await altered;
      assert.notEqual(got.envelope, sealed);
      await assert.rejects(openJson(keys.signal, got.envelope, aad), { code: 'tampered' });

      mode = 'redirect';
      redirectTo = twoId;
      const redirected = nextEvent<SignalIn>(two, 'signal');
      await request(one, 'signal', { to: sharerId, envelope: sealed });
      const misdelivered = await redirected;
      // The envelope is bound to its endpoints: the wrong recipient cannot open it as its own.
      await assert.rejects(
        openJson(keys.signal, misdelivered.envelope, signalAad(room.roomId, oneId, twoId)),
        { code: 'tampered' },
      );

      mode = 'drop';
      let delivered = false;
      sharer.on('signal', () => (delivered = true));
      assert.deepEqual(await request(one, 'signal', { to: sharerId, envelope: sealed }), {
        ok: true,
      });
      await settled([sharer]);
      assert.equal(delivered, false);
    } finally {
      await h.close();
    }
  });
});
