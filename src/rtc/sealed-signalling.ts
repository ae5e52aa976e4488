/**
 * The sealed envelopes of one connection, relayed by the service: seals what this side sends
 * (with the connection's session id and a sequence number) and opens and checks what the peer
 * sends (its role, session and order) before the negotiation sees it. It also recognises the
 * peer's early refusal (`abort`), a new connection from the same peer that supersedes this one,
 * and late envelopes for sessions this side retired. It knows nothing of SDP.
 */
import * as v from 'valibot';
import type { RoomKeys } from '../crypto/keys.js';
import { openJson, sealJson } from '../crypto/seal.js';
import type { ErrorCode } from '../../protocol/errors.js';
import { P2PError, toP2PError } from '../errors.js';
import { EnvelopeSchema, type Envelope, type EnvelopeBody } from '../../protocol/envelope.js';
import { randomId } from '../../protocol/ids.js';
import { signalAad } from '../../protocol/sealing.js';
import { remoteFailure } from './remote-failure.js';

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

/** An offer, answer or candidate of this connection, opened and checked: the negotiation's. */
export type NegotiationEnvelope = Exclude<Envelope, { k: 'abort' }>;

export interface SignallingOptions {
  role: LinkRole;
  roomId: string;
  localId: string;
  remoteId: string;
  keys: RoomKeys;
  /**
   * Relays a sealed envelope to the remote peer through the service. A relay that fails later
   * (the service says so by event) is the session's to route to `fail`; one that throws or
   * rejects fails the link here.
   */
  relay: (envelope: string) => void | Promise<void>;
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
}

/** What the signalling needs of the link it serves. */
export interface SignallingLink {
  isClosed(): boolean;
  fail(error: P2PError): void;
  /** Applies a checked envelope; the next one waits until it is applied. */
  negotiate(envelope: NegotiationEnvelope): Promise<void>;
}

export class SealedSignalling {
  private sessionId: string | null;
  private sendSeq = 0;
  private recvSeq = -1;
  private inbox: Promise<void> = Promise.resolve();
  private outbox: Promise<void> = Promise.resolve();
  private abortedByPeer = false;
  /** Where envelopes go once the peer started a new connection (see `onSuperseded`). */
  private successor: ((envelope: string) => void) | null = null;

  constructor(
    private readonly opts: SignallingOptions,
    private readonly link: SignallingLink,
  ) {
    this.sessionId = opts.role === 'offerer' ? randomId() : null;
  }

  /** This connection's session id (an answerer's, once the peer's offer named it). */
  get session(): string | null {
    return this.sessionId;
  }

  /** Whether the peer's new connection took over from this one (see `onSuperseded`). */
  get superseded(): boolean {
    return this.successor !== null;
  }

  /** Whether the peer refused the connection with a sealed `abort`. */
  get peerAborted(): boolean {
    return this.abortedByPeer;
  }

  /** A sealed envelope the service relayed from the remote peer. */
  receive(envelope: string): void {
    this.inbox = this.inbox
      .then(() => this.handleEnvelope(envelope))
      .catch((err: unknown) => this.link.fail(toP2PError(err)));
  }

  /** Seals and relays in order: the peer refuses a sequence number that goes backwards. */
  send(body: EnvelopeBody, evenIfClosed = false): Promise<void> {
    this.outbox = this.outbox.then(async () => {
      if (this.link.isClosed() && !evenIfClosed) return;
      const envelope = { s: this.sessionId ?? '', n: this.sendSeq++, ...body } as Envelope;
      const sealed = await sealEnvelope(this.opts, envelope);
      try {
        await this.opts.relay(sealed);
      } catch (err) {
        this.link.fail(toP2PError(err));
      }
    });
    return this.outbox;
  }

  /**
   * Tells the peer through the service why this side refused, for when there is no channel to
   * say it on: sealed like everything else, so a relay that alters it makes the peer see
   * tampering, and either way the peer learns at once, not at a timeout.
   */
  abort(code: ErrorCode): void {
    // Not to a peer that refused first, nor once the peer started over: its new connection would
    // take the abort for itself.
    if (this.abortedByPeer || this.successor) return;
    void this.send({ k: 'abort', code }, true);
  }

  private get remoteRole(): LinkRole {
    return this.opts.role === 'offerer' ? 'answerer' : 'offerer';
  }

  private async handleEnvelope(sealed: string): Promise<void> {
    if (this.successor) {
      this.successor(sealed);
      return;
    }
    if (this.link.isClosed()) return;
    const env = await openEnvelope(this.opts, this.remoteRole, sealed);
    if (env.s !== this.sessionId && this.opts.retired?.has(env.s)) return;
    if (env.k === 'abort') {
      // Sealed by the peer (the key proves it), so believable whatever session it names.
      this.abortedByPeer = true;
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
      this.link.fail(new P2PError('peer-vanished', { reason: 'reconnected' }));
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
      throw new P2PError('tampered', { reason: 'relay' });
    }
    this.recvSeq = env.n;
    await this.link.negotiate(env);
  }
}

/** The endpoints and keys an envelope is sealed for. */
export type SealingEnds = Pick<
  SignallingOptions,
  'role' | 'roomId' | 'localId' | 'remoteId' | 'keys'
>;

/** Seals `envelope` as sent by this side (`ends.role`) to the remote peer, with its role prefix. */
async function sealEnvelope(ends: SealingEnds, envelope: Envelope): Promise<string> {
  const aad = signalAad(ends.roomId, ends.localId, ends.remoteId, ends.role);
  return ENVELOPE_PREFIX[ends.role] + (await sealJson(ends.keys.signal, envelope, aad));
}

/**
 * Opens an envelope the remote peer (in `remoteRole`) sealed for this side and checks its shape;
 * throws `tampered` when its prefix, seal or content is wrong. It builds nothing, so an answerer
 * checks a stranger's first envelope with it before making a connection for it.
 */
export async function openEnvelope(
  ends: SealingEnds,
  remoteRole: LinkRole,
  sealed: string,
): Promise<Envelope> {
  if (!sealed.startsWith(ENVELOPE_PREFIX[remoteRole])) {
    throw new P2PError('tampered', { reason: 'relay' });
  }
  const aad = signalAad(ends.roomId, ends.remoteId, ends.localId, remoteRole);
  const raw = await openJson(ends.keys.signal, sealed.slice(1), aad);
  const parsed = v.safeParse(EnvelopeSchema, raw);
  if (!parsed.success) throw new P2PError('tampered', { reason: 'relay' });
  return parsed.output;
}

/**
 * An answerer's refusal of a peer it made no connection for (its first envelope did not open):
 * the sealed `abort` a link sends, so an honest offerer behind a relay that altered its offer
 * learns at once why, not at its connect timeout.
 */
export async function sealRefusal(ends: SealingEnds, code: ErrorCode): Promise<string> {
  return sealEnvelope(ends, { s: '', n: 0, k: 'abort', code });
}
