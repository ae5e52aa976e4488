/**
 * SignalClient against the real signalling service: relays go out without an ack, and a relay the
 * service refused comes back as a `signal-failed` event naming the addressee, with its code, so
 * the session can fail that one link. The service's word that it is briefly unavailable, or back,
 * is forwarded, and a download waiting to ask for sources again asks at once when it is back.
 */
import { expect } from '@open-wc/testing';
import { deriveRoomKeys } from '../../src/crypto/keys.js';
import { parseLink } from '../../src/crypto/link.js';
import { P2PError } from '../../src/errors.js';
import { randomId } from '../../protocol/ids.js';
import type { ServiceStatus } from '../../protocol/signalling.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { ReceiveSession } from '../../src/session/receive-session.js';
import { ShareSession } from '../../src/session/share-session.js';
import { SourceSet } from '../../src/session/source-set.js';
import { SignalClient } from '../../src/signal/signal-client.js';
import { Download } from '../../src/transfer/download.js';
import { prepareFile } from '../../src/transfer/manifest.js';
import { serviceUrl } from '../service-url.js';
import { catchDownloads, MemorySink, tick, until } from './helpers.js';

describe('SignalClient relays', () => {
  it('hears of a refused relay as signal-failed for that peer, and of nothing else', async () => {
    const server = await serviceUrl();
    const sharer = new ShareSession({ server });
    const client = await SignalClient.connect(server);
    try {
      const secret = parseLink(
        await sharer.share(new File(['hello'], 'hello.txt'), location.href),
      )!;
      await client.join({ v: PROTOCOL_VERSION, roomId: secret.roomId, role: 'recipient' });
      const [sharerId] = (await client.sources({})).sources;
      const failed: { to: string; error: P2PError }[] = [];
      client.addEventListener('signal-failed', (e) =>
        failed.push((e as CustomEvent<{ to: string; error: P2PError }>).detail),
      );
      client.signal(sharerId!, 'QUJD');
      client.signal('nobody-here', 'QUJD');
      const deadline = performance.now() + 3000;
      while (failed.length === 0 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(failed.map((f) => f.to)).to.deep.equal(['nobody-here']);
      expect(failed[0]!.error).to.be.instanceOf(P2PError);
      expect(failed[0]!.error.code).to.equal('peer-not-found');
    } finally {
      client.close();
      await sharer.stop();
    }
  });
});

/**
 * Socket.IO event packets on every WebSocket from now on, in the order they went (socket.io-client
 * keeps the WebSocket class it found when it loaded, so its prototype is what is wrapped).
 */
function wireLog(): { log: string[]; restore: () => void } {
  const log: string[] = [];
  const proto = WebSocket.prototype;
  const send = Object.getOwnPropertyDescriptor(proto, 'send')!;
  const onmessage = Object.getOwnPropertyDescriptor(proto, 'onmessage')!;
  const name = (data: unknown) => {
    if (typeof data !== 'string') return null;
    const event = /^42\d*\["([a-z-]+)"/.exec(data);
    if (event) return event[1]!;
    return /^43\d+/.test(data) ? 'ack' : null;
  };
  Object.defineProperty(proto, 'send', {
    ...send,
    value(this: WebSocket, data: string) {
      const what = name(data);
      if (what) log.push(`out ${what}`);
      return (send.value as (d: string) => void).call(this, data);
    },
  });
  Object.defineProperty(proto, 'onmessage', {
    ...onmessage,
    set(this: WebSocket, handler: ((e: MessageEvent) => void) | null) {
      const wrapped =
        handler &&
        ((e: MessageEvent) => {
          const what = name(e.data);
          if (what) log.push(`in ${what}`);
          handler.call(this, e);
        });
      onmessage.set!.call(this, wrapped);
    },
  });
  return {
    log,
    restore: () => {
      Object.defineProperty(proto, 'send', send);
      Object.defineProperty(proto, 'onmessage', onmessage);
    },
  };
}

describe('SignalClient joining', () => {
  it('asks for sources with the join, not a round trip after it', async () => {
    const server = await serviceUrl();
    const sharer = new ShareSession({ server });
    const wire = wireLog();
    let client: SignalClient | null = null;
    try {
      const secret = parseLink(
        await sharer.share(new File(['hello'], 'hello.txt'), location.href),
      )!;
      wire.log.length = 0;
      client = await SignalClient.connect(server);
      const { joined, sources } = client.joinAndAsk(
        { v: PROTOCOL_VERSION, roomId: secret.roomId, role: 'recipient' },
        { max: 4 },
      );
      expect((await joined).peerId).to.equal(client.peerId);
      expect((await sources).sources).to.have.length(1);
      // Both questions left before the first answer came back.
      expect(wire.log.filter((l) => l.startsWith('out') || l === 'in ack')).to.deep.equal([
        'out join',
        'out sources',
        'in ack',
        'in ack',
      ]);
    } finally {
      wire.restore();
      client?.close();
      await sharer.stop();
    }
  });

  it('reports the join’s failure when the join fails, and the question fails too', async () => {
    const server = await serviceUrl();
    const client = await SignalClient.connect(server);
    try {
      const { joined, sources } = client.joinAndAsk(
        { v: PROTOCOL_VERSION, roomId: 'A'.repeat(22), role: 'recipient' },
        {},
      );
      const failure = (p: Promise<unknown>) =>
        p.then(
          () => null,
          (err: unknown) => err,
        );
      const [joinError, askError] = await Promise.all([failure(joined), failure(sources)]);
      expect((joinError as P2PError).code).to.equal('room-not-found');
      expect(askError).to.be.instanceOf(P2PError);
    } finally {
      client.close();
    }
  });
});

describe('SignalClient reports', () => {
  /** A connected client whose acknowledged events get `answers` in turn instead of the service's. */
  async function answering(answers: object[]): Promise<{ client: SignalClient; sent: unknown[] }> {
    const client = await SignalClient.connect(await serviceUrl());
    const sent: unknown[] = [];
    const socket = (client as unknown as { socket: { timeout: (ms: number) => unknown } }).socket;
    socket.timeout = () => ({
      emitWithAck: async (_event: string, msg: unknown) => {
        sent.push(msg);
        return answers.shift();
      },
    });
    return { client, sent };
  }
  const busy = { ok: false, error: { code: 'rate-limited', message: 'busy', retryAfterMs: 50 } };

  it('sends a report the room refused as busy again when the service says', async () => {
    const { client, sent } = await answering([busy, busy, { ok: true }]);
    try {
      const started = performance.now();
      await client.report({ peerId: 'a'.repeat(20), reason: 'opened' });
      expect(sent).to.have.length(3);
      expect(performance.now() - started).to.be.at.least(95);
    } finally {
      client.close();
    }
  });

  it('gives up after four tries, and never retries another refusal', async () => {
    const { client, sent } = await answering([busy, busy, busy, busy, busy]);
    const other = await answering([{ ok: false, error: { code: 'not-allowed', message: 'no' } }]);
    try {
      const error = await client.report({ peerId: 'a'.repeat(20), reason: 'good' }).catch((e) => e);
      expect((error as P2PError).code).to.equal('rate-limited');
      expect(sent).to.have.length(4);
      const refused = await other.client
        .report({ peerId: 'a'.repeat(20), reason: 'good' })
        .catch((e) => e);
      expect((refused as P2PError).code).to.equal('not-allowed');
      expect(other.sent).to.have.length(1);
    } finally {
      client.close();
      other.client.close();
    }
  });
});

/** Delivers `packet` as if the service had sent it on `client`'s WebSocket. */
function incoming(client: SignalClient, packet: string): void {
  const { socket } = client as unknown as {
    socket: { io: { engine: { transport: { ws: WebSocket } } } };
  };
  const ws = socket.io.engine.transport.ws;
  ws.onmessage!(new MessageEvent('message', { data: packet }));
}

/** What the sessions keep their client in (private fields, read by the test only). */
interface Holds {
  signal: SignalClient;
  client: SignalClient;
}

describe('SignalClient service status', () => {
  it('forwards the service going and coming back, and drops a status it cannot read', async () => {
    const client = await SignalClient.connect(await serviceUrl());
    const heard: ServiceStatus[] = [];
    client.addEventListener('service', (e) => heard.push((e as CustomEvent<ServiceStatus>).detail));
    try {
      expect(client.unavailable).to.equal(false);
      incoming(client, '42["service",{"available":false,"retryAfterMs":2000}]');
      await until(() => heard.length === 1, 5000, 'the first status');
      expect(heard).to.deep.equal([{ available: false, retryAfterMs: 2000 }]);
      expect(client.unavailable).to.equal(true);
      incoming(client, '42["service",{"available":"no"}]');
      incoming(client, '42["service",{"available":true,"retryAfterMs":-1}]');
      incoming(client, '42["service",{"available":true}]');
      // Packets arrive in order: the unreadable two were handled, and dropped, before this one.
      await until(() => heard.length >= 2, 5000, 'the second status');
      expect(heard).to.deep.equal([{ available: false, retryAfterMs: 2000 }, { available: true }]);
      expect(client.unavailable).to.equal(false);
    } finally {
      client.close();
    }
  });

  it('puts it in the sharer’s and a seeding recipient’s state while it lasts', async () => {
    const server = await serviceUrl();
    const downloads = catchDownloads();
    const sharer = new ShareSession({ server });
    let recipient: ReceiveSession | null = null;
    try {
      const secret = parseLink(
        await sharer.share(new File(['hello'], 'hello.txt'), location.href),
      )!;
      recipient = new ReceiveSession({ server, secret, saveTo: 'opfs', seed: true });
      await recipient.load();
      await recipient.download();
      const sides = [
        { session: sharer, client: (sharer as unknown as Holds).signal, phase: 'sharing' },
        {
          session: recipient,
          client: (recipient as unknown as { signal: Holds }).signal.client,
          phase: 'done',
        },
      ];
      for (const { session, client, phase } of sides) {
        expect(session.state.phase).to.equal(phase);
        const unavailable = () => 'unavailable' in session.state && session.state.unavailable;
        expect(unavailable()).to.not.equal(true);
        incoming(client, '42["service",{"available":false,"retryAfterMs":2000}]');
        await until(() => unavailable() === true, 5000, `the ${phase} state to say so`);
        expect(session.state.phase).to.equal(phase);
        incoming(client, '42["service",{"available":true}]');
        await until(() => unavailable() === false, 5000, `the ${phase} state to say it is back`);
      }
    } finally {
      recipient?.dispose();
      await sharer.stop();
      downloads.stop();
    }
  });

  /**
   * A SourceSet for a 1000-byte file on a real client whose questions to the service get
   * `answers` in turn, recorded in `asked`; `positions` are the queue places it shows.
   */
  async function startSourceSet(answers: object[]) {
    const client = await SignalClient.connect(await serviceUrl());
    const asked: unknown[] = [];
    const socket = (client as unknown as { socket: { timeout: (ms: number) => unknown } }).socket;
    socket.timeout = () => ({
      emitWithAck: async (event: string, msg: unknown) => {
        asked.push([event, msg]);
        return answers.shift();
      },
    });
    const bytes = new Uint8Array(1000);
    const { meta } = await prepareFile(new File([bytes], 'a.bin'));
    const positions: (number | null)[] = [];
    const sources = new SourceSet({
      roomId: 'A'.repeat(22),
      client,
      keys: await deriveRoomKeys(randomId()),
      ice: {},
      download: new Download(meta, new MemorySink(bytes.length)),
      onPiece: () => {},
      onOpen: () => {},
      onQueue: (position) => positions.push(position),
    });
    const done = sources.start().catch((err: unknown) => err);
    return { client, asked, positions, sources, done };
  }

  it('asks for sources again at once when the service is back, not at its retry', async () => {
    const { client, asked, positions, sources, done } = await startSourceSet([
      {
        ok: false,
        error: { code: 'service-unavailable', message: 'later', retryAfterMs: 60_000 },
      },
      { ok: true, sources: [], position: 1 },
    ]);
    try {
      await until(() => asked.length === 1, 5000, 'the first question');
      // The refusal is handled (a retry in a minute is due) before the service says it is back.
      await tick();
      client.dispatchEvent(new CustomEvent('service', { detail: { available: false } }));
      expect(asked, 'not while the service is still away').to.have.length(1);
      client.dispatchEvent(new CustomEvent('service', { detail: { available: true } }));
      expect(asked).to.have.length(2);
      expect((asked[1] as [string])[0]).to.equal('sources');
      await until(() => positions.includes(1), 5000, 'the queue place');
    } finally {
      sources.stop(new P2PError('cancelled', { reason: 'user' }));
      await done;
      client.close();
    }
  });

  it('asks for sources again when it re-joined while queued: its place was under the old id', async () => {
    const { client, asked, positions, sources, done } = await startSourceSet([
      { ok: true, sources: [], position: 2 },
      { ok: true, sources: [], position: 3 },
    ]);
    try {
      await until(() => positions.includes(2), 5000, 'the first queue place');
      client.dispatchEvent(new CustomEvent('rejoined', { detail: { peerId: 'new' } }));
      await until(() => positions.includes(3), 5000, 'the place asked for again');
      expect(asked.map((a) => (a as [string])[0])).to.deep.equal(['sources', 'sources']);
    } finally {
      sources.stop(new P2PError('cancelled', { reason: 'user' }));
      await done;
      client.close();
    }
  });
});
