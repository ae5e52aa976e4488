/**
 * Shared by the hostile Node tests: a complete, normal sealed exchange between a sharer and a
 * recipient in a fresh room (the proof that the service still does its job after an attack), and
 * a forced garbage collection for memory checks.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deriveRoomKeys, type RoomKeys } from '../../src/crypto/keys.js';
import { openJson, sealJson } from '../../src/crypto/seal.js';
import { META_AAD, signalAad as sealingAad } from '../../protocol/sealing.js';
import { PROTOCOL_VERSION, randomId, type FileMeta, type SignalIn } from '../../protocol/index.js';
import {
  join,
  nextEvent,
  passwordAuthFor,
  request,
  tryPassword,
  whileHasherBusy,
  type Client,
  type Harness,
} from '../../server/test-support.js';

/** Envelopes here are sealed as the widget seals an offerer's. */
export const signalAad = (roomId: string, from: string, to: string) =>
  sealingAad(roomId, from, to, 'offerer');

const FILE: FileMeta = {
  v: PROTOCOL_VERSION,
  name: 'holiday.mov',
  size: 1_048_576,
  type: 'video/quicktime',
  lastModified: 1_700_000_000_000,
  pieceSize: 262_144,
  pieceCount: 4,
  manifestSha256: 'c'.repeat(64),
  sha256: 'd'.repeat(64),
};

/**
 * A sharer creates a room (with a password when one is given), a recipient reads the sealed
 * metadata and joins (over long-polling), and they trade a sealed offer, answer and candidates,
 * each opened by its addressee. Throws (an assertion) at the first thing that does not work.
 */
export async function sealedExchange(h: Harness, password?: string): Promise<void> {
  const linkKey = randomId();
  const keys = await deriveRoomKeys(linkKey);
  const passwordAuth = password === undefined ? undefined : passwordAuthFor(linkKey, password);
  const room = await h.createRoom(await sealJson(keys.meta, FILE, META_AAD), passwordAuth);

  const sharer = await h.connect();
  const recipient = await h.connect({ transports: ['polling'] });
  try {
    const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
    let token: string | undefined;
    if (passwordAuth !== undefined) {
      const res = await whileHasherBusy(() => tryPassword(h.url, room.roomId, passwordAuth));
      assert.equal(res.status, 200, 'the right password');
      token = ((await res.json()) as { token: string }).token;
    }
    const info = (await (
      await fetch(`${h.url}/rooms/${room.roomId}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      })
    ).json()) as { meta: string };
    assert.deepEqual(await openJson(keys.meta, info.meta, META_AAD), FILE);

    const recipientId = await join(recipient, room.roomId, 'recipient', undefined, token);
    assert.deepEqual(await request(recipient, 'sources', {}), { ok: true, sources: [sharerId] });

    const send = (
      from: Client,
      fromId: string,
      to: Client,
      toId: string,
      body: Record<string, unknown>,
    ) => relaySealed(keys, room.roomId, { from, fromId, to, toId }, body);
    await send(recipient, recipientId, sharer, sharerId, { k: 'offer', sdp: 'v=0 offer' });
    await send(sharer, sharerId, recipient, recipientId, { k: 'answer', sdp: 'v=0 answer' });
    for (let n = 0; n < 3; n++) {
      const c = { candidate: `candidate:${n} 1 udp 1 192.0.2.${n} 9 typ host`, sdpMid: '0' };
      await send(recipient, recipientId, sharer, sharerId, { k: 'candidate', c });
      await send(sharer, sharerId, recipient, recipientId, { k: 'candidate', c });
    }
  } finally {
    sharer.disconnect();
    recipient.disconnect();
  }
}

/**
 * Seals `body` as `fromId` would for `toId`, relays it through the service and checks that the
 * addressee gets it from `fromId` and opens it to `body`; resolves to the sealed envelope.
 */
export async function relaySealed(
  keys: RoomKeys,
  roomId: string,
  { from, fromId, to, toId }: { from: Client; fromId: string; to: Client; toId: string },
  body: Record<string, unknown>,
): Promise<string> {
  const aad = signalAad(roomId, fromId, toId);
  const sealed = await sealJson(keys.signal, body, aad);
  const arrives = nextEvent<SignalIn>(to, 'signal');
  assert.deepEqual(await request(from, 'signal', { to: toId, envelope: sealed }), { ok: true });
  const got = await arrives;
  assert.equal(got.from, fromId);
  assert.equal(got.envelope, sealed);
  assert.deepEqual(await openJson(keys.signal, got.envelope, aad), body);
  return sealed;
}

let collect: (() => void) | undefined;

/** Runs a full garbage collection (V8's `gc`, reached without --expose-gc on the command line). */
export function forceGc(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  collect();
}
