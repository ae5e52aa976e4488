/**
 * What a PeerServer is given, and the limits it keeps: how many recipients it serves and sets up
 * at once, how fast strangers may connect, and how much of them it holds while checking them.
 * PeerServer re-exports the ones imported from it.
 */
import type { RoomKeys } from '../crypto/keys.js';
import type { UploadPacer } from '../transfer/pacer.js';
import type { PieceSource } from '../transfer/piece-sender.js';
import type { ProgressDetail } from './types.js';

/** Recipients served at once; more are refused until one finishes (the service's queue waits). */
export const MAX_PEERS = 16;
/** Connections being set up at once beyond that: at most `maxPeers + SETUP_EXTRA` exist. */
export const SETUP_EXTRA = 4;
/**
 * With every place taken, a new offer replaces the oldest connection still being set up once
 * that one has had this long: half-open connections cannot keep newcomers out until they time out.
 */
export const EVICT_AFTER_MS = 1000;
/** New connections at once, and how often one more (whoever offers). */
export const CONNECT_EVERY_MS = 250;
/** Failed rows the list keeps (the latest), so refused peers do not pile up in the widget. */
export const MAX_FAILED_ROWS = MAX_PEERS;
/** Strangers whose first envelope is being opened at once; others' envelopes are dropped. */
export const MAX_CHECKING = 64;
/** Envelopes kept per stranger while its first one is being opened. */
export const MAX_HELD = 16;

export interface PeerServerOptions {
  roomId: string;
  localId: string;
  /** This page's SignalClient's `page`. */
  page?: string;
  keys: RoomKeys;
  ice: RTCConfiguration;
  source: PieceSource;
  pacer?: UploadPacer;
  /** Relays a sealed envelope to `to` through the service. */
  relay: (to: string, envelope: string) => void | Promise<void>;
  /** The views or the upload total changed (coalesce before rendering). */
  onChange: () => void;
  onProgress: (detail: ProgressDetail) => void;
  /**
   * `peerId`'s connections kept failing (STRIKES of them): it is refused for the share, and the
   * owner tells the service.
   */
  onRefused?: (peerId: string) => void;
  /** A link with `peerId` opened: the owner tells the service, which keeps its slot taken. */
  onOpened?: (peerId: string) => void;
  /** Recipients served at once (default MAX_PEERS). */
  maxPeers?: number;
  /** How long a connection may take to open (PeerLink's default when unset). */
  connectTimeoutMs?: number;
  /** How often a link checks its deadline and pings (PeerLink's default when unset). */
  heartbeatMs?: number;
}
