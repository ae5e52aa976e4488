/**
 * What the checks of SECURITY.md's limits table share: reading the table's rows and the numbers
 * and refusals in their cells, and starting the service in-process to hold it to them. The
 * checks themselves are grouped by area beside this module; security-limits.test.ts runs them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import * as v from 'valibot';
import { ErrorReplySchema, PROTOCOL_VERSION } from '../../../protocol/index.js';
import { defaultConfig, type Config } from '../../../server/config.js';
import type { Hasher } from '../../../server/password.js';
import {
  join,
  request,
  startService,
  type Client,
  type Harness,
} from '../../../server/test-support.js';

export interface Row {
  what: string;
  default: string;
  past: string;
}

export type Check = (row: Row) => Promise<void>;

export const SECURITY = readFileSync(new URL('../../../SECURITY.md', import.meta.url), 'utf8');
export const META = 'c2VhbGVkLW1ldGE';
export const LINK_KEY = 'AAAAAAAAAAAAAAAAAAAAAA';
export const MINUTE = 60_000;

/**
 * The cells of the table under the level-2 heading `heading`, header row and separator left out;
 * the header must be `columns`.
 */
export function markdownTable(markdown: string, heading: string, columns: string[]): string[][] {
  const section = markdown.split(new RegExp(`^## ${heading}$`, 'm'))[1]?.split(/^## /m)[0];
  assert.ok(section, `SECURITY.md has a "${heading}" section`);
  const cells = section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  assert.deepEqual(cells[0], columns, 'the table keeps its columns');
  return cells.slice(2);
}

/** The rows of the table under "## Limits the service enforces". */
export function limitRows(markdown: string): Row[] {
  return markdownTable(markdown, 'Limits the service enforces', ['What', 'Default', 'Past it']).map(
    ([what = '', def = '', past = '']) => ({ what, default: def, past }),
  );
}

/** Every number in a cell, in order (`100,000` is one number). */
export function numbers(cell: string): number[] {
  return [...cell.replace(/(\d),(\d)/g, '$1$2').matchAll(/\d+/g)].map((m) => Number(m[0]));
}

/** The cell's first number; with `KiB` after it, in bytes. */
export function amount(cell: string): number {
  const [n] = numbers(cell);
  assert.ok(n !== undefined, `no number in "${cell}"`);
  return /^\D*\d[\d,]*\s*KiB/.test(cell) ? n * 1024 : n;
}

/** The HTTP refusal a cell names: `` `413 limit-exceeded` ``. */
export function httpRefusal(cell: string): { status: number; code: string } {
  const m = /`(\d{3}) ([a-z-]+)`/.exec(cell);
  assert.ok(m, `no HTTP status and code in "${cell}"`);
  return { status: Number(m[1]), code: m[2]! };
}

/** The socket refusal a cell names: `` `limit-exceeded` answer `` or a lone `` `code` ``. */
export function ackRefusal(cell: string): string {
  const m = /^`([a-z-]+)`/.exec(cell);
  assert.ok(m, `no error code at the start of "${cell}"`);
  return m[1]!;
}

/** `a minute` is the window of the per-address and per-room counters. */
export function assertPerMinute(cell: string): void {
  assert.match(cell, /a minute/);
  assert.equal(defaultConfig.rateWindowMs, MINUTE);
}

export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return v.parse(ErrorReplySchema, await res.json()).error;
}

export async function withService(
  config: Partial<Config>,
  body: (h: Harness) => Promise<void>,
  options: { hasher?: Hasher; now?: () => number } = {},
): Promise<void> {
  const h = await startService({ ...options, config });
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

export const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

export const createRoom = (h: Harness, meta = META, headers: Record<string, string> = {}) =>
  post(`${h.url}/rooms`, JSON.stringify({ v: PROTOCOL_VERSION, meta }), headers);

/** A sharer in a fresh room and a recipient beside it; resolves to the sharer's peer id. */
export async function pair(h: Harness) {
  const room = await h.createRoom();
  const sharer = await h.connect();
  const recipient = await h.connect();
  const sharerId = await join(sharer, room.roomId, 'sharer', room.sharerToken);
  await join(recipient, room.roomId);
  return { room, sharer, recipient, sharerId };
}

/** The acknowledgement of a join, refused or not. */
export const joinAck = (
  socket: Client,
  roomId: string,
  role: 'sharer' | 'recipient' = 'recipient',
  sharerToken?: string,
) =>
  request(socket, 'join', {
    v: PROTOCOL_VERSION,
    roomId,
    role,
    ...(sharerToken ? { sharerToken } : {}),
  });

/** What a refused Socket.IO connection hears in `connect_error`. */
export type ConnectError = Error & { data?: { code: string; retryAfterMs?: number } };

/** `'ok'` when the connection got in, else the code it was refused with. */
export function refusalOf(connecting: Promise<Client>): Promise<string> {
  return connecting.then(
    (socket) => {
      socket.disconnect();
      return 'ok';
    },
    (err: ConnectError) => err.data?.code ?? err.message,
  );
}

/** Connects from another loopback address, a client address of its own. */
export const from = (localAddress: string) =>
  ({ localAddress }) as Partial<ManagerOptions & SocketOptions>;
