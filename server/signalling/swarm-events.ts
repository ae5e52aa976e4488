/**
 * The events a recipient uses to take part in its room's swarm: asking for sources (or a queue
 * place), saying what it holds and whether it seeds, releasing a source and reporting one (good
 * or bad), and a seed's (or the sharer's) word on a peer it serves. Each takes one event from
 * its room's budget (one room's members cannot take the whole service's time) and is one step
 * of the room's swarm, whose changes the announcer tells the sockets concerned.
 */
import {
  errorAck,
  type Ack,
  type Release,
  type Report,
  type SeedStatus,
  type SourcesReply,
  type SourcesRequest,
} from '../../protocol/index.js';
import { roomTag } from '../log.js';
import type { SwarmUpdate } from '../swarm/room-swarms.js';
import {
  notJoined,
  roomGone,
  type ErrorAck,
  type SignallingContext,
  type SignallingSocket,
} from './context.js';

export async function sources(
  ctx: SignallingContext,
  socket: SignallingSocket,
  req: SourcesRequest,
): Promise<Ack<SourcesReply>> {
  const { config, swarms, announcer, logger } = ctx;
  const roomId = recipientRoom(ctx, socket);
  if (typeof roomId !== 'string') return roomId;
  const result = await swarms.requestSources(
    roomId,
    socket.id,
    { exclude: req.exclude ?? [], max: req.max },
    config.swarmMaxSources,
  );
  if (!result) return roomGone();
  announcer.announce(roomId, result.update);
  const { outcome } = result;
  if (outcome.kind === 'no-sources') {
    return errorAck('no-sources', 'Nobody is sharing this file right now.');
  }
  if (outcome.kind === 'queued') {
    logger.debug('swarm.queued', { room: roomTag(roomId), position: outcome.position });
    return { ok: true, sources: [], position: outcome.position };
  }
  return { ok: true, sources: outcome.sources };
}

export function seed(
  ctx: SignallingContext,
  socket: SignallingSocket,
  status: SeedStatus,
): Promise<Ack> {
  return step(ctx, socket, RECIPIENTS, (roomId) =>
    ctx.swarms.setSeed(roomId, socket.id, status, ctx.config.swarmCapacity),
  );
}

export function release(
  ctx: SignallingContext,
  socket: SignallingSocket,
  msg: Release,
): Promise<Ack> {
  return step(ctx, socket, RECIPIENTS, (roomId) =>
    ctx.swarms.release(roomId, socket.id, msg.peerId),
  );
}

export function report(
  ctx: SignallingContext,
  socket: SignallingSocket,
  msg: Report,
): Promise<Ack> {
  // The sharer serves and never fetches: it reports only as a seed.
  const sharerMay = msg.reason === 'opened' || msg.reason === 'refused';
  return step(ctx, socket, { sharerMay }, async (roomId) => {
    const result = await ctx.swarms.report(roomId, socket.id, msg.peerId, msg.reason);
    if (!result) return null;
    // The words of every working link are not worth a log line.
    if (msg.reason === 'good' || msg.reason === 'opened') return result.update;
    ctx.logger.info('swarm.reported', {
      room: roomTag(roomId),
      reason: msg.reason,
      evicted: result.evicted,
    });
    return result.update;
  });
}

const RECIPIENTS = { sharerMay: false };

/** Runs one swarm step for a recipient (or the sharer, where it may) and announces its changes. */
async function step(
  ctx: SignallingContext,
  socket: SignallingSocket,
  who: { sharerMay: boolean },
  run: (roomId: string) => Promise<SwarmUpdate | null>,
): Promise<Ack> {
  const roomId = recipientRoom(ctx, socket, who.sharerMay);
  if (typeof roomId !== 'string') return roomId;
  const update = await run(roomId);
  if (!update) return roomGone();
  ctx.announcer.announce(roomId, update);
  return { ok: true };
}

/**
 * The room of a socket that may use the swarm events, or the refusal; an event past the room's
 * budget is refused before it costs a step.
 */
function recipientRoom(
  { swarms }: SignallingContext,
  socket: SignallingSocket,
  sharerMay = false,
): string | ErrorAck {
  const { roomId, role } = socket.data;
  if (roomId === undefined) return notJoined();
  if (role !== 'recipient' && !(sharerMay && role === 'sharer')) {
    return errorAck('not-allowed', 'The sharer serves its room; only recipients do this.');
  }
  const retryAfterMs = swarms.admit(roomId);
  if (retryAfterMs > 0) {
    return errorAck('rate-limited', 'This share is busy; try again shortly.', { retryAfterMs });
  }
  return roomId;
}
