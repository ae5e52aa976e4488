/**
 * One load-generating worker thread of the signalling benchmark. It opens its share of the
 * sockets (our Socket.IO service: rooms over REST, join, sources; or the `peer` server: one
 * WebSocket per peer id), then runs offer/answer/ICE exchanges inside its own rooms at a fixed,
 * open-loop rate, timing every relayed message from send to delivery. Rooms never span workers,
 * so sender and receiver share one clock.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import {
  messagesPerExchange,
  sealedChars,
  type FromWorker,
  type ToWorker,
  type WorkerJob,
} from './protocol.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { delay } from '../../testing/wait.js';

const job = workerData as WorkerJob;
const port = parentPort!;
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

type Kind = 'o' | 'a' | 'c';
type OnSignal = (from: string, envelope: string) => void;

interface Endpoint {
  id: string;
  send(to: string, kind: Kind, envelope: string): void;
  open(): boolean;
  close(): void;
}

interface Room {
  sharer: Endpoint;
  recipients: Endpoint[];
  /** Peer ids of the recipients as the server knows them (socket ids for ours). */
  next: number;
}

const now = () => performance.now();
/**
 * Messages sent from this moment on are measured; those of the warm-up before it are relayed
 * but neither counted nor timed.
 */
let measureFrom = Number.POSITIVE_INFINITY;
let sent = 0;
let delivered = 0;
let refused = 0;
let latencies = new Float64Array(1 << 16);
const inFlight = new Map<number, number>();
/** Why sockets closed that this worker did not close, by reason. */
const disconnects: Record<string, number> = {};
let closing = false;
const dropped = (reason: string) => {
  if (!closing) disconnects[reason] = (disconnects[reason] ?? 0) + 1;
};
let nextId = 0;

function record(ms: number): void {
  if (delivered === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[delivered++] = ms;
}

/** An opaque envelope of exactly `chars` characters that carries a message id and its kind. */
function envelope(kind: Kind, chars: number): string {
  const id = nextId++;
  const t0 = now();
  if (t0 >= measureFrom) {
    sent++;
    inFlight.set(id, t0);
  }
  const head = `${kind}${id.toString(36).padStart(9, '0')}`;
  return head + 'A'.repeat(Math.max(0, chars - head.length));
}

const sizes = {
  ours: { sdp: sealedChars(job.sdpChars), candidate: sealedChars(job.candidateChars) },
  peer: { sdp: job.sdpChars, candidate: job.candidateChars },
}[job.target];

/** Delivery: time it, then play the other side of the exchange. */
function handler(self: () => Endpoint): OnSignal {
  return (from, env) => {
    const id = parseInt(env.slice(1, 10), 36);
    const t0 = inFlight.get(id);
    if (t0 !== undefined) {
      inFlight.delete(id);
      record(now() - t0);
    }
    const kind = env[0] as Kind;
    const me = self();
    if (kind === 'o') {
      me.send(from, 'a', envelope('a', sizes.sdp));
      for (let i = 0; i < job.candidates; i++) me.send(from, 'c', envelope('c', sizes.candidate));
    } else if (kind === 'a') {
      for (let i = 0; i < job.candidates; i++) me.send(from, 'c', envelope('c', sizes.candidate));
    }
  };
}

// ---- Our service -------------------------------------------------------------------------------

interface Ack {
  ok: boolean;
  peerId?: string;
  sources?: string[];
  error?: { code: string };
}

async function oursEndpoint(
  room: { roomId: string; sharerToken?: string },
  role: 'sharer' | 'recipient',
): Promise<Endpoint & { sharerId?: string }> {
  const socket: Socket = io(job.base, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 60_000,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  const joined = (await socket.timeout(60_000).emitWithAck('join', {
    v: PROTOCOL_VERSION,
    roomId: room.roomId,
    role,
    ...(role === 'sharer' ? { sharerToken: room.sharerToken } : {}),
  })) as Ack;
  if (!joined.ok) throw new Error(`join: ${joined.error?.code}`);
  let sharerId: string | undefined;
  if (role === 'recipient') {
    const found = (await socket.timeout(60_000).emitWithAck('sources', {})) as Ack;
    if (!found.ok || !found.sources?.[0]) throw new Error(`sources: ${found.error?.code}`);
    sharerId = found.sources[0];
  }
  const endpoint: Endpoint & { sharerId?: string } = {
    id: joined.peerId!,
    sharerId,
    send(to, _kind, env) {
      // As the widget relays: no ack; a relay that failed is answered with `signal-failed`.
      socket.emit('signal', { to, envelope: env });
    },
    open: () => socket.connected,
    close: () => void socket.close(),
  };
  socket.on('signal-failed', () => {
    if (now() >= measureFrom) refused++;
  });
  socket.on('disconnect', (reason) => dropped(`socket.io: ${reason}`));
  const onSignal = handler(() => endpoint);
  socket.on('signal', (msg: { from: string; envelope: string }) =>
    onSignal(msg.from, msg.envelope),
  );
  return endpoint;
}

async function createRoom(): Promise<{ roomId: string; sharerToken: string }> {
  const res = await fetch(`${job.base}/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // A sealed metadata blob of a realistic size (name, size, type, piece hashes' root).
    body: JSON.stringify({ v: PROTOCOL_VERSION, meta: 'M'.repeat(400) }),
  });
  if (res.status !== 201) throw new Error(`POST /rooms: ${res.status}`);
  return (await res.json()) as { roomId: string; sharerToken: string };
}

// ---- The peer server ---------------------------------------------------------------------------

const PEER_TYPES: Record<Kind, string> = { o: 'OFFER', a: 'ANSWER', c: 'CANDIDATE' };

async function peerEndpoint(id: string): Promise<Endpoint> {
  const token = randomBytes(8).toString('hex');
  const url = `${job.base.replace('http', 'ws')}/peerjs?key=peerjs&id=${id}&token=${token}&version=1.5.5`;
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('close', () => reject(new Error('closed before OPEN')));
    ws.once('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string; payload?: { msg?: string } };
      if (msg.type === 'OPEN') resolve();
      else reject(new Error(`${msg.type}: ${msg.payload?.msg ?? ''}`));
    });
  });
  ws.removeAllListeners('close');
  ws.removeAllListeners('error');
  ws.on('error', () => {});
  ws.on('close', (code) => dropped(`ws close ${code}`));
  const endpoint: Endpoint = {
    id,
    send(to, kind, env) {
      // The shape PeerJS sends: the SDP or candidate inside a payload with the connection's id.
      const payload =
        kind === 'c'
          ? { candidate: env, type: 'data', connectionId: 'dc_bench' }
          : { sdp: env, type: 'data', connectionId: 'dc_bench' };
      ws.send(JSON.stringify({ type: PEER_TYPES[kind], dst: to, payload }));
    },
    open: () => ws.readyState === WebSocket.OPEN,
    close: () => ws.terminate(),
  };
  const onSignal = handler(() => endpoint);
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as {
      type: string;
      src: string;
      payload?: { sdp?: string; candidate?: string };
    };
    const env = msg.payload?.sdp ?? msg.payload?.candidate;
    if (env !== undefined) onSignal(msg.src, env);
  });
  // Each PeerJS client pings on its own timer; staggered so they do not arrive in bursts.
  const beat = setTimeout(() => {
    const timer = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"HEARTBEAT"}');
    }, job.heartbeatMs);
    ws.once('close', () => clearInterval(timer));
  }, Math.random() * job.heartbeatMs);
  ws.once('close', () => clearTimeout(beat));
  return endpoint;
}

// ---- Phases ------------------------------------------------------------------------------------

/** Runs `tasks` with at most `limit` at once; returns how many failed and the first error. */
async function pool(tasks: Array<() => Promise<void>>, limit: number) {
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  const run = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, run));
  return { failed, firstError };
}

const rooms: Room[] = [];
const all: Endpoint[] = [];

async function connect(): Promise<void> {
  const t0 = now();
  const roomCount = Math.ceil(job.sockets / job.roomSize);
  const tasks: Array<() => Promise<void>> = [];
  for (let r = 0; r < roomCount; r++) {
    const size = Math.min(job.roomSize, job.sockets - r * job.roomSize);
    tasks.push(async () => {
      let sharer: Endpoint;
      const recipients: Endpoint[] = [];
      if (job.target === 'ours') {
        const created = await createRoom();
        sharer = await oursEndpoint(created, 'sharer');
        all.push(sharer);
        for (let i = 1; i < size; i++) {
          const rec = await oursEndpoint(created, 'recipient');
          all.push(rec);
          recipients.push(rec);
        }
      } else {
        sharer = await peerEndpoint(`w${job.workerId}r${r}s`);
        all.push(sharer);
        for (let i = 1; i < size; i++) {
          const rec = await peerEndpoint(`w${job.workerId}r${r}p${i}`);
          all.push(rec);
          recipients.push(rec);
        }
      }
      rooms.push({ sharer, recipients, next: 0 });
    });
  }
  // Each task opens a whole room in sequence, so `concurrency` sockets connect at once at most.
  const { failed, firstError } = await pool(tasks, Math.max(1, Math.floor(job.concurrency)));
  post({
    type: 'connected',
    connected: all.filter((e) => e.open()).length,
    failed,
    firstError,
    ms: now() - t0,
  });
}

/** Runs the exchanges from `go` on; the measured part starts at `measure` and lasts durationMs. */
async function load(): Promise<void> {
  const exchangesPerSecond = job.rate / messagesPerExchange(job.candidates);
  const usable = rooms.filter((r) => r.recipients.length > 0);
  let started = 0;
  let startedBefore = 0;
  let rr = 0;
  const t0 = now();
  // If this thread's own event loop lags, the latencies it measures include the lag: report it.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  let measuring = false;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const t = now();
      if (t >= measureFrom && !measuring) {
        measuring = true;
        lag.enable();
        startedBefore = started;
      }
      const due = Math.floor(((t - t0) / 1000) * exchangesPerSecond);
      while (started < due && usable.length) {
        const room = usable[rr++ % usable.length]!;
        const rec = room.recipients[room.next++ % room.recipients.length]! as Endpoint & {
          sharerId?: string;
        };
        rec.send(rec.sharerId ?? room.sharer.id, 'o', envelope('o', sizes.sdp));
        started++;
      }
      if (t - measureFrom >= job.durationMs) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const sendSeconds = (now() - measureFrom) / 1000;
  // Let the last exchanges finish: every message sent is either delivered or counted lost.
  const drainUntil = now() + 5000;
  while (inFlight.size > 0 && now() < drainUntil) await delay(50);
  lag.disable();
  const out = latencies.slice(0, delivered);
  post(
    {
      type: 'done',
      sent,
      delivered,
      refused,
      latencies: out,
      exchanges: started - startedBefore,
      sendSeconds,
      stillOpen: all.filter((e) => e.open()).length,
      loopDelayP99Ms: lag.percentile(99) / 1e6,
      disconnects,
    },
    [out.buffer],
  );
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'go') void load();
  if (msg.type === 'measure') measureFrom = now();
  if (msg.type === 'close') {
    closing = true;
    for (const e of all) e.close();
    post({ type: 'closed' });
  }
});

void connect();
