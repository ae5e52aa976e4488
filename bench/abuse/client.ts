/**
 * A signalling client as a script would be one, from a chosen loopback address: the REST calls
 * and socket events the widget uses, with no browser. The abuse benchmark's honest visitor and
 * its attackers both use it; the address lets one machine stand for many clients.
 */
import http from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION } from '../../protocol/version.js';

/** Any valid sealed-metadata blob: the service never reads it. */
export const META = 'A'.repeat(512);

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** One HTTP request with a JSON body, sent from `from`. */
export function call(
  base: string,
  method: string,
  path: string,
  from: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const url = new URL(path, base);
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        localAddress: from,
        agent: false,
        headers: { ...(text ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = data ? (JSON.parse(data) as Record<string, unknown>) : {};
          } catch {
            parsed = { raw: data };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(text);
  });
}

export interface Room {
  roomId: string;
  sharerToken: string;
}

export async function createRoom(base: string, from: string): Promise<Room> {
  const res = await call(base, 'POST', '/rooms', from, { v: PROTOCOL_VERSION, meta: META });
  if (res.status !== 201)
    throw new Error(`create refused: ${res.status} ${JSON.stringify(res.body)}`);
  return { roomId: res.body.roomId as string, sharerToken: res.body.sharerToken as string };
}

export async function deleteRoom(base: string, from: string, room: Room): Promise<void> {
  await call(base, 'DELETE', `/rooms/${room.roomId}`, from, undefined, {
    authorization: `Bearer ${room.sharerToken}`,
  });
}

/** A connected socket from `from`, or a rejection with the service's reason. */
export function connect(base: string, from: string, timeoutMs = 10_000): Promise<Socket> {
  const socket = io(base, {
    transports: ['websocket'],
    localAddress: from,
    forceNew: true,
    reconnection: false,
    timeout: timeoutMs,
  } as Parameters<typeof io>[1]);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

export type Ack = { ok: true; [key: string]: unknown } | { ok: false; error: { code: string } };

/** Sends one event and waits for its ack (or gives up after `timeoutMs`). */
export function ask(
  socket: Socket,
  event: string,
  payload: unknown,
  timeoutMs = 10_000,
): Promise<Ack> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<Ack>;
}

export async function join(
  socket: Socket,
  room: Room,
  role: 'sharer' | 'recipient',
): Promise<string> {
  const ack = await ask(socket, 'join', {
    v: PROTOCOL_VERSION,
    roomId: room.roomId,
    role,
    ...(role === 'sharer' ? { sharerToken: room.sharerToken } : {}),
  });
  if (!ack.ok) throw new Error(`join refused: ${ack.error.code}`);
  return ack.peerId as string;
}

/** The n-th loopback address: 0 is 127.0.0.1, 1 is 127.0.0.2, 250 is 127.0.1.1. */
export function loopback(n: number): string {
  return `127.0.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}
