/**
 * SignalClient against the real signalling service: relays go out without an ack, and a relay the
 * service refused comes back as a `signal-failed` event naming the addressee, with its code, so
 * the session can fail that one link.
 */
import { expect } from '@open-wc/testing';
import { parseLink } from '../../src/crypto/link.js';
import { P2PError } from '../../src/protocol/errors.js';
import { PROTOCOL_VERSION } from '../../src/protocol/version.js';
import { ShareSession } from '../../src/session/share-session.js';
import { SignalClient } from '../../src/signal/signal-client.js';
import { serviceUrl } from '../service-url.js';

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
