/**
 * A socket joining a room (the sharer with its sharer token, which always finds its place; a
 * password room's recipients only with a room token; recipients up to a cap per client address)
 * and leaving it when it disconnects: the store's members, the room's Socket.IO channel, the
 * sharer's pool place, and `peer-left` to the partners of one who left.
 */
import {
  PROTOCOL_VERSION,
  errorAck,
  type Ack,
  type JoinReply,
  type JoinRequest,
} from '../../protocol/index.js';
import { roomTag } from '../log.js';
import type { Role } from '../store/store.js';
import type { SwarmUpdate } from '../swarm/room-swarms.js';
import { tokensMatch } from '../tokens.js';
import {
  channel,
  roomGone,
  type ErrorAck,
  type SignallingContext,
  type SignallingSocket,
} from './context.js';

export async function join(
  ctx: SignallingContext,
  socket: SignallingSocket,
  req: JoinRequest,
): Promise<Ack<JoinReply>> {
  const { config, store, swarms, tokens, announcer, logger } = ctx;
  const current = socket.data.roomId;
  if (current !== undefined) {
    if (await store.getMember(current, socket.id)) {
      return errorAck('not-allowed', 'This connection has already joined a room.');
    }
    // Its room closed or expired meanwhile; the socket is free to join another.
    await socket.leave(channel(current));
    socket.data.roomId = undefined;
    socket.data.pairs = undefined;
    socket.data.role = undefined;
  }
  const room = await store.getRoom(req.roomId);
  if (!room) return roomGone();
  if (
    req.role === 'sharer' &&
    (req.sharerToken === undefined || !tokensMatch(req.sharerToken, room.sharerToken))
  ) {
    return errorAck('not-allowed', 'Only the sharer of this room may join as sharer.');
  }
  // Without the token a recipient never becomes a member, so it can neither be named as a
  // source nor address anyone, and no peer's envelope (SDP, candidates) ever reaches it.
  if (req.role === 'recipient' && room.passwordHash !== null && !tokens.verify(req.token, room)) {
    return errorAck('not-allowed', 'This share needs its password.');
  }
  const added = await store.addMember(
    room.id,
    { peerId: socket.id, role: req.role, address: socket.data.address },
    config.maxSocketsPerRoom,
    config.maxSocketsPerAddressPerRoom,
  );
  if (added === 'room-not-found') return roomGone();
  if (added === 'full') return errorAck('limit-exceeded', 'This share has too many peers.');
  if (added === 'address-full') {
    return errorAck('limit-exceeded', 'Too many connections from your network to this share.');
  }
  let update: SwarmUpdate | null = null;
  if (req.role === 'sharer') {
    await store.setSharerOnline(room.id, socket.id);
    update = await swarms.setSeed(
      room.id,
      socket.id,
      { have: 'all', seeding: true },
      config.swarmCapacity,
    );
  }
  if (!socket.connected) {
    // The socket left while we were busy; take it out again. Waiters its arrival served are
    // told, as of any source that vanishes: their links fail and they ask again.
    const removal = await swarms.leave(room.id, socket.id);
    await store.setSharerOffline(room.id, socket.id);
    if (update) announcer.announce(room.id, update);
    if (removal) announcer.announce(room.id, removal.result);
    return errorAck('not-allowed', 'The connection closed.');
  }
  socket.data.roomId = room.id;
  socket.data.pairs = undefined;
  socket.data.role = req.role;
  await socket.join(channel(room.id));
  // The newcomer hears the counts before its acknowledgement, from the room or on its own.
  if (!(update && announcer.announce(room.id, update))) {
    const stats = await swarms.stats(room.id);
    if (stats) socket.emit('swarm', stats);
  }
  logger.info('room.joined', { room: roomTag(room.id), role: req.role });
  const ice = ctx.iceTickets?.issue(room.id, socket.id);
  return { ok: true, peerId: socket.id, ...(ice ? { ice } : {}) };
}

/** A join from another version of the protocol is told so, rather than "not valid". */
export function versionMismatch(raw: unknown): ErrorAck | undefined {
  if (typeof raw === 'object' && raw !== null && 'v' in raw && raw.v !== PROTOCOL_VERSION) {
    return errorAck(
      'protocol-mismatch',
      `The service speaks protocol version ${PROTOCOL_VERSION}; reload the page to update.`,
    );
  }
  return undefined;
}

/** The socket disconnected: it leaves its room, and its partners and the room hear of it. */
export async function leave(ctx: SignallingContext, socket: SignallingSocket): Promise<void> {
  const { io, logger } = ctx;
  const { roomId, role } = socket.data;
  logger.debug('socket.disconnected', { sockets: io.engine.clientsCount });
  if (roomId === undefined) return;
  await depart(ctx, roomId, socket.id, role ?? 'recipient');
}

/**
 * A member leaves its room: its swarm places go to the queue, a sharer goes offline, and its
 * partners hear `peer-left` (through the adapter, wherever their sockets are). Also what happens
 * to the members of a process that died (see server/liveness.ts).
 */
export async function depart(
  ctx: SignallingContext,
  roomId: string,
  peerId: string,
  role: Role,
): Promise<void> {
  const { io, store, swarms, announcer, logger } = ctx;
  const removal = await swarms.leave(roomId, peerId);
  if (role === 'sharer') await store.setSharerOffline(roomId, peerId);
  const partners = removal?.partners ?? [];
  for (const partner of partners) io.to(partner).emit('peer-left', { peerId });
  if (removal) announcer.announce(roomId, removal.result);
  logger.info('room.left', { room: roomTag(roomId), role, partners: partners.length });
}
