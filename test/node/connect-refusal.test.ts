/**
 * The widget's signalling client against a service that refuses its connection for the client
 * address's budget: the refusal's code reaches the widget, not "cannot reach the service".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { P2PError } from '../../src/errors.js';
import { SignalClient } from '../../src/signal/signal-client.js';
import { startService } from '../../server/test-support.js';

test('a connection refused for the address budget rejects with its code', async () => {
  const h = await startService({ config: { socketsPerAddress: 1 } });
  try {
    const first = await SignalClient.connect(h.url);
    const refused = await SignalClient.connect(h.url).then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof P2PError, String(refused));
    assert.equal(refused.code, 'too-many-connections');
    first.close();
  } finally {
    await h.close();
  }
});

test('a connection over the connection rate rejects with rate-limited and the wait', async () => {
  const h = await startService({ config: { connectionsPerAddress: 1 } });
  try {
    (await SignalClient.connect(h.url)).close();
    const refused = await SignalClient.connect(h.url).then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof P2PError, String(refused));
    assert.equal(refused.code, 'rate-limited');
    assert.ok((refused.params.retryAfterMs ?? 0) > 0);
  } finally {
    await h.close();
  }
});
