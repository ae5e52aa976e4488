/**
 * One WebRTC connection to one peer, made of: SealedSignalling (envelopes through the service),
 * Negotiation (offer, answer and candidates; media tracks will renegotiate through it),
 * FingerprintHandshake (each side proves, under the link key, the DTLS fingerprints it sees),
 * LinkChannel (the data channel, its queues and backpressure) and Heartbeat (the connect deadline
 * and the pings that notice a vanished peer within seconds). PeerLink holds the phase, routes the
 * channel's messages, and opens and closes. It knows nothing of files: it hands control messages
 * and binary frames to its owner.
 */
import { P2PError, type ErrorReason } from '../errors.js';
import { chunkPayloadSize, parseControl, type Control } from '../../protocol/frames.js';
import { FingerprintHandshake } from './fingerprint-handshake.js';
import { Heartbeat } from './heartbeat.js';
import { LinkChannel, MIN_MESSAGE_SIZE } from './link-channel.js';
import { Negotiation } from './negotiation.js';
import { remoteFailure } from './remote-failure.js';
import { SealedSignalling, type SignallingOptions } from './sealed-signalling.js';

// The rest of the engine reaches the rtc layer through this module.
export { HIGH_WATER, LOW_WATER } from './link-channel.js';
export { fromOfferer, type LinkRole } from './sealed-signalling.js';

/** How long a link may take to open its channel before it gives up (and frees what it holds). */
export const CONNECT_TIMEOUT_MS = 30_000;

export interface PeerLinkOptions extends SignallingOptions {
  /** The ICE servers and transport policy (a made-ahead `pc` takes them too). */
  ice: RTCConfiguration;
  /** This side's name, the same on all its links (its SignalClient's `page`). */
  page?: string;
  onOpen: () => void;
  onControl: (msg: Control) => void;
  onData: (data: ArrayBuffer) => void;
  onClose: (error: P2PError | null) => void;
  /**
   * A connection made ahead for this link, not used yet (no descriptions, no channels); without
   * it the link makes its own. A page's first RTCPeerConnection costs the browser 6–15 ms to
   * set up WebRTC, which is better spent while the service is still being reached.
   */
  pc?: RTCPeerConnection;
  connectTimeoutMs?: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  /** The clock the connect timeout and the heartbeat read, in milliseconds (tests drive it). */
  now?: () => number;
}

export class PeerLink {
  readonly pc: RTCPeerConnection;
  private readonly signalling: SealedSignalling;
  private readonly negotiation: Negotiation;
  private readonly handshake: FingerprintHandshake;
  private readonly channel: LinkChannel;
  private readonly heartbeat: Heartbeat;
  private phase: 'connecting' | 'authenticating' | 'open' | 'closed' = 'connecting';
  /** The peer closed the link (farewell, error or closed channel), not silence or ICE. */
  private peerEnded = false;
  /** A TURN server refused this side's credentials (401). */
  private refused = false;
  /** Whether the path runs through a TURN relay; known shortly after the channel opens. */
  relayed?: boolean;

  constructor(private readonly opts: PeerLinkOptions) {
    this.pc = opts.pc ?? new RTCPeerConnection(opts.ice);
    // Made ahead, it may predate the credentials or the relay-only answer.
    opts.pc?.setConfiguration(opts.ice);
    const isClosed = () => this.phase === 'closed';
    const fail = (error: P2PError) => this.fail(error);
    this.signalling = new SealedSignalling(opts, {
      isClosed,
      fail,
      negotiate: (envelope) => this.negotiation.apply(envelope),
    });
    this.negotiation = new Negotiation(this.pc, opts.role, (body) => this.signalling.send(body));
    this.handshake = new FingerprintHandshake({
      role: opts.role,
      roomId: opts.roomId,
      keys: opts.keys,
      page: opts.page,
      descriptions: this.negotiation,
      session: () => this.signalling.session,
      sendHello: (hello) => this.sendOwn(hello),
      isClosed,
      fail,
      onDone: () => this.open(),
    });
    this.channel = new LinkChannel({
      onOpen: () => this.authenticate(),
      onMessage: (data) => this.handleMessage(data),
      onClose: () => {
        if (this.phase !== 'closed') {
          this.peerEnded = true;
          this.shutdown(new P2PError('peer-vanished', { reason: 'closed' }));
        }
      },
      fail,
    });
    this.pc.onconnectionstatechange = () => {
      const state = this.pc.connectionState;
      if (state === 'failed') {
        this.fail(
          this.phase === 'open'
            ? new P2PError('peer-vanished', { reason: 'lost' })
            : this.unconnected('blocked'),
        );
      }
    };
    this.pc.onicecandidateerror = (e) => {
      if ((e as RTCPeerConnectionIceErrorEvent).errorCode !== 401) return;
      this.refused = true;
      // Relay-only, nothing else can carry the connection.
      if (opts.ice.iceTransportPolicy === 'relay') this.fail(this.unconnected('blocked'));
    };
    if (opts.role === 'answerer') {
      this.pc.ondatachannel = (e) => this.channel.attach(e.channel);
    }
    this.heartbeat = new Heartbeat({
      intervalMs: opts.heartbeatMs ?? 1500,
      connectTimeoutMs: opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      deadAfterMs: opts.deadAfterMs ?? 7000,
      now: opts.now ?? (() => performance.now()),
      isOpen: () => this.phase === 'open',
      ping: (n) => this.sendOwn({ t: 'ping', n }),
      onConnectTimeout: () => this.fail(this.late()),
      onSilence: () => this.fail(new P2PError('peer-vanished', { reason: 'silent' })),
    });
  }

  get remoteId(): string {
    return this.opts.remoteId;
  }

  /** The peer page's name (see the hello's `page`), once the link is open. */
  get remotePage(): string | undefined {
    return this.handshake.remotePage;
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /**
   * Whether the peer ended the link itself (it said goodbye or why, or closed the channel), as
   * opposed to falling silent or losing its network path: only the latter may be worth a retry.
   */
  get endedByPeer(): boolean {
    return this.peerEnded || this.signalling.peerAborted;
  }

  /** Whether the peer's new connection took over from this one (see `onSuperseded`). */
  get superseded(): boolean {
    return this.signalling.superseded;
  }

  /** Payload bytes per binary frame that fit the negotiated maximum message size. */
  get framePayload(): number {
    return chunkPayloadSize(this.pc.sctp?.maxMessageSize ?? 65536);
  }

  /** This connection's session id (an answerer's, once the peer's offer named it). */
  get session(): string | null {
    return this.signalling.session;
  }

  get bufferedAmount(): number {
    return this.channel.bufferedAmount;
  }

  /** Offerer only: creates the channel and sends the sealed offer. */
  async start(): Promise<void> {
    if (this.opts.role !== 'offerer') throw new Error('only the offerer starts');
    this.channel.attach(this.pc.createDataChannel('p2p-share', { ordered: true }));
    await this.negotiation.offer();
  }

  /** A sealed envelope the service relayed from the remote peer. */
  receive(envelope: string): void {
    this.signalling.receive(envelope);
  }

  /**
   * Sends once the link is open. Before that, what the owner sends waits (in order, a few at most)
   * and leaves right after our hello: nothing may reach the peer ahead of the handshake.
   */
  send(data: string | Uint8Array<ArrayBuffer>): void {
    if (this.phase === 'open') this.channel.transmit(data);
    else if (this.phase !== 'closed') this.channel.hold(data);
  }

  sendControl(msg: Control): void {
    this.send(JSON.stringify(msg));
  }

  /** Resolves once the send queue is below the low-water mark (or the link closed). */
  drain(): Promise<void> {
    return this.channel.drain();
  }

  /** Closes without an error; tells the peer first when the channel is open. */
  close(): void {
    if (this.phase === 'closed') return;
    this.sendOwn({ t: 'bye' });
    this.shutdown(null);
  }

  /** Closes because of `error`, telling the peer why. */
  fail(error: P2PError): void {
    if (this.phase === 'closed') return;
    if (this.channel.isOpen) {
      this.sendOwn({ t: 'error', code: error.code, message: error.message.slice(0, 500) });
    } else {
      // No channel yet: say it through the service.
      this.signalling.abort(error.code);
    }
    this.shutdown(error);
  }

  /** The link's own messages (handshake, heartbeat, farewell), which go in any phase. */
  private sendOwn(msg: Control): void {
    this.channel.transmit(JSON.stringify(msg));
  }

  private shutdown(error: P2PError | null): void {
    this.phase = 'closed';
    this.heartbeat.stop();
    this.channel.close(() => this.pc.close());
    this.opts.onClose(error);
  }

  /** The channel is open: check what the peer allows, then prove ourselves. */
  private authenticate(): void {
    if (this.phase !== 'connecting') return;
    this.phase = 'authenticating';
    this.heartbeat.heard();
    void relayed(this.pc).then((r) => (this.relayed = r));
    // The peer sets this limit in its SDP; one too small to carry a frame header is hostile.
    if ((this.pc.sctp?.maxMessageSize ?? MIN_MESSAGE_SIZE) < MIN_MESSAGE_SIZE) {
      this.fail(new P2PError('bad-request', { reason: 'malformed' }));
      return;
    }
    void this.handshake.sendHello();
  }

  /** Both hellos are through: what waited for the handshake goes, on both sides. */
  private open(): void {
    if (this.phase !== 'authenticating') return;
    this.phase = 'open';
    this.heartbeat.heard();
    this.channel.sendHeld();
    this.opts.onOpen();
    for (const data of this.channel.takeEarly()) {
      if (this.phase !== 'open') break;
      this.handleMessage(data);
    }
  }

  private handleMessage(data: string | ArrayBuffer): void {
    this.heartbeat.heard();
    if (this.phase === 'closed') return;
    if (typeof data !== 'string') {
      if (this.phase === 'open') this.opts.onData(data);
      else if (this.handshake.peerHelloReceived) this.channel.keepEarly(data);
      else this.fail(new P2PError('tampered', { reason: 'proof' }));
      return;
    }
    const msg = parseControl(data);
    if (!msg) {
      this.fail(new P2PError('bad-request', { reason: 'malformed' }));
      return;
    }
    switch (msg.t) {
      case 'hello':
        this.handshake.receiveHello(msg);
        return;
      case 'ping':
        this.sendOwn({ t: 'pong', n: msg.n });
        return;
      case 'pong':
        return;
      case 'bye':
        this.peerEnded = true;
        this.shutdown(new P2PError('peer-vanished', { reason: 'closed' }));
        return;
      case 'error':
        // The peer's own words are not shown: they are whatever it chose to send.
        this.peerEnded = true;
        this.shutdown(remoteFailure(msg.code));
        return;
      default:
        if (this.phase === 'open') this.opts.onControl(msg);
        else this.channel.keepEarly(data);
    }
  }

  /** Why the connection did not open in time, by how far it got. */
  private late(): P2PError {
    if (this.negotiation.remoteSdp === null) return this.unconnected('no-reply');
    if (this.phase === 'connecting') return this.unconnected('timeout');
    return this.unconnected('handshake');
  }

  /** `connection-failed` for `reason`, or because a TURN server refused the credentials. */
  private unconnected(reason: ErrorReason<'connection-failed'>): P2PError {
    return new P2PError('connection-failed', { reason: this.refused ? 'relay-refused' : reason });
  }
}

/** Whether the selected candidate pair's local candidate is a TURN relay (`getStats`). */
async function relayed(pc: RTCPeerConnection): Promise<boolean> {
  const stats = await pc.getStats();
  let pair: RTCIceCandidatePairStats | undefined;
  stats.forEach((s: RTCTransportStats | RTCIceCandidatePairStats) => {
    // Chromium names the pair on the transport; Firefox marks the pair itself as selected.
    if (s.type === 'transport')
      pair ??= stats.get((s as RTCTransportStats).selectedCandidatePairId!);
    if ((s as { selected?: boolean }).selected) pair = s as RTCIceCandidatePairStats;
  });
  return stats.get(pair?.localCandidateId ?? '')?.candidateType === 'relay';
}
