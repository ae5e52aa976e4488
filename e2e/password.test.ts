/**
 * Password shares between two real browsers: the sharer sets a password in the widget, the
 * recipient's widget asks for it, refuses a wrong one (shown and fired as bad-password) and
 * downloads with the right one. And the service's side of the promise: someone with the link but
 * without the password cannot join the room over Socket.IO, with no token, a made-up one or
 * another room's, and never receives a single envelope while a real recipient downloads.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { parseLink } from '../src/crypto/link.js';
import type { ErrorBody } from '../protocol/errors.js';
import {
  PROTOCOL_VERSION,
  type Ack,
  type ClientToServerEvents,
  type JoinReply,
  type ServerToClientEvents,
} from '../protocol/index.js';
import { makeRandomFile, MiB } from '../testing/files.js';
import { openLocked, shareWithPassword, submitPassword } from './lib/password.js';
import { eventCount, events } from './lib/recorder.js';
import { visibleText, waitForShownError, waitForText } from './lib/screen.js';
import { downloadAndVerify } from './lib/transfer.js';
import { useE2E } from './lib/world.js';

const PASSWORD = 'correct horse battery staple';

// Two password tries per test from the same address: well inside the default limits, which
// the brute-force test exercises on its own service.
const env = useE2E();

async function roomInfo(roomId: string): Promise<Record<string, unknown>> {
  const res = await fetch(new URL(`rooms/${roomId}`, env.serviceUrl));
  assert.equal(res.status, 200, `GET /rooms/${roomId}`);
  return (await res.json()) as Record<string, unknown>;
}

test(
  'Chromium to Chromium with a password: a wrong one is refused and said, the right one downloads',
  { timeout: 120_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'locked-report.bin', 1 * MiB);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'recipient'),
    ]);
    const link = await shareWithPassword(sharer, file, PASSWORD);
    const sharerText = await visibleText(sharer.page);
    assert.match(sharerText, /The link needs the password you set/);
    assert.ok(!sharerText.includes(PASSWORD), 'the sharer never sees the password again');
    assert.ok(!link.includes(encodeURIComponent(PASSWORD).slice(0, 7)), 'nor is it in the link');

    const info = await roomInfo(parseLink(link)!.roomId);
    assert.equal(info.passwordRequired, true);
    assert.ok(!('meta' in info), 'the room shows no metadata without the password');

    await openLocked(recipient, link);
    assert.ok(
      !(await visibleText(recipient.page)).includes(file.name),
      'the file name is not shown before the password',
    );

    let since = await eventCount(recipient.page);
    await submitPassword(recipient, 'Tr0ub4dor&3');
    const refused = await waitForShownError(recipient.page, { since });
    assert.equal(refused.detail.code, 'bad-password', JSON.stringify(refused.detail));
    await waitForText(recipient.page, 'Wrong password');
    assert.ok(!(await visibleText(recipient.page)).includes(file.name));

    since = await eventCount(recipient.page);
    await submitPassword(recipient, PASSWORD);
    await waitForText(recipient.page, file.name);
    const result = await downloadAndVerify(recipient, file);
    assert.equal(result.complete.detail.sha256, file.sha256);
    const later = (await events(recipient.page)).slice(since);
    assert.deepEqual(
      later.filter((e) => e.type === 'p2p-share-error'),
      [],
      'no error after the right password',
    );
  },
);

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

function connect(): Promise<Client> {
  const socket: Client = io(new URL(env.serviceUrl).origin, {
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: { origin: env.hostOrigin },
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function ack<T extends object>(emit: (done: (res: Ack<T>) => void) => void): Promise<Ack<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the service did not answer')), 5000);
    emit((res) => {
      clearTimeout(timer);
      resolve(res);
    });
  });
}

function refusal(res: Ack<object>): ErrorBody {
  assert.equal(res.ok, false, `expected a refusal, got ${JSON.stringify(res)}`);
  return (res as { ok: false; error: ErrorBody }).error;
}

/** A password room of the test's own, made over REST, and a valid room token for it. */
async function otherRoomToken(): Promise<string> {
  const passwordAuth = randomBytes(32).toString('base64url');
  const created = await fetch(new URL('rooms', env.serviceUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      v: PROTOCOL_VERSION,
      meta: randomBytes(64).toString('base64url'),
      passwordAuth,
    }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { roomId } = (await created.json()) as { roomId: string };
  const unlocked = await fetch(new URL(`rooms/${roomId}/password`, env.serviceUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ v: PROTOCOL_VERSION, passwordAuth }),
  });
  assert.equal(unlocked.status, 200, await unlocked.clone().text());
  return ((await unlocked.json()) as { token: string }).token;
}

test(
  'with the link but without the password, nobody joins the room or receives any envelope',
  { timeout: 120_000 },
  async () => {
    const file = await makeRandomFile(env.tmp, 'guarded.bin', 512 * 1024);
    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer'),
      env.launch('chromium', 'recipient'),
    ]);
    const link = await shareWithPassword(sharer, file, PASSWORD);
    const { roomId } = parseLink(link)!;

    const intruder = await connect();
    const heard: string[] = [];
    intruder.onAny((event: string) => heard.push(event));
    try {
      const join = (token?: string) =>
        ack<JoinReply>((done) =>
          intruder.emit(
            'join',
            { v: PROTOCOL_VERSION, roomId, role: 'recipient', ...(token ? { token } : {}) },
            done,
          ),
        );
      assert.equal(refusal(await join()).code, 'not-allowed', 'no token');
      const forged = `${Date.now() + 600_000}.${randomBytes(32).toString('base64url')}`;
      assert.equal(refusal(await join(forged)).code, 'not-allowed', 'a made-up token');
      assert.equal(
        refusal(await join(await otherRoomToken())).code,
        'not-allowed',
        "another room's valid token",
      );
      // Not in the room, it may neither ask for sources nor address anyone.
      const sources = await ack((done) => intruder.emit('sources', {}, done));
      assert.equal(sources.ok, false, `sources: ${JSON.stringify(sources)}`);
      const signal = await ack((done) =>
        intruder.emit(
          'signal',
          { to: 'sharer', envelope: randomBytes(48).toString('base64url') },
          done,
        ),
      );
      assert.equal(signal.ok, false, `signal: ${JSON.stringify(signal)}`);

      // Meanwhile a recipient with the password joins the same room and downloads: envelopes
      // flow in that room, and none of them reaches the intruder.
      await openLocked(recipient, link);
      await submitPassword(recipient, PASSWORD);
      await waitForText(recipient.page, file.name);
      await downloadAndVerify(recipient, file);
      assert.ok(intruder.connected, 'the intruder stayed connected the whole time');
      assert.deepEqual(heard, [], 'the intruder received no event at all');
    } finally {
      intruder.close();
    }
  },
);
