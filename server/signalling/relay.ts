/**
 * The relay: a sealed envelope goes from one member of a room to exactly one other member of the
 * same room, and the two become partners (each hears when the other leaves). The service never
 * opens an envelope; a test seam may stand in for a hostile service that does worse.
 */
import {
  PEER_ID_PATTERN,
  errorAck,
  type Ack,
  type ErrorBody,
  type SignalOut,
} from '../../protocol/index.js';
import {
  notJoined,
  roomGone,
  type ErrorAck,
  type SignallingContext,
  type SignallingSocket,
} from './context.js';
import { isPlainObject } from './pipeline.js';

/**
 * An envelope past the limit is refused as too long, also when it is past the protocol's own
 * bound (which the payload's schema checks first).
 */
export function envelopeTooLong(raw: unknown, maxChars: number): ErrorAck | undefined {
  if (typeof raw === 'object' && raw !== null && 'envelope' in raw) {
    const { envelope } = raw;
    if (typeof envelope === 'string' && envelope.length > maxChars) {
      return errorAck(
        'limit-exceeded',
        `This message is longer than this service relays (${maxChars} characters).`,
      );
    }
  }
  return undefined;
}

/**
 * With a shared store, the three questions a relay asks it (is the sender a member, is the
 * addressee, record them as partners) are three round trips to Redis for every envelope, and an
 * exchange is a burst of envelopes between the same two peers. A pair the store confirmed is
 * trusted for this long; an addressee on this process is still checked exactly, on its socket.
 */
const PAIR_TRUST_MS = 2_000;
/** Pairs a socket remembers at most (the oldest goes first). */
const PAIRS_PER_SOCKET = 16;

function pairTrusted(ctx: SignallingContext, socket: SignallingSocket, to: string): boolean {
  const since = socket.data.pairs?.get(to);
  if (since === undefined || Date.now() - since > PAIR_TRUST_MS) return false;
  const local = ctx.io.sockets.sockets.get(to);
  return !local || local.data.roomId === socket.data.roomId;
}

function trustPair(socket: SignallingSocket, to: string): void {
  const pairs = (socket.data.pairs ??= new Map());
  pairs.delete(to);
  pairs.set(to, Date.now());
  if (pairs.size > PAIRS_PER_SOCKET) pairs.delete(pairs.keys().next().value!);
}

export async function signal(
  ctx: SignallingContext,
  socket: SignallingSocket,
  msg: SignalOut,
): Promise<Ack> {
  const { config, store, relayHook } = ctx;
  const roomId = socket.data.roomId;
  if (roomId === undefined) return notJoined();
  const tooLong = envelopeTooLong(msg, config.maxEnvelopeChars);
  if (tooLong) return tooLong;
  if (!(ctx.sharedStore && pairTrusted(ctx, socket, msg.to))) {
    if (!(await store.getMember(roomId, socket.id))) return roomGone();
    if (msg.to === socket.id || !(await store.getMember(roomId, msg.to))) {
      return errorAck('peer-not-found', 'That peer is not in this room.');
    }
    await store.addPartners(roomId, socket.id, msg.to);
    if (ctx.sharedStore) trustPair(socket, msg.to);
  }
  let out: Pick<SignalOut, 'to' | 'envelope'> | null = msg;
  if (relayHook) {
    out = await relayHook({ from: socket.id, to: msg.to, envelope: msg.envelope });
    // A hostile relay answers the sender as if all went well.
    if (out === null || (out.to !== msg.to && !(await store.getMember(roomId, out.to)))) {
      return { ok: true };
    }
  }
  deliver(ctx, out.to, { from: socket.id, envelope: out.envelope });
  ctx.metrics.relayed.inc();
  return { ok: true };
}

/**
 * Relays are most of the service's traffic: answering each would double the messages it writes
 * (and, at 2,000 relays a second, its p99 latency), so the widget sends them without an ack and
 * hears back only when one failed, as `signal-failed` naming the addressee.
 */
export function tellSignalFailed(socket: SignallingSocket, raw: unknown, error: ErrorBody): void {
  const to =
    isPlainObject(raw) && typeof raw.to === 'string' && PEER_ID_PATTERN.test(raw.to) ? raw.to : '';
  socket.emit('signal-failed', { to, error });
}

/**
 * A relayed envelope goes straight to its socket when that is in this process, skipping the
 * adapter's broadcast path (a room lookup and a pre-encoded frame, built for rooms of many:
 * about 5 % of the relay's CPU), and through its socket-id room otherwise, which a cluster
 * adapter carries to the process holding it.
 */
function deliver(
  { io }: SignallingContext,
  to: string,
  msg: { from: string; envelope: string },
): void {
  const local = io.sockets.sockets.get(to);
  if (local) local.emit('signal', msg);
  else io.to(to).emit('signal', msg);
}
