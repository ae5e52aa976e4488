/**
 * The widget's signalling client through a graceful shutdown: the draining process closes its
 * connections, the client reconnects to the process that takes over its address (here, on the
 * same port, over the same room store, as a shared store would be), the client joins its room
 * again, and sharer and recipient keep relaying there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignalClient } from '../../src/signal/signal-client.js';
import { defaultConfig, type Config } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { createService, type Service } from '../../server/service.js';
import { MemoryRoomStore } from '../../server/store/memory.js';
import { ENVELOPE } from '../../server/test-support.js';
import { PROTOCOL_VERSION, type CreateRoomReply, type SignalIn } from '../../protocol/index.js';

/** A memory store shared by two services: the first to close must not empty it. */
class SharedStore extends MemoryRoomStore {
  override async close(): Promise<void> {}
}

const config: Config = { ...defaultConfig, logLevel: 'silent' };

function serve(store: SharedStore): Service {
  return createService({ config, store, logger: createLogger({ level: 'silent' }) });
}

function nextOf<T>(client: SignalClient, type: string): Promise<T> {
  return new Promise((resolve) =>
    client.addEventListener(type, (e) => resolve((e as CustomEvent<T>).detail), { once: true }),
  );
}

test('sharer and recipient rejoin on the process that takes over, and keep relaying', async () => {
  const store = new SharedStore(config);
  const first = serve(store);
  const { port, url } = await first.listen(0, '127.0.0.1');
  let second: Service | undefined;
  const clients: SignalClient[] = [];
  try {
    const res = await fetch(`${url}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: PROTOCOL_VERSION, meta: 'c2VhbGVkLW1ldGE' }),
    });
    const room = (await res.json()) as CreateRoomReply;
    const sharer = await SignalClient.connect(url);
    const recipient = await SignalClient.connect(url);
    clients.push(sharer, recipient);
    await sharer.join({
      v: PROTOCOL_VERSION,
      roomId: room.roomId,
      role: 'sharer',
      sharerToken: room.sharerToken,
    });
    await recipient.join({ v: PROTOCOL_VERSION, roomId: room.roomId, role: 'recipient' });
    const before = [sharer.peerId, recipient.peerId];
    const rejoined = Promise.all([
      nextOf<{ peerId: string }>(sharer, 'rejoined'),
      nextOf<{ peerId: string }>(recipient, 'rejoined'),
    ]);
    let lost = 0;
    for (const client of clients) client.addEventListener('lost', () => lost++);

    // The old process drains and closes; a new one takes its port.
    assert.deepEqual(await first.drain(5_000), { forced: false });
    second = serve(store);
    await second.listen(port, '127.0.0.1');

    const [asSharer, asRecipient] = await rejoined;
    assert.equal(lost, 0);
    assert.equal(sharer.peerId, asSharer.peerId);
    assert.ok(!before.includes(asSharer.peerId) && !before.includes(asRecipient.peerId));
    // The old process settled its sockets' departures before it closed: only the new ones remain.
    assert.deepEqual(
      (await store.listMembers(room.roomId)).map((m) => m.peerId).sort(),
      [asSharer.peerId, asRecipient.peerId].sort(),
    );

    // The recipient is assigned the sharer under its new id, and an envelope reaches it.
    assert.deepEqual((await recipient.sources()).sources, [asSharer.peerId]);
    const arrived = nextOf<SignalIn>(sharer, 'signal');
    recipient.signal(asSharer.peerId, ENVELOPE);
    assert.deepEqual(await arrived, { from: asRecipient.peerId, envelope: ENVELOPE });
  } finally {
    for (const client of clients) client.close();
    await first.close();
    await second?.close();
  }
});
