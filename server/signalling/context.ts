/**
 * What the event handlers work with: the typed Socket.IO server and socket, the services every
 * handler may reach, the name of a room's Socket.IO channel and the refusals several handlers
 * share. Handlers are plain functions of this context, so each can be read on its own.
 */
import type { Server, Socket } from 'socket.io';
import {
  errorAck,
  type ClientToServerEvents,
  type ErrorBody,
  type ServerToClientEvents,
} from '../../protocol/index.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { ServiceMetrics } from '../metrics.js';
import type { Role, RoomStore } from '../store/store.js';
import type { RoomSwarms } from '../swarm/room-swarms.js';
import type { IceTickets } from '../ice.js';
import type { RoomTokens } from '../tokens.js';
import type { RelayHook } from './relay.js';
import type { SwarmAnnouncer } from './swarm-announcer.js';

export interface SocketData {
  roomId?: string;
  role?: Role;
  /** The client address its limits count under (`rateKey` of the resolved address). */
  address?: string;
  /**
   * With a shared store: peers this socket relayed to lately, by when the store last said both
   * were members of its room (see relay.ts).
   */
  pairs?: Map<string, number>;
}

export type SignallingServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;
export type SignallingSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

export type ErrorAck = { ok: false; error: ErrorBody };

export interface SignallingContext {
  io: SignallingServer;
  config: Config;
  store: RoomStore;
  swarms: RoomSwarms;
  /** Checks room tokens at join; shared with the REST API that issues them. */
  tokens: RoomTokens;
  /** Signs the ice ticket of a join's acknowledgement; null when no TURN is configured. */
  iceTickets: IceTickets | null;
  logger: Logger;
  announcer: SwarmAnnouncer;
  metrics: ServiceMetrics;
  relayHook?: RelayHook;
  /** Whether the store is shared by several processes (each question is a round trip). */
  sharedStore: boolean;
}

/**
 * Socket.IO rooms named after store rooms get a prefix, so no room name can ever equal a socket
 * id (every socket is also in a room named after its own id, which is how relays address it).
 */
export const channel = (roomId: string) => `room:${roomId}`;

export const notJoined = () => errorAck('not-allowed', 'Join a room first.');

export const roomGone = () =>
  errorAck('room-not-found', 'This share does not exist or has expired.');
