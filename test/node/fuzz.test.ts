/**
 * Property-based fuzzing of the whole service: more than 20,000 malformed, oversized, wrongly typed
 * and out-of-order socket events, raw Socket.IO packets and REST requests from attacker sockets on
 * both transports. Every answer must be a well-formed acknowledgement or REST reply (never a 5xx,
 * never a hang), rooms the attackers may not enter must hear nothing, and afterwards the service
 * must be alive, back near its starting memory, and still carry a normal sealed exchange.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { io } from 'socket.io-client';
import { Encoder, PacketType } from 'socket.io-parser';
import * as v from 'valibot';
import {
  ERROR_CODES,
  ErrorReplySchema,
  PROTOCOL_VERSION,
  randomId,
  type Ack,
} from '../../protocol/index.js';
import {
  join,
  passwordAuthFor,
  recordEvents,
  settled,
  sleep,
  startService,
  tryPassword,
  type Client,
  type Harness,
  type RawClient,
} from '../../server/test-support.js';
import { forceGc, sealedExchange } from './support.js';

const MAX_BUFFER = 16 * 1024;
const RUNS = 700;
const MiB = 1024 * 1024;

/** What one fuzz step does. */
type Action =
  | { kind: 'emit'; event: string; args: unknown[]; ack: boolean }
  | { kind: 'raw'; packet: string | Uint8Array }
  | {
      kind: 'rest';
      method: string;
      path: string;
      headers: Record<string, string>;
      body?: string | Uint8Array;
    };

const ackCodes = new Set<string>(ERROR_CODES);

/** An upper bound on a payload's encoded size (buffers count as their JSON form). */
function roughSize(args: unknown[]): number {
  return JSON.stringify(args)?.length ?? 0;
}

function assertAck(ack: unknown, context: string): asserts ack is Ack<object> {
  assert.ok(typeof ack === 'object' && ack !== null, context);
  const a = ack as Record<string, unknown>;
  if (a.ok === true) return;
  assert.equal(a.ok, false, context);
  const error = a.error as { code?: unknown; message?: unknown };
  assert.ok(ackCodes.has(error.code as string), `${context}: code ${String(error.code)}`);
  assert.notEqual(error.code, 'internal', context);
  assert.equal(typeof error.message, 'string', context);
}

describe('fuzzing the service', () => {
  let h: Harness;
  /** Rooms the attackers must never reach, with members that record what they receive. */
  let victims: Client[];
  let victimIds: string[];
  let passwordRoom: string;
  let openRoom: string;
  let attackers: Client[];
  const RESERVED = [
    'connect',
    'connect_error',
    'disconnect',
    'disconnecting',
    'newListener',
    'removeListener',
  ];

  before(async () => {
    h = await startService({
      config: {
        logLevel: 'warn',
        maxHttpBufferSize: MAX_BUFFER,
        maxEnvelopeChars: 8 * 1024,
        // The fuzzer is one client sending as fast as it can; the limits have their own tests.
        socketMessagesPerSecond: 1_000_000,
        socketMessageBurst: 1_000_000,
        roomsPerAddress: 50,
        // Its random password tries would leave no try for the exchange that checks the service
        // still works afterwards (one address, the default window).
        passwordTriesPerAddress: 100_000,
      },
    });
    const auth = passwordAuthFor(randomId(), 'secret');
    const locked = await h.createRoom('bG9ja2Vk', auth);
    const hidden = await h.createRoom('aGlkZGVu');
    passwordRoom = locked.roomId;
    openRoom = hidden.roomId;
    const token = (
      (await (await tryPassword(h.url, locked.roomId, auth)).json()) as { token: string }
    ).token;
    victims = await Promise.all([h.connect(), h.connect(), h.connect(), h.connect()]);
    victimIds = [
      await join(victims[0]!, locked.roomId, 'sharer', locked.sharerToken),
      await join(victims[1]!, locked.roomId, 'recipient', undefined, token),
      await join(victims[2]!, hidden.roomId, 'sharer', hidden.sharerToken),
      await join(victims[3]!, hidden.roomId),
    ];
  });
  after(() => h.close());

  test('20,000+ hostile inputs: no crash, no leak, no cross-room delivery', async () => {
    // Attackers know the password room's id (not its password), every victim's peer id, and a
    // room of their own; they do not know the open room's id.
    const playground = await h.createRoom();
    const ids = () => [...victimIds, ...attackers.map((a) => a.id ?? 'gone')];

    // Within the buffer limit here; oversized messages come at the end of a run (see `tail`).
    const text = fc.oneof(
      { weight: 6, arbitrary: fc.string({ maxLength: 40 }) },
      { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) },
      { weight: 1, arbitrary: fc.nat(4096).map((n) => 'A'.repeat(n)) },
    );
    const junk = fc.oneof(
      fc.anything({
        maxDepth: 3,
        maxKeys: 5,
        withTypedArray: true,
        withNullPrototype: true,
        withSparseArray: true,
        withDate: true,
      }),
      fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b)),
      text,
    );
    const roomId = fc.oneof(
      fc.constantFrom(passwordRoom, playground.roomId, 'AAAAAAAAAAAAAAAAAAAAAA'),
      fc.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      junk,
    );
    const peerId = fc.oneof(
      fc.nat(64).map((i) => ids()[i % ids().length]!),
      fc.stringMatching(/^[A-Za-z0-9_-]{20}$/),
      junk,
    );
    const envelope = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,200}$/), text, junk);
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const withExtra = (arb: fc.Arbitrary<Record<string, unknown>>) =>
      fc
        .tuple(arb, fc.option(fc.dictionary(fc.string({ maxLength: 8 }), junk, { maxKeys: 2 })))
        .map(([base, extra]) => ({ ...base, ...(extra ?? {}) }));
    const joinPayload = withExtra(
      fc.record(
        {
          v: fc.oneof(fc.constant(PROTOCOL_VERSION), junk),
          roomId,
          role: fc.oneof(fc.constantFrom('sharer', 'recipient', 'admin'), junk),
          sharerToken: fc.oneof(fc.constant(randomId(32)), junk),
          token: fc.oneof(fc.stringMatching(/^[0-9]{13}\.[A-Za-z0-9_-]{43}$/), junk),
        },
        { requiredKeys: [] },
      ),
    );
    const signalPayload = withExtra(
      fc.record({ to: peerId, envelope: maybe(envelope) }, { requiredKeys: ['to'] }),
    );
    const sourcesPayload = withExtra(
      fc.record(
        {
          exclude: fc.oneof(fc.array(peerId, { maxLength: 70 }), junk),
          max: fc.oneof(fc.integer({ min: -2, max: 20 }), junk),
        },
        { requiredKeys: [] },
      ),
    );
    const seedPayload = withExtra(
      fc.record(
        {
          have: fc.oneof(fc.constantFrom('none', 'some', 'all'), junk),
          seeding: fc.oneof(fc.boolean(), junk),
        },
        { requiredKeys: [] },
      ),
    );
    const releasePayload = withExtra(fc.record({ peerId }, { requiredKeys: [] }));
    const reportPayload = withExtra(
      fc.record(
        { peerId, reason: fc.oneof(fc.constantFrom('corrupt', 'misbehaved'), junk) },
        { requiredKeys: [] },
      ),
    );
    const payloads: Record<string, fc.Arbitrary<unknown>> = {
      join: joinPayload,
      signal: signalPayload,
      sources: sourcesPayload,
      seed: seedPayload,
      release: releasePayload,
      report: reportPayload,
    };
    const payloadFor = (event: string) =>
      Object.hasOwn(payloads, event) ? payloads[event]! : junk;

    const eventName = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom('join', 'sources', 'signal', 'seed', 'release', 'report'),
      },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.constantFrom(
            'peer-left',
            'room-closed',
            'assigned',
            'queue',
            'swarm',
            '__proto__',
            'constructor',
            'toString',
            'error',
          ),
          fc.string({ maxLength: 20 }).filter((e) => !RESERVED.includes(e)),
        ),
      },
    );
    const emit: fc.Arbitrary<Action> = eventName
      .chain((event) =>
        fc.record({
          kind: fc.constant('emit' as const),
          event: fc.constant(event),
          args: fc.oneof(
            { weight: 8, arbitrary: payloadFor(event).map((p) => [p]) },
            { weight: 1, arbitrary: fc.array(junk, { maxLength: 3 }) },
          ),
          ack: fc.oneof(
            { weight: 9, arbitrary: fc.constant(true) },
            { weight: 1, arbitrary: fc.constant(false) },
          ),
        }),
      )
      .filter((a) => a.kind !== 'emit' || roughSize(a.args) < MAX_BUFFER / 2);
    const raw: fc.Arbitrary<Action> = fc
      .oneof(
        fc.constantFrom(
          '2',
          '2[',
          '2{"a":1}',
          '2[]',
          '2[42]',
          '2["disconnect"]',
          '2["join",{"v":1}',
          '21["join"]',
          '299999999999999999999["join",{}]',
          '3["stray ack"]',
          '31["stray ack"]',
          '0/admin,',
          '0/nope,{"token":1}',
          '1',
          '4"boom"',
          '51-["signal",{"to":"x","envelope":{"_placeholder":true,"num":0}}]',
          '52-["signal",{"_placeholder":true,"num":7}]',
          '5999-["signal",{"_placeholder":true,"num":0}]',
          '5-1-["join"]',
          '61-[{"_placeholder":true,"num":0}]',
          '7',
          '9',
        ),
        fc
          .tuple(fc.constantFrom('0', '1', '2', '3', '4', '5', '6'), fc.string({ maxLength: 60 }))
          .map(([t, rest]) => t + rest),
        fc.uint8Array({ maxLength: 64 }),
      )
      .map((packet) => ({ kind: 'raw' as const, packet }));
    // What ends an attacker's session: raw packets, or a message over the buffer limit (as
    // text, or as a binary attachment where a string belongs).
    const oversized: fc.Arbitrary<Action> = fc
      .tuple(
        fc.constantFrom('signal', 'join', 'sources', 'seed', 'report', 'nope'),
        fc.nat(MAX_BUFFER),
        fc.boolean(),
      )
      .map(([event, extra, binary]) => {
        const big = binary ? Buffer.alloc(MAX_BUFFER + extra, 1) : 'A'.repeat(MAX_BUFFER + extra);
        return {
          kind: 'emit' as const,
          event,
          args: [{ to: victimIds[0], envelope: big }],
          ack: true,
        };
      });
    const tail = fc.oneof(
      fc.array(raw, { minLength: 1, maxLength: 4 }),
      oversized.map((a) => [a]),
    );
    const rest: fc.Arbitrary<Action> = fc.record({
      kind: fc.constant('rest' as const),
      method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD'),
      path: fc.oneof(
        fc.constantFrom(
          '/rooms',
          `/rooms/${passwordRoom}`,
          `/rooms/${passwordRoom}/password`,
          `/rooms/${playground.roomId}`,
          '/rooms/AAAAAAAAAAAAAAAAAAAAAA/password',
          '/rooms/%00',
          '/rooms//password',
          '/rooms/..%2F..%2Fetc%2Fpasswd',
          '/healthz',
          '/ice',
          '/',
          '/p2p-share.js',
          '/chunks/..%2F..%2Fpackage.json',
          '/demo/%2e%2e/server/config.ts',
          '/socket.io/?EIO=4&transport=polling',
          '/socket.io/?EIO=3&transport=polling',
          '/socket.io/?EIO=4&transport=polling&sid=nope',
        ),
        fc.string({ maxLength: 30 }).map((s) => `/rooms/${encodeURIComponent(s)}`),
        fc.webPath(),
      ),
      headers: fc.record(
        {
          'content-type': fc.constantFrom('application/json', 'text/plain', 'multipart/form-data'),
          authorization: fc.oneof(
            fc.constant(`Bearer ${randomId(32)}`),
            fc.stringMatching(/^Bearer [0-9]{13}\.[A-Za-z0-9_-]{43}$/),
            fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
          ),
          origin: fc.constantFrom('https://evil.example', 'null', 'http://127.0.0.1'),
          'x-forwarded-for': fc.constantFrom('198.51.100.1', '::1, 10.0.0.1', 'garbage'),
        },
        { requiredKeys: [] },
      ),
      body: maybe(
        fc.oneof(
          junk.map((j) => JSON.stringify(j) ?? 'undefined'),
          fc
            .record({ v: fc.constant(PROTOCOL_VERSION), meta: envelope, passwordAuth: maybe(text) })
            .map((b) => JSON.stringify(b)),
          fc
            .record({
              v: fc.constant(PROTOCOL_VERSION),
              passwordAuth: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
            })
            .map((b) => JSON.stringify(b)),
          fc.uint8Array({ maxLength: 256 }),
          fc.nat(64 * 1024).map((n) => 'x'.repeat(n)),
        ),
      ),
    });
    const clean = fc.oneof({ weight: 10, arbitrary: emit }, { weight: 1, arbitrary: rest });

    // Three attackers on WebSocket, one on long-polling. They are not the harness's clients (it
    // would keep every one of them until the end): a dropped one is simply replaced.
    const transports = ['websocket', 'websocket', 'websocket', 'polling'] as const;
    /** Why each attacker's session ended, for failure reports. */
    const farewell = new WeakMap<Client, string>();
    const connectAttacker = (transport: 'websocket' | 'polling') =>
      new Promise<Client>((resolve, reject) => {
        const socket: Client = io(h.url, {
          transports: [transport],
          forceNew: true,
          reconnection: false,
        });
        socket.once('connect', () => resolve(socket));
        socket.once('disconnect', (reason, detail) =>
          farewell.set(socket, `${reason} ${JSON.stringify(detail) ?? ''}`),
        );
        socket.once('connect_error', reject);
      });
    attackers = await Promise.all(transports.map(connectAttacker));
    const ensure = async (i: number) => {
      if (!attackers[i]!.connected) {
        attackers[i]!.disconnect();
        attackers[i] = await connectAttacker(transports[i]!);
      }
      return attackers[i]!;
    };
    const seenByVictims = recordEvents(victims);

    // Warm up, then take the baseline.
    await sealedExchange(h);
    forceGc();
    const baseline = process.memoryUsage();
    const namespace = h.service.io.of('/');

    let sent = 0;
    let lost = 0;
    let refusedBatches = 0;
    let unencodable = 0;
    const encoder = new Encoder();
    /**
     * Whether the client can put these arguments on the wire. Some generated values cannot be
     * encoded at all (an own `__proto__` key holding a Date becomes the copy's prototype when the
     * encoder separates binary attachments, and JSON.stringify then throws); such an emit never
     * leaves the client, so it tests nothing on the service.
     */
    const encodable = (event: string, args: unknown[]) => {
      try {
        encoder.encode({ type: PacketType.EVENT, nsp: '/', data: [event, ...args] });
        return true;
      } catch {
        return false;
      }
    };
    /** Sends actions; with `strict`, every acknowledgement must arrive. */
    const send = async (socket: Client, actions: Action[], strict: boolean) => {
      const pending: Promise<void>[] = [];
      for (const a of actions) {
        if (a.kind === 'emit' && !encodable(a.event, a.args)) {
          unencodable++;
          continue;
        }
        sent++;
        if (a.kind === 'emit') {
          const context = `${a.event} ${JSON.stringify(a.args)?.slice(0, 120)}`;
          if (!a.ack) {
            (socket as RawClient).emit(a.event, ...a.args);
            continue;
          }
          pending.push(
            (socket as RawClient)
              .timeout(5_000)
              .emitWithAck(a.event, ...a.args)
              .then(
                (ack: unknown) => assertAck(ack, context),
                (err: unknown) => {
                  // On long-polling the client batches messages into one request, and its
                  // estimate of a batch's size (binary attachments travel as base64) can miss
                  // the limit; the service then refuses the request with 413, as it must.
                  const refusedBatch = /^transport error \{"description":413/.test(
                    farewell.get(socket) ?? '',
                  );
                  if (refusedBatch) refusedBatches++;
                  if (strict && !refusedBatch) {
                    throw new Error(
                      `no acknowledgement for ${context}: ${String(err)} (${farewell.get(socket) ?? 'connected'})`,
                    );
                  }
                  lost++;
                },
              ),
          );
        } else if (a.kind === 'raw') {
          socket.io.engine.write(typeof a.packet === 'string' ? a.packet : Buffer.from(a.packet));
        } else {
          pending.push(restCall(a));
        }
      }
      await Promise.all(pending);
    };
    const restCall = async (a: Extract<Action, { kind: 'rest' }>) => {
      const body =
        a.method === 'GET' || a.method === 'HEAD' || a.body === undefined
          ? undefined
          : typeof a.body === 'string'
            ? a.body
            : Buffer.from(a.body);
      const res = await fetch(h.url + a.path, { method: a.method, headers: a.headers, body });
      const context = `${a.method} ${a.path}`;
      assert.ok(res.status < 500, `${context} answered ${res.status}`);
      const type = res.headers.get('content-type') ?? '';
      if (
        res.status >= 400 &&
        a.method !== 'HEAD' &&
        a.path.startsWith('/rooms') &&
        type.includes('json')
      ) {
        const error = v.parse(ErrorReplySchema, await res.json()).error;
        assert.notEqual(error.code, 'internal', context);
      } else {
        await res.arrayBuffer();
      }
    };
    const run = async (who: number, actions: Action[], end: Action[] | null) => {
      const socket = await ensure(who);
      // Everything well-framed and within the limits is answered, whatever it holds.
      await send(socket, actions, true);
      if (end === null) return;
      // Then the run may end the session: answers after that may be lost (a DISCONNECT packet
      // or a refused frame ends it without the client noticing), and the socket is replaced.
      await send(socket, end, false);
      socket.disconnect();
    };

    const outcome = await fc.check(
      fc.asyncProperty(
        fc.nat(attackers.length - 1),
        fc.array(clean, { minLength: 20, maxLength: 40 }),
        fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: tail }),
        run,
      ),
      {
        numRuns: RUNS,
        endOnFailure: true,
        // FUZZ_SEED and FUZZ_PATH replay a failure that a report named.
        ...(process.env.FUZZ_SEED
          ? { seed: Number(process.env.FUZZ_SEED), path: process.env.FUZZ_PATH }
          : {}),
      },
    );
    // fast-check's own report prints the whole counterexample, oversized strings and all.
    assert.ok(
      !outcome.failed,
      `fuzz failed after ${outcome.numRuns} runs (seed ${outcome.seed}, path ${outcome.counterexamplePath}): ` +
        `${String(outcome.errorInstance).slice(0, 2_000)}\ncounterexample: ` +
        JSON.stringify(outcome.counterexample, (_k, x: unknown) =>
          typeof x === 'string' && x.length > 80 ? `${x.slice(0, 40)}…(${x.length} chars)` : x,
        )?.slice(0, 4_000),
    );

    // Oversized messages on both transports, on purpose, beyond the random ones.
    for (const transport of ['websocket', 'polling'] as const) {
      const big = await h.connect({ transports: [transport] });
      const gone = new Promise((resolve) => big.once('disconnect', resolve));
      big.emit('signal', { to: victimIds[0]!, envelope: 'A'.repeat(MAX_BUFFER * 4) }, () => {});
      await gone;
      sent++;
    }
    const polling = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling`);
    const sid = /"sid":"([^"]+)"/.exec(await polling.text())?.[1];
    assert.ok(sid);
    const flood = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: 'POST',
      body: '4'.repeat(MAX_BUFFER * 8),
    });
    assert.ok(flood.status >= 400 && flood.status < 500, `oversized poll answered ${flood.status}`);
    sent++;

    assert.ok(sent >= 20_000, `only ${sent} inputs sent`);
    console.log(
      `fuzz: ${sent} inputs; ${lost} answers lost with a session the attacker ended, ` +
        `${refusedBatches} with a long-polling batch refused as too large; ` +
        `${unencodable} generated emits the client could not encode`,
    );

    // Nothing reached the rooms the attackers could not enter, and their swarms did not change
    // (each victim heard its room's counts when it joined, before the recording began). The
    // attackers still connected go first, so that all they sent is handled.
    await settled([...attackers.filter((a) => a.connected), ...victims]);
    for (const [i, victim] of victims.entries()) {
      assert.equal(victim.connected, true, `victim ${i} was disconnected`);
      assert.deepEqual(seenByVictims.get(victim), [], `victim ${i} received something`);
    }
    for (const roomId of [passwordRoom, openRoom]) {
      assert.deepEqual(await h.service.swarms.stats(roomId), {
        seeds: 1,
        downloading: 0,
        queued: 0,
        finished: 0,
      });
    }
    assert.deepEqual(
      (await h.service.store.listMembers(passwordRoom)).map((m) => m.peerId).sort(),
      victimIds.slice(0, 2).sort(),
    );
    assert.deepEqual(
      (await h.service.store.listMembers(openRoom)).map((m) => m.peerId).sort(),
      victimIds.slice(2).sort(),
    );

    // Alive, and a normal sealed exchange still works in another room (with and without password).
    const health = await fetch(`${h.url}/healthz`);
    assert.equal(health.status, 200);
    await sealedExchange(h);
    await sealedExchange(h, 'after the storm');

    // Memory back near where it started once the attackers are gone.
    for (const a of attackers) a.disconnect();
    const deadline = Date.now() + 5_000;
    while (namespace.sockets.size > victims.length && Date.now() < deadline) await sleep(50);
    assert.equal(namespace.sockets.size, victims.length, 'only the victims are connected');
    // Bare Engine.IO handshakes from the REST fuzz (no Socket.IO connection) linger until
    // Socket.IO's connect timeout; they hold a few hundred bytes each.
    await sleep(200);
    forceGc();
    const end = process.memoryUsage();
    const grew = (k: 'heapUsed' | 'rss') => (end[k] - baseline[k]) / MiB;
    console.log(
      `fuzz memory: heap ${(baseline.heapUsed / MiB).toFixed(1)} → ${(end.heapUsed / MiB).toFixed(1)} MiB, ` +
        `rss ${(baseline.rss / MiB).toFixed(1)} → ${(end.rss / MiB).toFixed(1)} MiB`,
    );
    assert.ok(grew('heapUsed') < 16, `heap grew by ${grew('heapUsed').toFixed(1)} MiB`);
    assert.ok(grew('rss') < 128, `RSS grew by ${grew('rss').toFixed(1)} MiB`);
  });
});
