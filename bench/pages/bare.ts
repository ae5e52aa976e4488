/**
 * A bare WebRTC peer with no product code: it signals through our service's REST and Socket.IO
 * protocol with plain (unsealed) base64url envelopes, opens one data channel and, as the limit
 * benchmark, blasts bytes over it with tunable chunk size and buffer water marks. It is the
 * yardstick the widget is measured against, so it does as little as a peer can.
 */
import { io, type Socket } from 'socket.io-client';
import type { BareApi, BlastOptions, ConnectTiming } from './types.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';

type Envelope =
  | { kind: 'sdp'; description: RTCSessionDescriptionInit }
  | { kind: 'ice'; candidate: RTCIceCandidateInit | null };

interface Ack {
  ok: boolean;
  error?: { code: string; message: string };
  [key: string]: unknown;
}

const wall = () => performance.timeOrigin + performance.now();

function encode(envelope: Envelope): string {
  const bytes = new TextEncoder().encode(JSON.stringify(envelope));
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function decode(text: string): Envelope {
  const bin = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

function connectSocket(service: string): Promise<Socket> {
  const base = new URL(service);
  const socket = io(base.origin, {
    path: `${base.pathname.replace(/\/?$/, '/')}socket.io`,
    transports: ['websocket'],
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function call(socket: Socket, event: string, payload: unknown): Promise<Ack> {
  const ack = (await socket.emitWithAck(event, payload)) as Ack;
  if (!ack.ok) throw new Error(`${event}: ${ack.error?.code} ${ack.error?.message}`);
  return ack;
}

let socket: Socket | null = null;
const peers = new Map<string, RTCPeerConnection>();
let channel: RTCDataChannel | null = null;
let channelReady: (dc: RTCDataChannel) => void = () => {};
const channelOpen = new Promise<RTCDataChannel>((resolve) => (channelReady = resolve));

// Receiver counters, armed per measurement.
let expected = 0;
let got = 0;
let firstAt = 0;
let lastAt = 0;
let receivedDone: () => void = () => {};
let receivedPromise: Promise<void> = Promise.resolve();

function countBytes(dc: RTCDataChannel): void {
  dc.binaryType = 'arraybuffer';
  dc.onmessage = (event: MessageEvent<ArrayBuffer>) => {
    if (got === 0) firstAt = wall();
    got += event.data.byteLength;
    if (expected > 0 && got >= expected) {
      lastAt = wall();
      expected = 0;
      receivedDone();
    }
  };
}

/** Per-peer queue so candidates are applied after the description they belong to. */
function serial() {
  let chain = Promise.resolve();
  return (task: () => Promise<void>) => {
    chain = chain.then(task).catch((err: unknown) => console.error('bare signalling', err));
  };
}

const api: BareApi = {
  async share(service) {
    const created = await fetch(new URL('rooms', service), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: PROTOCOL_VERSION, meta: 'YmFyZS1wZWVy' }),
    });
    if (!created.ok) throw new Error(`POST /rooms: ${created.status} ${await created.text()}`);
    const room = (await created.json()) as { roomId: string; sharerToken: string };
    socket = await connectSocket(service);
    await call(socket, 'join', {
      v: PROTOCOL_VERSION,
      roomId: room.roomId,
      role: 'sharer',
      sharerToken: room.sharerToken,
    });
    const queues = new Map<string, ReturnType<typeof serial>>();
    const s = socket;
    s.on('signal', ({ from, envelope }: { from: string; envelope: string }) => {
      const msg = decode(envelope);
      let queue = queues.get(from);
      if (!queue) queues.set(from, (queue = serial()));
      queue(async () => {
        let pc = peers.get(from);
        if (!pc) {
          pc = new RTCPeerConnection({ iceServers: [] });
          peers.set(from, pc);
          pc.onicecandidate = (e) =>
            void s.emit(
              'signal',
              {
                to: from,
                envelope: encode({ kind: 'ice', candidate: e.candidate?.toJSON() ?? null }),
              },
              () => {},
            );
          pc.ondatachannel = (e) => {
            channel = e.channel;
            channel.binaryType = 'arraybuffer';
            if (channel.readyState === 'open') channelReady(channel);
            else channel.onopen = () => channelReady(channel!);
          };
        }
        if (msg.kind === 'sdp') {
          await pc.setRemoteDescription(msg.description);
          await pc.setLocalDescription(await pc.createAnswer());
          await call(s, 'signal', {
            to: from,
            envelope: encode({ kind: 'sdp', description: pc.localDescription!.toJSON() }),
          });
        } else if (msg.candidate) {
          await pc.addIceCandidate(msg.candidate);
        }
      });
    });
    return { roomId: room.roomId };
  },

  async connect(service, roomId) {
    const t0 = performance.now();
    socket = await connectSocket(service);
    const t1 = performance.now();
    await call(socket, 'join', { v: PROTOCOL_VERSION, roomId, role: 'recipient' });
    const t2 = performance.now();
    const { sources } = (await call(socket, 'sources', {})) as Ack & { sources: string[] };
    const t3 = performance.now();
    const to = sources[0]!;
    const s = socket;
    const pc = new RTCPeerConnection({ iceServers: [] });
    peers.set(to, pc);
    const queue = serial();
    pc.onicecandidate = (e) =>
      void s.emit(
        'signal',
        { to, envelope: encode({ kind: 'ice', candidate: e.candidate?.toJSON() ?? null }) },
        () => {},
      );
    s.on('signal', ({ envelope }: { envelope: string }) => {
      const msg = decode(envelope);
      queue(async () => {
        if (msg.kind === 'sdp') await pc.setRemoteDescription(msg.description);
        else if (msg.candidate) await pc.addIceCandidate(msg.candidate);
      });
    });
    const dc = pc.createDataChannel('bare', { ordered: true });
    countBytes(dc);
    const opened = new Promise<void>((resolve) => (dc.onopen = () => resolve()));
    await pc.setLocalDescription(await pc.createOffer());
    await call(s, 'signal', {
      to,
      envelope: encode({ kind: 'sdp', description: pc.localDescription!.toJSON() }),
    });
    await opened;
    channel = dc;
    const t4 = performance.now();
    const timing: ConnectTiming = {
      totalMs: t4 - t0,
      socketMs: t1 - t0,
      joinMs: t2 - t1,
      sourcesMs: t3 - t2,
      channelMs: t4 - t3,
    };
    return timing;
  },

  arm(bytes) {
    expected = bytes;
    got = 0;
    firstAt = 0;
    lastAt = 0;
    receivedPromise = new Promise<void>((resolve) => (receivedDone = resolve));
  },

  async received() {
    await receivedPromise;
    return { firstAt, lastAt, bytes: got };
  },

  async blast({ bytes, chunk, high, low }: BlastOptions) {
    const dc = await channelOpen;
    const buffer = new Uint8Array(chunk);
    for (let at = 0; at < chunk; at += 65536)
      crypto.getRandomValues(buffer.subarray(at, at + 65536));
    dc.bufferedAmountLowThreshold = low;
    const startedAt = wall();
    let sent = 0;
    while (sent < bytes) {
      while (sent < bytes && dc.bufferedAmount <= high) {
        const n = Math.min(chunk, bytes - sent);
        dc.send(n === chunk ? buffer : buffer.subarray(0, n));
        sent += n;
      }
      if (sent < bytes) {
        await new Promise<void>((resolve) =>
          dc.addEventListener('bufferedamountlow', () => resolve(), { once: true }),
        );
      }
    }
    return { startedAt, endedAt: wall() };
  },

  close() {
    for (const pc of peers.values()) pc.close();
    peers.clear();
    socket?.close();
  },
};

window.bare = api;
