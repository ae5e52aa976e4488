/**
 * A recipient's one connection to the signalling service: joins the room (asking for the first
 * sources in the same breath when the download wants them) and routes what the service sends to
 * whoever holds that peer: answers to the download's sources, offers to this page's seeding.
 * It knows neither what the download nor the seeding does with them.
 */
import { P2PError } from '../errors.js';
import type {
  JoinRequest,
  RoomClosed,
  SeedStatus,
  SignalIn,
  SourcesReply,
  SourcesRequest,
} from '../../protocol/signalling.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { fromOfferer } from '../rtc/peer-link.js';
import { SignalClient } from '../signal/signal-client.js';
import type { SourceSet } from './source-set.js';

/** The joined client, and the first sources when the join asked for them. */
export interface Joined {
  client: SignalClient;
  /** Null when the client had joined before (or the join asked for none). */
  first: Promise<SourcesReply> | null;
}

/** What this page's serving of the file to others hears from the service. */
export interface SeedingHolder {
  /** An envelope from someone fetching from this page. */
  handleSignal(msg: SignalIn): void;
  peerLeft(peerId: string): void;
  relayFailed(peerId: string, error: P2PError): void;
  roomClosed(): void;
  /** The connection came back under a new peer id. */
  rejoined(): void;
  /** The connection dropped for good. */
  lost(): void;
}

export interface RoomSignalOptions {
  server: string;
  roomId: string;
  /** The room token of a password room, renewed when needed; undefined for an open room. */
  joinToken: () => Promise<string | undefined>;
  /** The download's sources while an attempt runs. */
  sources: () => SourceSet | null;
  seeding: () => SeedingHolder;
  /** The service said it is briefly unavailable, or back (see the client's `unavailable`). */
  service: () => void;
}

export class RoomSignal {
  private current: SignalClient | null = null;

  constructor(private readonly opts: RoomSignalOptions) {}

  /** The joined client, if there is one; reading it connects nothing. */
  get client(): SignalClient | null {
    return this.current;
  }

  /**
   * The joined signalling client; with `ask`, the join also asks for sources (`first`, null when
   * the client had joined before).
   */
  async connect(ask?: SourcesRequest): Promise<Joined> {
    if (this.current) return { client: this.current, first: null };
    const client = await SignalClient.connect(this.opts.server);
    this.route(client);
    let first: Promise<SourcesReply> | null = null;
    try {
      const token = await this.opts.joinToken();
      const req: JoinRequest = {
        v: PROTOCOL_VERSION,
        roomId: this.opts.roomId,
        role: 'recipient',
        ...(token ? { token } : {}),
      };
      if (ask) {
        const { joined, sources } = client.joinAndAsk(req, ask);
        await joined;
        first = sources;
      } else {
        await client.join(req);
      }
    } catch (err) {
      client.close();
      throw err;
    }
    this.current = client;
    return { client, first };
  }

  /**
   * Closes the connection. With `status`, the service hears it first: that is how it counts a
   * finish and takes this page off the pool.
   */
  close(status?: SeedStatus): void {
    const client = this.current;
    if (!client) return;
    this.current = null;
    if (!status) {
      client.close();
      return;
    }
    void client
      .seed(status)
      .catch(() => {})
      .finally(() => client.close());
  }

  private route(client: SignalClient): void {
    const { sources, seeding } = this.opts;
    client.addEventListener('signal', (e) => {
      const msg = (e as CustomEvent<SignalIn>).detail;
      // Answers to our offers are for our sources; offers are from those fetching from us.
      if (fromOfferer(msg.envelope)) seeding().handleSignal(msg);
      else sources()?.receive(msg);
    });
    client.addEventListener('peer-left', (e) => {
      const { peerId } = (e as CustomEvent<{ peerId: string }>).detail;
      sources()?.peerLeft(peerId);
      seeding().peerLeft(peerId);
    });
    client.addEventListener('signal-failed', (e) => {
      const { to, error } = (e as CustomEvent<{ to: string; error: P2PError }>).detail;
      sources()?.relayFailed(to, error);
      seeding().relayFailed(to, error);
    });
    client.addEventListener('room-closed', (e) => {
      const { reason } = (e as CustomEvent<RoomClosed>).detail;
      sources()?.stop(new P2PError('room-closed', { reason }));
      seeding().roomClosed();
    });
    client.addEventListener('service', this.opts.service);
    client.addEventListener('rejoined', () => seeding().rejoined());
    client.addEventListener('lost', () => seeding().lost());
  }
}
