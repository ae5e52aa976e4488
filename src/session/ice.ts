/**
 * The RTCConfiguration every connection of a session uses: one object, kept current, that each
 * new RTCPeerConnection reads. It holds the service's `GET /ice` answer for this page's ice ticket
 * (TURN credentials come only to room members, so it is fetched after joining), relay-only when
 * the element or the service asks, and is fetched again halfway through the credentials' life.
 */
import type { RestClient } from '../signal/rest.js';

export class Ice {
  /** Empty until the first `load`. */
  readonly config: RTCConfiguration = {};
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly rest: RestClient,
    private readonly relayOnly?: boolean,
  ) {}

  /** Fetches with the ticket of the socket's latest join, and again before it expires. */
  async load(ticket: () => string | undefined): Promise<void> {
    const { ttl, ...config } = await this.rest.getIce(ticket());
    if (this.relayOnly) config.iceTransportPolicy = 'relay';
    Object.assign(this.config, config);
    this.close();
    if (ttl) this.timer = setTimeout(() => void this.load(ticket).catch(() => {}), ttl * 500);
  }

  close(): void {
    clearTimeout(this.timer);
  }
}
