/**
 * One WebRTC connection to one peer: sealed offer/answer/candidate exchange through the service,
 * a single ordered data channel, a handshake in which each side proves (under the link key) the
 * pair of DTLS fingerprints it sees, and a heartbeat that notices a vanished peer within seconds.
 * It knows nothing of files: it hands control messages and binary frames to its owner.
 */
import * as v from 'valibot';
import type { RoomKeys } from '../crypto/keys.js';
import { openJson, sealJson } from '../crypto/seal.js';
import type { ErrorCode } from '../../protocol/errors.js';
import { P2PError, toP2PError } from '../errors.js';
import { chunkPayloadSize, parseControl, type Control } from '../../protocol/frames.js';
import { EnvelopeSchema, type Envelope, type EnvelopeBody } from '../../protocol/envelope.js';
import { fromBase64Url, randomId, toBase64Url } from '../../protocol/ids.js';
import { helloInput, signalAad } from '../../protocol/sealing.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';

export type LinkRole = 'offerer' | 'answerer';

/**
 * Each relayed envelope starts with its sender's role, outside the seal (which also covers the
 * role, so a relay that changes it is caught). Two peers may run two connections at once, one
 * each way (each fetching from the other); the prefix tells which connection an envelope is for.
 */
export const ENVELOPE_PREFIX: Readonly<Record<LinkRole, string>> = { offerer: 'o', answerer: 'a' };

/** Whether a relayed envelope was sent by the peer that offered (it is for the answering side). */
export function fromOfferer(envelope: string): boolean {
  return envelope.startsWith(ENVELOPE_PREFIX.offerer);
}

export interface PeerLinkOptions {
  role: LinkRole;
  roomId: string;
  localId: string;
  remoteId: string;
  keys: RoomKeys;
  iceServers: RTCIceServer[];
  /**
   * Relays a sealed envelope to the remote peer through the service. A relay that fails later
   * (the service says so by event) is the session's to route to `fail`; one that throws or
   * rejects fails the link here.
   */
  relay: (envelope: string) => void | Promise<void>;
  onOpen: () => void;
  onControl: (msg: Control) => void;
  onData: (data: ArrayBuffer) => void;
  onClose: (error: P2PError | null) => void;
  /** Answerer: a genuine offer arrived (before it, the link may only hold stale envelopes). */
  onOffer?: () => void;
  /**
   * Answerer: the peer started a new connection while this one still stood (it lost this one
   * first, and we had not noticed yet). This link closes with `peer-vanished` and hands on, in
   * order, the peer's new offer and every envelope it is given after it, for the link that takes
   * over. Without it, such an offer is refused as tampering.
   */
  onSuperseded?: (envelope: string) => void;
  /**
   * Offerer: sessions of this side's own earlier links to the same peer, which it ended. The
   * peer's late envelopes for them (an answer already on its way when an attempt was given up)
   * are dropped, not taken for tampering; they can touch nothing of this connection.
   */
  retired?: ReadonlySet<string>;
  /**
   * A connection made ahead for this link, not used yet (no descriptions, no channels); without
   * it the link makes its own. A page's first RTCPeerConnection costs the browser 6–15 ms to
   * set up WebRTC, which is better spent while the service is still being reached.
   */
  pc?: RTCPeerConnection;
  connectTimeoutMs?: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
}

/**
 * Send-queue bounds. Chromium closes a channel whose queue passes 16 MiB; in an A/B of five
 * widget transfers on the benchmark machine, 4 MiB / 1 MiB took about 7 % less CPU per MiB than
 * 8 MiB / 2 MiB. The low mark still covers 10 ms of main-thread delay at 100 MB/s.
 */
export const HIGH_WATER = 4 * 1024 * 1024;
export const LOW_WATER = 1024 * 1024;
/** Smallest maximum message size a peer may announce (browsers allow 64 KiB or more). */
export const MIN_MESSAGE_SIZE = 16 * 1024;
const MAX_EARLY_MESSAGES = 64;
/** After the last queued frame left, how long its packets get before the connection closes. */
const CLOSE_GRACE_MS = 200;
/** Longest wait for the send queue to empty when closing (a peer that stopped reading). */
const CLOSE_QUEUE_MS = 5000;

const encoder = new TextEncoder();

export class PeerLink {
  readonly pc: RTCPeerConnection;
  private channel: RTCDataChannel | null = null;
  private sessionId: string | null;
  private sendSeq = 0;
  private recvSeq = -1;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private inbox: Promise<void> = Promise.resolve();
  private outbox: Promise<void> = Promise.resolve();
  private phase: 'connecting' | 'authenticating' | 'open' | 'closed' = 'connecting';
  private peerProven = false;
  /** Our hello is on the channel: nothing else may go before it. */
  private helloSent = false;
  private peerAborted = false;
  /** The peer closed the link (farewell, error, abort or closed channel), not silence or ICE. */
  private peerEnded = false;
  /** Where envelopes go once the peer started a new connection (see `onSuperseded`). */
  private successor: ((envelope: string) => void) | null = null;
  private helloReceived = false;
  /** Messages that arrived before the link opened, for when (and if) it does. */
  private early: Array<string | ArrayBuffer> = [];
  /** What our owner sent before the link opened, to follow our hello. */
  private held: Array<string | Uint8Array<ArrayBuffer>> = [];
  private lastHeard = 0;
  private pingCount = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly startedAt = performance.now();
  private drainWaiters: Array<() => void> = [];
  /**
   * The descriptions as this side applied them. The handshake reads the fingerprints from these,
   * not from `pc.localDescription` / `pc.remoteDescription`: Chromium can open the channel before
   * those attributes reflect a `setRemoteDescription` that is still resolving.
   */
  private localSdp: string | null = null;
  private remoteSdp: string | null = null;

  constructor(private readonly opts: PeerLinkOptions) {
    this.sessionId = opts.role === 'offerer' ? randomId() : null;
    this.pc = opts.pc ?? new RTCPeerConnection({ iceServers: opts.iceServers });
    this.pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        void this.sendEnvelope({ k: 'candidate', c: e.candidate.toJSON() });
      }
    };
    this.pc.onconnectionstatechange = () => {
      const state = this.pc.connectionState;
      if (state === 'failed') {
        this.fail(
          this.phase === 'open'
            ? new P2PError('peer-vanished', 'The connection to the other browser was lost.')
            : new P2PError(
                'connection-failed',
                'Could not establish a direct connection to the other browser (a firewall or network may block it).',
              ),
        );
      }
    };
    if (opts.role === 'answerer') {
      this.pc.ondatachannel = (e) => this.attach(e.channel);
    }
    this.timer = setInterval(() => this.tick(), opts.heartbeatMs ?? 1500);
  }

  get remoteId(): string {
    return this.opts.remoteId;
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
    return this.peerEnded;
  }

  /** Whether the peer's new connection took over from this one (see `onSuperseded`). */
  get superseded(): boolean {
    return this.successor !== null;
  }

  /** Payload bytes per binary frame that fit the negotiated maximum message size. */
  get framePayload(): number {
    return chunkPayloadSize(this.pc.sctp?.maxMessageSize ?? 65536);
  }

  /** This connection's session id (an answerer's, once the peer's offer named it). */
  get session(): string | null {
    return this.sessionId;
  }

  get bufferedAmount(): number {
    return this.channel?.bufferedAmount ?? 0;
  }

  /** Offerer only: creates the channel and sends the sealed offer. */
  async start(): Promise<void> {
    if (this.opts.role !== 'offerer') throw new Error('only the offerer starts');
    this.attach(this.pc.createDataChannel('p2p-share', { ordered: true }));
    const offer = await this.pc.createOffer();
    this.localSdp = offer.sdp ?? '';
    await this.pc.setLocalDescription(offer);
    await this.sendEnvelope({ k: 'offer', sdp: offer.sdp ?? '' });
  }

  /** A sealed envelope the service relayed from the remote peer. */
  receive(envelope: string): void {
    this.inbox = this.inbox
      .then(() => this.handleEnvelope(envelope))
      .catch((err: unknown) => this.fail(toP2PError(err)));
  }

  /**
   * Sends once the link is open. Before that, what the owner sends waits (in order, a few at most)
   * and leaves right after our hello: nothing may reach the peer ahead of the handshake.
   */
  send(data: string | Uint8Array<ArrayBuffer>): void {
    if (this.phase === 'open') this.transmit(data);
    else if (this.phase !== 'closed') {
      if (this.held.length >= MAX_EARLY_MESSAGES) {
        this.fail(new P2PError('internal', 'Too much was sent before the connection opened.'));
      } else {
        // A frame's bytes may be a buffer its encoder reuses: keep a copy.
        this.held.push(typeof data === 'string' ? data : data.slice());
      }
    }
  }

  private transmit(data: string | Uint8Array<ArrayBuffer>): void {
    const channel = this.channel;
    if (!channel || channel.readyState !== 'open') return;
    try {
      if (typeof data === 'string') channel.send(data);
      else channel.send(data);
    } catch (cause) {
      this.fail(new P2PError('peer-vanished', 'The connection closed while sending.', { cause }));
    }
  }

  sendControl(msg: Control): void {
    this.send(JSON.stringify(msg));
  }

  /** The link's own messages (handshake, heartbeat, farewell), which go in any phase. */
  private sendOwn(msg: Control): void {
    this.transmit(JSON.stringify(msg));
  }

  /** Resolves once the send queue is below the low-water mark (or the link closed). */
  drain(): Promise<void> {
    if (this.phase === 'closed' || this.bufferedAmount <= LOW_WATER) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
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
    if (this.channel?.readyState === 'open') {
      this.sendOwn({ t: 'error', code: error.code, message: error.message.slice(0, 500) });
    } else if (!this.peerAborted && !this.successor) {
      // No channel yet: say it through the service, sealed like everything else. A relay that
      // alters it makes the peer see tampering; either way it learns at once, not at a timeout.
      // (Not once the peer started over: its new connection would take the abort for itself.)
      void this.sendEnvelope({ k: 'abort', code: error.code }, true);
    }
    this.shutdown(error);
  }

  private shutdown(error: P2PError | null): void {
    this.phase = 'closed';
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const channel = this.channel;
    const teardown = () => {
      channel?.close();
      this.pc.close();
    };
    // The bye or the error is queued behind whatever frames were sent before it: let the queue
    // empty (within reason) and the last packets leave before the transport is torn down.
    if (channel?.readyState === 'open' && channel.bufferedAmount > 0) {
      const late = setTimeout(teardown, CLOSE_QUEUE_MS);
      channel.bufferedAmountLowThreshold = 0;
      channel.onbufferedamountlow = () => {
        clearTimeout(late);
        setTimeout(teardown, CLOSE_GRACE_MS);
      };
      // The peer closed first: nothing left to let through.
      channel.onclose = () => {
        clearTimeout(late);
        teardown();
      };
    } else {
      setTimeout(teardown, CLOSE_GRACE_MS);
    }
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    this.opts.onClose(error);
  }

  private attach(channel: RTCDataChannel): void {
    if (this.channel) {
      channel.close();
      return;
    }
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.onbufferedamountlow = () => {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    };
    channel.onopen = () => void this.authenticate();
    channel.onclose = () => {
      if (this.phase !== 'closed') {
        this.peerEnded = true;
        this.shutdown(new P2PError('peer-vanished', 'The other browser closed the connection.'));
      }
    };
    channel.onmessage = (e: MessageEvent<string | ArrayBuffer>) => this.handleMessage(e.data);
    if (channel.readyState === 'open') void this.authenticate();
  }

  private handleMessage(data: string | ArrayBuffer): void {
    this.lastHeard = performance.now();
    if (this.phase === 'closed') return;
    if (typeof data !== 'string') {
      if (this.phase === 'open') this.opts.onData(data);
      else if (this.helloReceived) this.holdEarly(data);
      else
        this.fail(
          new P2PError('tampered', 'The other browser sent data before proving who it is.'),
        );
      return;
    }
    const msg = parseControl(data);
    if (!msg) {
      this.fail(new P2PError('bad-request', 'The other browser sent a malformed message.'));
      return;
    }
    switch (msg.t) {
      case 'hello':
        if (this.helloReceived) {
          this.fail(new P2PError('tampered', 'The other browser repeated its handshake.'));
          return;
        }
        this.helloReceived = true;
        void this.verifyHello(msg);
        return;
      case 'ping':
        this.sendOwn({ t: 'pong', n: msg.n });
        return;
      case 'pong':
        return;
      case 'bye':
        this.peerEnded = true;
        this.shutdown(new P2PError('peer-vanished', 'The other browser ended the transfer.'));
        return;
      case 'error':
        // The peer's own words are not shown: they are whatever it chose to send.
        this.peerEnded = true;
        this.shutdown(remoteFailure(msg.code));
        return;
      default:
        if (this.phase === 'open') this.opts.onControl(msg);
        else this.holdEarly(data);
    }
  }

  /**
   * Keeps a message that came before the link opened, in order, until it does: the peer may have
   * proved itself and moved on while we still check its proof or sign ours. Nothing is acted on
   * before the peer's proof checks out; a peer that never proves itself is dropped at the connect
   * timeout, and these with it.
   */
  private holdEarly(data: string | ArrayBuffer): void {
    if (this.early.length < MAX_EARLY_MESSAGES) this.early.push(data);
    else
      this.fail(new P2PError('bad-request', 'The other browser did not wait for the handshake.'));
  }

  private tick(): void {
    const now = performance.now();
    if (this.phase === 'connecting' || this.phase === 'authenticating') {
      if (now - this.startedAt > (this.opts.connectTimeoutMs ?? 30_000)) this.fail(this.late());
      return;
    }
    if (this.phase !== 'open') return;
    if (now - this.lastHeard > (this.opts.deadAfterMs ?? 7000)) {
      this.fail(new P2PError('peer-vanished', 'The other browser stopped responding.'));
      return;
    }
    this.sendOwn({ t: 'ping', n: ++this.pingCount });
  }

  /** Why the connection did not open in time, by how far it got. */
  private late(): P2PError {
    if (this.remoteSdp === null) {
      return new P2PError('connection-failed', 'The other browser did not reply in time.');
    }
    if (this.phase === 'connecting') {
      return new P2PError(
        'connection-failed',
        'Could not connect to the other browser in time (a firewall or network may block it).',
      );
    }
    return new P2PError(
      'connection-failed',
      'The other browser connected but did not finish the secure handshake in time.',
    );
  }

  // ---- sealed signalling ------------------------------------------------------------------------

  private aad(from: string, to: string, role: LinkRole): string {
    return signalAad(this.opts.roomId, from, to, role);
  }

  private get remoteRole(): LinkRole {
    return this.opts.role === 'offerer' ? 'answerer' : 'offerer';
  }

  /** Seals and relays in order: the peer refuses a sequence number that goes backwards. */
  private sendEnvelope(body: EnvelopeBody, evenIfClosed = false): Promise<void> {
    this.outbox = this.outbox.then(async () => {
      if (this.phase === 'closed' && !evenIfClosed) return;
      const envelope = { s: this.sessionId ?? '', n: this.sendSeq++, ...body } as Envelope;
      const sealed =
        ENVELOPE_PREFIX[this.opts.role] +
        (await sealJson(
          this.opts.keys.signal,
          envelope,
          this.aad(this.opts.localId, this.opts.remoteId, this.opts.role),
        ));
      try {
        await this.opts.relay(sealed);
      } catch (err) {
        this.fail(toP2PError(err));
      }
    });
    return this.outbox;
  }

  private async handleEnvelope(sealed: string): Promise<void> {
    if (this.successor) {
      this.successor(sealed);
      return;
    }
    if (this.phase === 'closed') return;
    const remoteRole = this.remoteRole;
    if (!sealed.startsWith(ENVELOPE_PREFIX[remoteRole])) {
      throw new P2PError('tampered', 'A relayed message came from the wrong end of a connection.');
    }
    const raw = await openJson(
      this.opts.keys.signal,
      sealed.slice(1),
      this.aad(this.opts.remoteId, this.opts.localId, remoteRole),
    );
    const parsed = v.safeParse(EnvelopeSchema, raw);
    if (!parsed.success)
      throw new P2PError('tampered', 'A relayed message had an unexpected shape.');
    const env = parsed.output;
    if (env.s !== this.sessionId && this.opts.retired?.has(env.s)) return;
    if (env.k === 'abort') {
      // Sealed by the peer (the key proves it), so believable whatever session it names.
      this.peerAborted = true;
      this.peerEnded = true;
      throw remoteFailure(env.code);
    }
    if (
      this.sessionId !== null &&
      env.s !== this.sessionId &&
      env.k === 'offer' &&
      env.n === 0 &&
      this.opts.onSuperseded
    ) {
      // Sealed by the peer, and the first message of a session of its own: it started over.
      const successor = this.opts.onSuperseded;
      this.successor = successor;
      this.fail(new P2PError('peer-vanished', 'The other browser reconnected.'));
      successor(sealed);
      return;
    }
    if (this.sessionId === null) {
      // Candidates that trail a connection which already ended start nothing.
      if (env.k !== 'offer') return;
      this.sessionId = env.s;
      this.opts.onOffer?.();
    }
    if (env.s !== this.sessionId || env.n <= this.recvSeq) {
      throw new P2PError(
        'tampered',
        'A relayed message was replayed or belongs to another connection.',
      );
    }
    this.recvSeq = env.n;
    switch (env.k) {
      case 'offer': {
        if (this.opts.role !== 'answerer') throw new P2PError('tampered', 'Unexpected offer.');
        this.remoteSdp = env.sdp;
        await this.pc.setRemoteDescription({ type: 'offer', sdp: env.sdp });
        await this.flushCandidates();
        const answer = await this.pc.createAnswer();
        this.localSdp = answer.sdp ?? '';
        await this.pc.setLocalDescription(answer);
        await this.sendEnvelope({ k: 'answer', sdp: answer.sdp ?? '' });
        return;
      }
      case 'answer':
        if (this.opts.role !== 'offerer' || this.remoteSdp !== null) {
          throw new P2PError('tampered', 'Unexpected answer.');
        }
        this.remoteSdp = env.sdp;
        await this.pc.setRemoteDescription({ type: 'answer', sdp: env.sdp });
        await this.flushCandidates();
        return;
      case 'candidate':
        if (this.remoteSdp === null) this.pendingCandidates.push(env.c);
        else await this.addCandidate(env.c);
        return;
    }
  }

  private async flushCandidates(): Promise<void> {
    for (const c of this.pendingCandidates.splice(0)) await this.addCandidate(c);
  }

  private async addCandidate(c: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(c);
    } catch {
      // A candidate this browser cannot use (another address family, say) is not an attack.
    }
  }

  // ---- fingerprint proof ------------------------------------------------------------------------

  private proofInput(role: 'recipient' | 'source'): Uint8Array<ArrayBuffer> | null {
    const local = fingerprint(this.localSdp ?? undefined);
    const remote = fingerprint(this.remoteSdp ?? undefined);
    if (!local || !remote || !this.sessionId) return null;
    const [offerer, answerer] = this.opts.role === 'offerer' ? [local, remote] : [remote, local];
    return encoder.encode(helloInput(this.opts.roomId, this.sessionId, role, offerer, answerer));
  }

  private get localRole(): 'recipient' | 'source' {
    return this.opts.role === 'offerer' ? 'recipient' : 'source';
  }

  private async authenticate(): Promise<void> {
    if (this.phase !== 'connecting') return;
    this.phase = 'authenticating';
    this.lastHeard = performance.now();
    // The peer sets this limit in its SDP; one too small to carry a frame header is hostile.
    if ((this.pc.sctp?.maxMessageSize ?? MIN_MESSAGE_SIZE) < MIN_MESSAGE_SIZE) {
      this.fail(new P2PError('bad-request', 'The other browser allows only tiny messages.'));
      return;
    }
    const input = this.proofInput(this.localRole);
    if (!input) {
      this.fail(new P2PError('tampered', 'The connection carries no DTLS fingerprint.'));
      return;
    }
    const proof = new Uint8Array(await crypto.subtle.sign('HMAC', this.opts.keys.auth, input));
    if (this.phase !== 'authenticating') return;
    this.sendOwn({
      t: 'hello',
      v: PROTOCOL_VERSION,
      role: this.localRole,
      proof: toBase64Url(proof),
    });
    this.helloSent = true;
    this.maybeOpen();
  }

  /** Checks the peer's one hello (`handleMessage` refuses a second, and any once closed). */
  private async verifyHello(msg: Extract<Control, { t: 'hello' }>): Promise<void> {
    if (msg.v !== PROTOCOL_VERSION) {
      this.fail(
        new P2PError(
          'protocol-mismatch',
          'The other browser runs an incompatible version of p2p-share. Reload both pages.',
        ),
      );
      return;
    }
    const expectedRole = this.localRole === 'recipient' ? 'source' : 'recipient';
    const input = this.proofInput(expectedRole);
    let ok = false;
    if (input && msg.role === expectedRole) {
      try {
        ok = await crypto.subtle.verify(
          'HMAC',
          this.opts.keys.auth,
          fromBase64Url(msg.proof),
          input,
        );
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      this.fail(
        new P2PError(
          'tampered',
          'The other browser could not prove it holds this link, or someone sits between you: the connection was refused.',
        ),
      );
      return;
    }
    this.peerProven = true;
    this.maybeOpen();
  }

  /**
   * Open once both hellos are through: the peer's checked, and ours sent. The peer's proof can
   * check out while ours is still being signed; opening then would let the owner's first message
   * reach the peer before our hello, and the peer would rightly refuse it.
   */
  private maybeOpen(): void {
    if (this.phase === 'authenticating' && this.helloSent && this.peerProven) {
      this.phase = 'open';
      this.lastHeard = performance.now();
      for (const data of this.held.splice(0)) this.transmit(data);
      this.opts.onOpen();
      for (const data of this.early.splice(0)) {
        if (this.phase !== 'open') break;
        this.handleMessage(data);
      }
    }
  }
}

/** The first DTLS fingerprint line of an SDP, e.g. `sha-256 AB:CD:…`. */
export function fingerprint(sdp: string | undefined): string | null {
  const match = sdp ? /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp) : null;
  return match ? `${match[1]!.toLowerCase()} ${match[2]!.toUpperCase()}` : null;
}

/** A failure the peer reported, in our words. */
export function remoteFailure(code: ErrorCode): P2PError {
  switch (code) {
    case 'cancelled':
      return new P2PError('cancelled', 'The other browser cancelled the transfer.');
    case 'room-closed':
      return new P2PError('room-closed', 'The sharer stopped sharing this file.');
    case 'tampered':
      return new P2PError(
        'tampered',
        'The other browser refused the connection: a message between you was altered on the way or did not come from someone holding this link.',
      );
    case 'integrity':
      return new P2PError(
        'integrity',
        'The other browser found corrupted data and ended the transfer.',
      );
    case 'storage-full':
    case 'storage-error':
    case 'file-too-large':
      return new P2PError(
        'peer-vanished',
        'The other browser could not store the file and ended the transfer.',
      );
    default:
      return new P2PError(
        code === 'internal' ? 'peer-vanished' : code,
        `The other browser ended the transfer (${code}).`,
      );
  }
}
