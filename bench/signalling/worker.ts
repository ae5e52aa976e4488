/**
 * One load-generating process of the signalling benchmark. It opens its share of the
 * sockets (our Socket.IO service: rooms over REST, join, sources; or the `peer` server: one
 * WebSocket per peer id), then runs offer/answer/ICE exchanges inside its own rooms at a fixed,
 * open-loop rate, timing every relayed message from send to delivery. Rooms never span workers,
 * so sender and receiver share one clock. With several server processes a room's sockets are
 * spread over them, and relays from one process to another are also timed on their own.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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

// A process of its own, not a worker thread: every socket is a file descriptor, and one process
// may open at most the container's hard limit (20,000 here) however many sockets the run holds.
const job = JSON.parse(process.env.P2P_BENCH_JOB!) as WorkerJob;
const post = (msg: FromWorker) => process.send!(msg);

type Kind = 'o' | 'a' | 'c';
type OnSignal = (from: string, envelope: string) => void;

interface Endpoint {
  id: string;
  /** Which server process (index into job.bases) the socket is connected to. */
  proc: number;
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
const inFlight = new Map<number, number>();
/** Why sockets closed that this worker did not close, by reason. */
const disconnects: Record<string, number> = {};
let closing = false;
const dropped = (reason: string) => {
  if (!closing) disconnects[reason] = (disconnects[reason] ?? 0) + 1;
};
let nextId = 0;

/** A growing list of latencies in milliseconds. */
class Samples {
  data: Float64Array<ArrayBuffer> = new Float64Array(1 << 16);
  length = 0;
  push(ms: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = ms;
  }
  take(): Float64Array<ArrayBuffer> {
    return this.data.slice(0, this.length);
  }
}
const latencies = new Samples();
const crossLatencies = new Samples();

/**
 * An opaque envelope of exactly `chars` characters that carries a message id, its kind and the
 * server process its sender is connected to.
 */
function envelope(kind: Kind, chars: number, proc: number): string {
  const id = nextId++;
  const t0 = now();
  if (t0 >= measureFrom) {
    sent++;
    inFlight.set(id, t0);
  }
  const head = `${kind}${id.toString(36).padStart(9, '0')}${proc}`;
  return head + 'A'.repeat(Math.max(0, chars - head.length));
}

const ours = job.target !== 'peer';
const sizes = ours
  ? { sdp: sealedChars(job.sdpChars), candidate: sealedChars(job.candidateChars) }
  : { sdp: job.sdpChars, candidate: job.candidateChars };

/** Delivery: time it, then play the other side of the exchange. */
function handler(self: () => Endpoint): OnSignal {
  return (from, env) => {
    const me = self();
    const id = parseInt(env.slice(1, 10), 36);
    const t0 = inFlight.get(id);
    if (t0 !== undefined) {
      inFlight.delete(id);
      const ms = now() - t0;
      latencies.push(ms);
      delivered++;
      if (env[10] !== String(me.proc)) crossLatencies.push(ms);
    }
    const kind = env[0] as Kind;
    const reply = (k: Kind, chars: number) => me.send(from, k, envelope(k, chars, me.proc));
    if (kind === 'o') {
      reply('a', sizes.sdp);
      for (let i = 0; i < job.candidates; i++) reply('c', sizes.candidate);
    } else if (kind === 'a') {
      for (let i = 0; i < job.candidates; i++) reply('c', sizes.candidate);
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

interface OursEndpoint extends Endpoint {
  /** The sharer, recipients only. */
  sharerId?: string;
  /** The sharer's word that its link with `peerId` opened, as the widget's seed reports it. */
  opened(peerId: string): Promise<void>;
}

async function oursEndpoint(
  room: { roomId: string; sharerToken?: string },
  role: 'sharer' | 'recipient',
  proc: number,
): Promise<OursEndpoint> {
  const socket: Socket = io(job.bases[proc]!, {
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
  const endpoint: OursEndpoint = {
    id: joined.peerId!,
    proc,
    sharerId,
    async opened(peerId) {
      const ack = (await socket
        .timeout(60_000)
        .emitWithAck('report', { peerId, reason: 'opened' })) as Ack;
      if (!ack.ok) throw new Error(`report opened: ${ack.error?.code}`);
    },
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

async function createRoom(base: string): Promise<{ roomId: string; sharerToken: string }> {
  const res = await fetch(`${base}/rooms`, {
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
  const url = `${job.bases[0]!.replace('http', 'ws')}/peerjs?key=peerjs&id=${id}&token=${token}&version=1.5.5`;
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
    proc: 0,
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
      if (ours) {
        // Socket i of room r on process (r + i) mod n: sharers spread evenly, recipients
        // alternate, so with two processes most of each room talks across them.
        const proc = (i: number) => (r + i) % job.bases.length;
        const created = await createRoom(job.bases[proc(0)]!);
        const seed = await oursEndpoint(created, 'sharer', proc(0));
        sharer = seed;
        all.push(sharer);
        for (let i = 1; i < size; i++) {
          const rec = await oursEndpoint(created, 'recipient', proc(i));
          all.push(rec);
          recipients.push(rec);
          // `sources` gave the recipient a lease on the sharer; the widget's sharer confirms it
          // when their link opens. Unconfirmed, every lease would run out 30 s later and the
          // swarm would hand it on, a step per recipient that no real share makes mid-run.
          await seed.opened(rec.id);
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
        rec.send(rec.sharerId ?? room.sharer.id, 'o', envelope('o', sizes.sdp, rec.proc));
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
  const out = latencies.take();
  const cross = crossLatencies.take();
  post({
    type: 'done',
    sent,
    delivered,
    refused,
    latencies: out,
    crossLatencies: cross,
    exchanges: started - startedBefore,
    sendSeconds,
    stillOpen: all.filter((e) => e.open()).length,
    loopDelayP99Ms: lag.percentile(99) / 1e6,
    disconnects,
  });
}

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'go') void load();
  if (msg.type === 'measure') measureFrom = now();
  if (msg.type === 'close') {
    closing = true;
    for (const e of all) e.close();
    post({ type: 'closed' });
  }
});

void connect();
