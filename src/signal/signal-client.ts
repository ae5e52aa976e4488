/**
 * The Socket.IO side of the service: join a room, ask for sources, relay sealed envelopes to one
 * addressed peer. socket.io-client is imported lazily, so a page that only shows a recipient the
 * file's metadata never loads it. Incoming events are validated before anyone sees them.
 */
import type { Socket } from 'socket.io-client';
import type * as SocketIo from './socket-io.js';
import * as v from 'valibot';
import { fromErrorBody, P2PError, toP2PError } from '../errors.js';
import { toBase64Url } from '../../protocol/ids.js';
import {
  AssignedSchema,
  ErrorBodySchema,
  PeerLeftSchema,
  QueuePositionSchema,
  RoomClosedSchema,
  ServiceStatusSchema,
  SignalFailedSchema,
  SignalInSchema,
  SwarmStatsSchema,
  type Ack,
  type Assigned,
  type ClientToServerEvents,
  type JoinReply,
  type JoinRequest,
  type QueuePosition,
  type Report,
  type SeedStatus,
  type ServerToClientEvents,
  type ServiceStatus,
  type SignalIn,
  type SourcesReply,
  type SourcesRequest,
  type SwarmStats,
} from '../../protocol/signalling.js';

const ACK_TIMEOUT_MS = 10_000;

let client: Promise<typeof SocketIo> | null = null;
const loadClient = () => (client ??= import('./socket-io.js'));
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * After a restart of the service, a room is back only once its sharer has reconnected too: a
 * re-join that finds no room tries again this often, for up to the sharer's reconnect window.
 */
const REJOIN_EVERY_MS = 2_000;
const REJOIN_TRIES = 10;
/** Tries of one report the room's swarm budget refuses. */
const REPORT_TRIES = 4;

export interface SignalClientEventMap {
  signal: CustomEvent<SignalIn>;
  'peer-left': CustomEvent<{ peerId: string }>;
  /** An envelope for `to` was not relayed: the link to `to` cannot go on. */
  'signal-failed': CustomEvent<{ to: string; error: P2PError }>;
  'room-closed': CustomEvent<{ reason: 'stopped' | 'expired' }>;
  /** Sources for this recipient after it waited in the queue. */
  assigned: CustomEvent<Assigned>;
  /** This recipient's new place in the queue. */
  queue: CustomEvent<QueuePosition>;
  swarm: CustomEvent<SwarmStats>;
  /**
   * The service lost its shared state (Redis) for a moment, so calls fail with
   * `service-unavailable` meanwhile, or has it back (`unavailable` says which is current).
   */
  service: CustomEvent<ServiceStatus>;
  /** The connection dropped and came back: the socket re-joined and has a new peer id. */
  rejoined: CustomEvent<{ peerId: string }>;
  /** The connection dropped and could not be restored. */
  lost: CustomEvent<P2PError>;
}

export class SignalClient extends EventTarget {
  private joined: JoinRequest | null = null;
  private rejoinTimer?: ReturnType<typeof setTimeout>;
  peerId = '';
  /**
   * A random name of this client, kept across reconnects (which change `peerId`): sent on its
   * links (the hello's `page`), so a peer meeting it again under a new id knows it.
   */
  readonly page = toBase64Url(crypto.getRandomValues(new Uint8Array(9)));
  /** The ice ticket of the latest join (see `IceConfig`). */
  ticket?: string;
  /** Run before re-joining after the connection came back: the sharer restores its room. */
  restore?: () => Promise<unknown>;
  /** Whether the service said it is briefly unavailable and has not said it is back. */
  unavailable = false;

  private constructor(private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>) {
    super();
    socket.on('signal', (msg) => this.forward('signal', SignalInSchema, msg));
    socket.on('peer-left', (msg) => this.forward('peer-left', PeerLeftSchema, msg));
    socket.on('signal-failed', (msg) => {
      const parsed = v.safeParse(SignalFailedSchema, msg);
      if (!parsed.success) return;
      const { to, error } = parsed.output;
      const detail = { to, error: fromErrorBody(error) };
      this.dispatchEvent(new CustomEvent('signal-failed', { detail }));
    });
    socket.on('room-closed', (msg) => this.forward('room-closed', RoomClosedSchema, msg));
    socket.on('assigned', (msg) => this.forward('assigned', AssignedSchema, msg));
    socket.on('queue', (msg) => this.forward('queue', QueuePositionSchema, msg));
    socket.on('swarm', (msg) => this.forward('swarm', SwarmStatsSchema, msg));
    // The service names a peer by its socket's id: a new connection is a new peer id at once.
    socket.on('connect', () => (this.peerId = socket.id!));
    socket.on('service', (msg) => this.forward('service', ServiceStatusSchema, msg));
    this.addEventListener('service', (e) => {
      this.unavailable = !(e as CustomEvent<ServiceStatus>).detail.available;
    });
    // Socket.IO reconnects for as long as the page lives, 1 s to 5 s apart; meanwhile the
    // widget says the service is out of reach, and transfers go on peer to peer.
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') {
        this.dispatchEvent(new CustomEvent('service', { detail: { available: false } }));
      }
    });
    socket.io.on('reconnect', () => void this.rejoin());
  }

  /** Loads socket.io-client ahead of need, without connecting. */
  static preload(): void {
    void loadClient().catch(() => {});
  }

  static async connect(server: string): Promise<SignalClient> {
    const { io } = await loadClient();
    const base = new URL(server);
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(base.origin, {
      path: `${base.pathname.replace(/\/?$/, '/')}socket.io`,
      transports: ['websocket'],
      timeout: CONNECT_TIMEOUT_MS,
      autoConnect: false,
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (cause?: unknown) => {
        socket.close();
        reject(
          new P2PError('server-unreachable', { reason: 'unreachable', host: base.host }, { cause }),
        );
      };
      const timer = setTimeout(fail, CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('connect_error');
        resolve();
      });
      socket.once('connect_error', (err) => {
        clearTimeout(timer);
        // The service refuses a connection over its client address's budget with the reason
        // in `data`; anything else means it could not be reached.
        const refusal = v.safeParse(ErrorBodySchema, (err as { data?: unknown }).data);
        if (!refusal.success) return fail(err);
        socket.close();
        reject(fromErrorBody(refusal.output));
      });
      socket.connect();
    });
    return new SignalClient(socket);
  }

  async join(req: JoinRequest): Promise<JoinReply> {
    const reply = await this.request<JoinReply>(() =>
      this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('join', req),
    );
    this.joined = req;
    this.peerId = reply.peerId;
    this.ticket = reply.ice;
    return reply;
  }

  /**
   * Joins, and asks for sources in the same breath: the service handles one socket's events in
   * order, so the question waits for the join there instead of a round trip here. If the join
   * fails, that is the failure to report; the question then fails too.
   */
  joinAndAsk(
    req: JoinRequest,
    ask: SourcesRequest,
  ): { joined: Promise<JoinReply>; sources: Promise<SourcesReply> } {
    // Both are emitted before either call returns: the join goes first on the socket.
    const joined = this.join(req);
    const sources = this.sources(ask);
    sources.catch(() => {});
    return { joined, sources };
  }

  sources(req: SourcesRequest = {}): Promise<SourcesReply> {
    return this.request<SourcesReply>(() =>
      this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('sources', req),
    );
  }

  /** Tells the service what this member holds and whether it serves others. */
  async seed(status: SeedStatus): Promise<void> {
    await this.request(() => this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('seed', status));
  }

  /** Frees this recipient's slot with a source it no longer fetches from. */
  async release(peerId: string): Promise<void> {
    await this.request(() =>
      this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('release', { peerId }),
    );
  }

  /**
   * Tells the service what this peer found of another (see Report). A report the room's busy
   * swarm (or a service briefly without Redis) refuses is sent again when the service says (up
   * to REPORT_TRIES times): a lost `opened` or `good` would cost a working link its lease.
   */
  async report(msg: Report): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await this.request(() => this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('report', msg));
        return;
      } catch (err) {
        const wait =
          err instanceof P2PError &&
          (err.code === 'rate-limited' || err.code === 'service-unavailable') &&
          err.params.retryAfterMs;
        if (!wait || tries >= REPORT_TRIES) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 5_000)));
      }
    }
  }

  /**
   * Relays a sealed envelope to `to`, without an ack: the service writes one message per relay
   * instead of two, and says `signal-failed` when one could not go through. While the connection
   * is down, Socket.IO buffers what is sent and delivers it on reconnect.
   */
  signal(to: string, envelope: string): void {
    this.socket.emit('signal', { to, envelope });
  }

  close(): void {
    this.joined = null;
    this.socket.removeAllListeners();
    this.socket.io.removeAllListeners();
    this.socket.close();
  }

  private async rejoin(tries = 1): Promise<void> {
    clearTimeout(this.rejoinTimer);
    try {
      if (this.joined) {
        await this.restore?.();
        const reply = await this.join(this.joined);
        this.dispatchEvent(new CustomEvent('rejoined', { detail: reply }));
      }
      // A process that took the join has its shared state, whatever the last one said.
      if (this.unavailable) {
        this.dispatchEvent(new CustomEvent('service', { detail: { available: true } }));
      }
    } catch (err) {
      const error = toP2PError(err);
      if (error.code === 'room-not-found' && tries < REJOIN_TRIES) {
        this.rejoinTimer = setTimeout(() => void this.rejoin(tries + 1), REJOIN_EVERY_MS);
      } else this.dispatchEvent(new CustomEvent('lost', { detail: error }));
    }
  }

  private async request<T extends object>(send: () => Promise<Ack<T>>): Promise<T> {
    let ack: Ack<T>;
    try {
      ack = await send();
    } catch (cause) {
      throw new P2PError('server-unreachable', { reason: 'timeout' }, { cause });
    }
    if (!ack || typeof ack !== 'object') {
      throw new P2PError('protocol-mismatch', { reason: 'service' });
    }
    if (!ack.ok) {
      // A refusal's body is checked like every other message from the service: a code this
      // widget does not know has no words.
      const body = v.safeParse(ErrorBodySchema, ack.error);
      throw body.success
        ? fromErrorBody(body.output)
        : new P2PError('protocol-mismatch', { reason: 'service' });
    }
    return ack;
  }

  private forward<S extends v.GenericSchema>(type: string, schema: S, msg: unknown): void {
    const parsed = v.safeParse(schema, msg);
    if (parsed.success) this.dispatchEvent(new CustomEvent(type, { detail: parsed.output }));
  }
}
