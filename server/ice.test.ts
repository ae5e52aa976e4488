import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as v from 'valibot';
import {
  ErrorReplySchema,
  IceConfigSchema,
  PROTOCOL_VERSION,
  type Ack,
  type IceConfig,
  type JoinReply,
} from '../protocol/index.js';
import { ConfigError, loadConfig } from './config.js';
import { iceTickets, turnCredential } from './ice.js';
import { request, startService, type Client, type Harness } from './test-support.js';

const SECRET = 'north-wind-turn-secret';
const STUN = { urls: 'stun:stun.example.test:3478' };
const TURN_URLS = ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'];

test('a TURN credential is coturn use-auth-secret: expiry:id, base64 HMAC-SHA1', () => {
  // Computed apart from Node: `printf 1700000000:alice | openssl dgst -sha1 -hmac <secret> -binary
  // | base64`.
  assert.deepEqual(turnCredential(SECRET, 1_700_000_000, 'alice'), {
    username: '1700000000:alice',
    credential: 'ejrnBELadoQ6f5+B6Cv64E/BhmI=',
  });
});

test('an ice ticket names its room and peer until it expires, and only as signed', () => {
  let clock = 1_000_000;
  const tickets = iceTickets({ secret: 'x'.repeat(32), ttlMs: 60_000, now: () => clock });
  const roomId = 'A'.repeat(22);
  const ticket = tickets.issue(roomId, 'peer_1');
  assert.deepEqual(tickets.read(ticket), { roomId, peerId: 'peer_1' });
  // Another room or peer under the same MAC, or another signer, is nobody.
  assert.equal(tickets.read(ticket.replace('peer_1', 'peer_2')), null);
  assert.equal(tickets.read(ticket.replace(roomId, 'B'.repeat(22))), null);
  const other = iceTickets({ secret: 'y'.repeat(32), ttlMs: 60_000, now: () => clock });
  assert.equal(other.read(ticket), null);
  assert.equal(tickets.read(undefined), null);
  assert.equal(tickets.read('junk'), null);
  clock += 60_000;
  assert.equal(tickets.read(ticket), null, 'expired');
});

describe('GET /ice', () => {
  let h: Harness;
  let clock = Date.now();
  before(async () => {
    h = await startService({
      config: {
        iceServers: [STUN],
        turnUrls: TURN_URLS,
        turnSecret: SECRET,
        turnTtlSeconds: 600,
        relayOnly: true,
        iceRequestsPerAddress: 20,
      },
      now: () => clock,
    });
  });
  after(() => h.close());

  const ice = async (ticket?: string): Promise<IceConfig> => {
    const res = await fetch(`${h.url}/ice`, {
      headers: ticket === undefined ? {} : { authorization: `Bearer ${ticket}` },
    });
    assert.equal(res.status, 200);
    return v.parse(IceConfigSchema, await res.json());
  };

  async function member(role: 'sharer' | 'recipient' = 'recipient') {
    const room = await h.createRoom();
    const socket = await h.connect();
    const ack = (await request(socket, 'join', {
      v: PROTOCOL_VERSION,
      roomId: room.roomId,
      role: 'sharer',
      sharerToken: room.sharerToken,
    })) as Ack<JoinReply>;
    assert.ok(ack.ok);
    if (role === 'sharer') return { socket, ticket: ack.ice! };
    const other = await h.connect();
    const joined = (await request(other, 'join', {
      v: PROTOCOL_VERSION,
      roomId: room.roomId,
      role,
    })) as Ack<JoinReply>;
    assert.ok(joined.ok);
    return { socket: other, ticket: joined.ice! };
  }

  test('a member with its ticket gets fresh TURN credentials coturn accepts', async () => {
    const { ticket } = await member();
    assert.match(ticket, /^[\w-]{22}\.[\w-]+\.\d+\.[\w-]{43}$/);
    const reply = await ice(ticket);
    assert.equal(reply.iceTransportPolicy, 'relay');
    assert.equal(reply.ttl, 600);
    assert.deepEqual(reply.iceServers[0], STUN);
    const turn = reply.iceServers[1]!;
    assert.deepEqual(turn.urls, TURN_URLS);
    const [expiry, id] = turn.username!.split(':');
    assert.equal(Number(expiry), Math.floor(clock / 1000) + 600);
    assert.match(id!, /^[\w-]{12}$/);
    // What coturn computes from its static-auth-secret.
    const expected = createHmac('sha1', SECRET).update(turn.username!).digest('base64');
    assert.equal(turn.credential, expected);
    // Each request mints its own.
    const again = (await ice(ticket)).iceServers[1]!;
    assert.notEqual(again.username, turn.username);
  });

  test('the sharer gets a ticket too', async () => {
    const { ticket } = await member('sharer');
    assert.equal((await ice(ticket)).iceServers.length, 2);
  });

  test('without a valid ticket only the static servers and the default', async () => {
    const { ticket } = await member();
    const stranger: IceConfig = { iceServers: [STUN], iceTransportPolicy: 'relay' };
    assert.deepEqual(await ice(), stranger);
    assert.deepEqual(await ice('junk'), stranger);
    assert.deepEqual(await ice(ticket.slice(0, -1) + (ticket.endsWith('A') ? 'B' : 'A')), stranger);
  });

  test('a ticket of a peer that left the room mints nothing', async () => {
    const { socket, ticket } = await member();
    assert.equal((await ice(ticket)).iceServers.length, 2);
    const gone = new Promise((resolve) => socket.once('disconnect', resolve));
    socket.disconnect();
    await gone;
    // The service takes the member out once it hears the socket close.
    for (let i = 0; i < 100; i++) {
      if ((await ice(ticket)).iceServers.length === 1) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.fail('the departed peer still gets credentials');
  });

  test('requests past the per-address limit get 429 with the wait', async () => {
    clock += 60_000; // A fresh window.
    for (let i = 0; i < 20; i++) await ice();
    const res = await fetch(`${h.url}/ice`);
    assert.equal(res.status, 429);
    const { error } = v.parse(ErrorReplySchema, await res.json());
    assert.equal(error.code, 'rate-limited');
    assert.ok(Number(res.headers.get('retry-after')) > 0);
  });
});

test('without TURN a join carries no ticket and /ice no credentials', async () => {
  const h = await startService({ config: { iceServers: [STUN] } });
  try {
    const room = await h.createRoom();
    const socket: Client = await h.connect();
    const ack = (await request(socket, 'join', {
      v: PROTOCOL_VERSION,
      roomId: room.roomId,
      role: 'sharer',
      sharerToken: room.sharerToken,
    })) as Ack<JoinReply>;
    assert.ok(ack.ok);
    assert.equal(ack.ice, undefined);
    const res = await fetch(`${h.url}/ice`);
    assert.deepEqual(await res.json(), { iceServers: [STUN] });
  } finally {
    await h.close();
  }
});

describe('TURN configuration', () => {
  const SET = { TURN_URLS: 'turn:turn.example.com:3478', TURN_SECRET: SECRET };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message.split('\n').slice(1);
    }
    return [];
  };

  test('reads the TURN servers, secret, lifetime and relay-only default', () => {
    const config = loadConfig({
      TURN_URLS: 'turn:turn.example.com:3478?transport=udp, turns:[2001:db8::1]:5349',
      TURN_SECRET: SECRET,
      TURN_TTL: '900',
      RELAY_ONLY: 'true',
    });
    assert.deepEqual(config.turnUrls, [
      'turn:turn.example.com:3478?transport=udp',
      'turns:[2001:db8::1]:5349',
    ]);
    assert.equal(config.turnSecret, SECRET);
    assert.equal(config.turnTtlSeconds, 900);
    assert.equal(config.relayOnly, true);
    const plain = loadConfig({});
    assert.deepEqual([plain.turnUrls, plain.turnSecret, plain.relayOnly], [[], null, false]);
    assert.equal(plain.turnTtlSeconds, 3600);
  });

  test('each half of the TURN settings without the other is one clear line', () => {
    assert.deepEqual(problems({ TURN_URLS: SET.TURN_URLS }), [
      '  TURN_URLS: needs TURN_SECRET (the static-auth-secret of the TURN servers)',
    ]);
    assert.deepEqual(problems({ TURN_SECRET: SECRET }), [
      '  TURN_SECRET: needs TURN_URLS (the TURN servers it signs credentials for)',
    ]);
  });

  test('bad values name their variable', () => {
    const [url] = problems({ ...SET, TURN_URLS: 'stun:stun.example.com' });
    assert.match(url!, /^ {2}TURN_URLS: must be a comma-separated list of turn: or turns: URLs/);
    assert.match(problems({ ...SET, TURN_SECRET: 'short' })[0]!, /^ {2}TURN_SECRET: must be/);
    assert.match(problems({ ...SET, TURN_TTL: '10' })[0]!, /^ {2}TURN_TTL: must be at least 60/);
    assert.match(problems({ ...SET, RELAY_ONLY: 'yes' })[0]!, /^ {2}RELAY_ONLY: must be true/);
  });

  test('relay-only needs a relay', () => {
    assert.deepEqual(problems({ RELAY_ONLY: '1' }), [
      '  RELAY_ONLY: needs a TURN server (TURN_URLS, or a turn: URL in ICE_SERVERS)',
    ]);
    const viaIceServers = JSON.stringify([
      { urls: ['turn:turn.example.com'], username: 'u', credential: 'c' },
    ]);
    assert.equal(loadConfig({ RELAY_ONLY: '1', ICE_SERVERS: viaIceServers }).relayOnly, true);
  });
});
