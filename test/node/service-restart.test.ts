/**
 * The widget's signalling client across a restart of a service that keeps rooms in memory: a
 * recipient's socket reconnects to a service that knows no room yet, keeps trying to re-join,
 * and is back in the room once the sharer has restored it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROTOCOL_VERSION } from '../../protocol/index.js';
import { defaultConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { createService, type Service } from '../../server/service.js';
import type { P2PError } from '../../src/errors.js';
import { RestClient } from '../../src/signal/rest.js';
import { SignalClient } from '../../src/signal/signal-client.js';
import { freePort } from '../../testing/ports.js';
import { until, withTimeout } from '../../testing/wait.js';

const META = 'c2VhbGVkLW1ldGE';

async function serviceOn(port: number, logs: string[] = []): Promise<Service> {
  const service = createService({
    config: { ...defaultConfig, logLevel: 'debug' },
    logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
  });
  await service.listen(port, '127.0.0.1');
  return service;
}

test(
  'a recipient re-joins once the sharer has restored the room',
  { timeout: 30_000 },
  async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    let service = await serviceOn(port);
    const rest = new RestClient(url);
    const room = await rest.createRoom(META);
    const recipient = await SignalClient.connect(url);
    try {
      await recipient.join({ v: PROTOCOL_VERSION, roomId: room.roomId, role: 'recipient' });
      const before = recipient.peerId;
      const lost: P2PError[] = [];
      recipient.addEventListener('lost', (e) => lost.push((e as CustomEvent<P2PError>).detail));
      const rejoined = new Promise<void>((resolve) =>
        recipient.addEventListener('rejoined', () => resolve()),
      );

      // A crash: the connections drop without Socket.IO's goodbye, so the client reconnects.
      service.io.engine.close();
      await service.close();
      const logs: string[] = [];
      service = await serviceOn(port, logs);

      // The recipient comes back first and finds no room, and neither gives up nor joins.
      await until(() => logs.some((line) => line.includes('"code":"room-not-found"')), {
        timeout: 15_000,
        message: 'the recipient never tried to re-join',
      });
      assert.deepEqual(await service.store.listMembers(room.roomId), []);
      assert.equal((await rest.createRoom(META, undefined, room)).roomId, room.roomId);
      await withTimeout(rejoined, 10_000, 'the recipient never re-joined the restored room');
      assert.deepEqual(lost, []);
      assert.notEqual(recipient.peerId, before);
      const members = await service.store.listMembers(room.roomId);
      assert.deepEqual(
        members.map((m) => [m.peerId, m.role]),
        [[recipient.peerId, 'recipient']],
      );
    } finally {
      recipient.close();
      await service.close();
    }
  },
);
