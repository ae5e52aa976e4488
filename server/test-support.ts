/**
 * Shared by the server tests: a real service on a free port with its log captured, real
 * socket.io-client connections, and small helpers to await (or rule out) events. Everything a
 * harness opens, its `close()` ends, so test files finish by themselves.
 */
import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  type Ack,
  type ClientToServerEvents,
  type CreateRoomReply,
  type JoinReply,
  type ServerToClientEvents,
} from '../protocol/index.js';
import { defaultConfig, type Config } from './config.js';
import { createLogger, roomTag } from './log.js';
import { createService, type Service, type ServiceOptions } from './service.js';
import { MemoryRoomStore } from './store/memory.js';

export type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
/** For sending what the types forbid. */
export type RawClient = Socket;

export interface Harness {
  service: Service;
  url: string;
  /** Every line the service logged. */
  logs: string[];
  /** Connects a client to the service, or to `via` (a proxy in front of it). */
  connect(options?: Partial<ManagerOptions & SocketOptions>, via?: string): Promise<Client>;
  /** Creates a room (a password room when `passwordAuth` is given). */
  createRoom(meta?: string, passwordAuth?: string): Promise<CreateRoomReply>;
  close(): Promise<void>;
}

export async function startService(
  options: Omit<ServiceOptions, 'config' | 'logger'> & { config?: Partial<Config> } = {},
): Promise<Harness> {
  const logs: string[] = [];
  // Test files create rooms and connections by the dozen from one address; the tests of the
  // per-address limits set them.
  const config: Config = {
    ...defaultConfig,
    logLevel: 'debug',
    roomsPerAddress: 100_000,
    liveRoomsPerAddress: 100_000,
    socketsPerAddress: 100_000,
    connectionsPerAddress: 100_000,
    addressMessagesPerSecond: 100_000,
    addressMessageBurst: 1_000_000,
    ...options.config,
  };
  const service = createService({
    ...options,
    config,
    logger: createLogger({ level: config.logLevel, write: (line) => logs.push(line) }),
  });
  const { url } = await service.listen(0, '127.0.0.1');
  const clients = new Set<Client>();

  return {
    service,
    url,
    logs,
    async connect(connectOptions = {}, via = url) {
      const socket: Client = io(via, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        ...connectOptions,
      });
      clients.add(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      return socket;
    },
    async createRoom(meta = 'c2VhbGVkLW1ldGE', passwordAuth?: string) {
      const res = await whileHasherBusy(() =>
        fetch(`${url}/rooms`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            v: PROTOCOL_VERSION,
            meta,
            ...(passwordAuth ? { passwordAuth } : {}),
          }),
        }),
      );
      if (res.status !== 201) throw new Error(`POST /rooms answered ${res.status}`);
      return (await res.json()) as CreateRoomReply;
    },
    async close() {
      for (const socket of clients) socket.disconnect();
      await service.close();
    },
  };
}

/** Starts a service whose rooms live by `now`, with a store that counts its sweeps. */
export async function startClockedService(
  now: () => number,
  lifetime: Pick<Config, 'roomGraceMs' | 'roomMaxAgeMs' | 'sweepIntervalMs'>,
): Promise<{ h: Harness; store: SweepCountingStore }> {
  const store = new SweepCountingStore({ ...lifetime, now });
  return { h: await startService({ config: lifetime, store, now }), store };
}

/** Asserts that an acknowledgement is the refusal `code`. */
export function assertError(ack: Ack<object>, code: string, context = ''): void {
  assert.equal(ack.ok, false, `expected ${code} ${context}: ${JSON.stringify(ack)}`);
  if (!ack.ok) assert.equal(ack.error.code, code, context);
}

/** Emits and awaits the acknowledgement (rejects after `ms`). */
export function request(socket: Socket, event: string, ...args: unknown[]): Promise<Ack<object>> {
  return socket.timeout(2_000).emitWithAck(event, ...args) as Promise<Ack<object>>;
}

export async function join(
  socket: Client,
  roomId: string,
  role: 'sharer' | 'recipient' = 'recipient',
  sharerToken?: string,
  token?: string,
): Promise<string> {
  const ack = (await request(socket, 'join', {
    v: PROTOCOL_VERSION,
    roomId,
    role,
    ...(sharerToken ? { sharerToken } : {}),
    ...(token ? { token } : {}),
  })) as Ack<JoinReply>;
  if (!ack.ok) throw new Error(`join failed: ${ack.error.code}`);
  return ack.peerId;
}

/** Resolves with the next `event` on `socket`, or rejects after `ms`. */
export function nextEvent<T = unknown>(socket: Socket, event: string, ms = 2_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, onEvent);
      reject(new Error(`no "${event}" within ${ms} ms`));
    }, ms);
    const onEvent = (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    };
    socket.once(event, onEvent);
  });
}

/** Records every event each socket receives from now on. */
export function recordEvents(sockets: Socket[]): Map<Socket, [string, unknown][]> {
  const seen = new Map<Socket, [string, unknown][]>();
  for (const socket of sockets) {
    const events: [string, unknown][] = [];
    seen.set(socket, events);
    socket.onAny((event: string, payload: unknown) => events.push([event, payload]));
  }
  return seen;
}

/**
 * Resolves once every event the service sent these sockets before it handled this call has
 * arrived, and everything they sent before it has been handled. Each socket in turn sends a
 * relay to itself, which the service refuses with no other effect: one socket's events are
 * handled in order and one connection delivers in order, so the refusal comes back after both.
 * List the sockets whose messages cause events before those that receive them. A check that
 * nothing arrived then holds with no wait that a loaded machine could outlast.
 */
export async function settled(sockets: Socket[]): Promise<void> {
  for (const socket of sockets) {
    for (;;) {
      const ack = await request(socket, 'signal', { to: socket.id, envelope: ENVELOPE });
      // A refusal for rate is answered at once, ahead of the socket's queue: wait and ask again.
      if (ack.ok || ack.error.code !== 'rate-limited') break;
      await sleep(ack.error.retryAfterMs ?? 10);
    }
  }
}

/** A memory store that counts its sweeps, so a test can wait for one that read the clock as set. */
export class SweepCountingStore extends MemoryRoomStore {
  sweeps = 0;

  override async sweep(): Promise<string[]> {
    this.sweeps++;
    return super.sweep();
  }

  /** Resolves after a sweep that began after this call (and so saw the clock as it is now). */
  async nextSweep(): Promise<void> {
    const before = this.sweeps;
    await waitFor(() => this.sweeps > before);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` is true, or fails after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(10);
  }
}

/**
 * Waits until the service has logged a departure from `roomId` among the lines after `from` (an
 * index into `h.logs`, taken before the socket disconnects). leave() logs `room.left` after its
 * last send, so by then its partners have been sent `peer-left` and the room's counts have gone
 * to the announcer (which sends them at once, or at the end of the room's count window).
 */
export async function departureLogged(h: Harness, roomId: string, from: number): Promise<void> {
  const room = roomTag(roomId);
  await waitFor(() =>
    h.logs.slice(from).some((line) => {
      const fields = JSON.parse(line) as { event: string; room?: string };
      return fields.event === 'room.left' && fields.room === room;
    }),
  );
}

/** A well-formed envelope (the service only checks its shape). */
export const ENVELOPE = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/**
 * What the widget sends for a password (the contract in protocol/signalling.ts), computed
 * here with node:crypto so the service's tests do not depend on the widget's code.
 */
export function passwordAuthFor(linkKey: string, password: string): string {
  const ikm = Buffer.concat([
    Buffer.from(linkKey, 'base64url'),
    Buffer.from(password.normalize('NFC'), 'utf8'),
  ]);
  const okm = hkdfSync('sha256', ikm, Buffer.alloc(32), 'p2p-share/v1/password-auth', 32);
  return Buffer.from(okm).toString('base64url');
}

/** POSTs a password try; resolves with the response. */
export function tryPassword(
  url: string,
  roomId: string,
  passwordAuth: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/rooms/${roomId}/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ v: PROTOCOL_VERSION, passwordAuth }),
  });
}

/**
 * Sends as a patient client would: while the service answers that it is busy hashing passwords
 * (a storm of other tries still draining; such an answer counts as no guess), waits the
 * `retryAfterMs` it names and sends again, ten times at most. Any other answer is returned.
 */
export async function whileHasherBusy(send: () => Promise<Response>): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await send();
    if (res.status !== 429 || attempt === 10) return res;
    const body = (await res
      .clone()
      .json()
      .catch(() => null)) as { error?: { message?: string; retryAfterMs?: number } } | null;
    if (!body?.error?.message?.includes('busy checking passwords')) return res;
    await sleep(body.error.retryAfterMs ?? 1_000);
  }
}
