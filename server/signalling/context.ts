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
import type { RoomSwarms, SwarmUpdate } from '../swarm/room-swarms.js';
import type { IceTickets } from '../ice.js';
import type { RoomTokens } from '../tokens.js';

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

/** Tells a room's members that its swarm changed (SwarmAnnouncer, swarm-announcer.ts). */
export interface Announcer {
  /** False when the update had nothing to tell. */
  announce(roomId: string, update: SwarmUpdate): boolean;
  forget(roomId: string): void;
}

export interface RelayMessage {
  from: string;
  to: string;
  envelope: string;
}

/**
 * A test seam standing in for a hostile service: it sees every envelope before delivery and may
 * alter it, send it elsewhere (`to`) or drop it (`null`).
 */
export type RelayHook = (
  msg: RelayMessage,
) =>
  | Pick<RelayMessage, 'to' | 'envelope'>
  | null
  | Promise<Pick<RelayMessage, 'to' | 'envelope'> | null>;

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
  announcer: Announcer;
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
