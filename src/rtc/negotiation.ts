/**
 * The offer/answer exchange of one connection, over sealed envelopes: the offerer's offer, the
 * answerer's answer, trickled ICE candidates (held until a remote description exists), and the
 * descriptions as this side applied them, whose DTLS fingerprints the handshake proves. It knows
 * nothing of the data channel, which is the link's.
 *
 * It is the seam for media tracks: a track sender (a module of its own beside LinkChannel,
 * composed by PeerLink) adds its track to `pc` and asks this unit to renegotiate; the new offer
 * and answer travel sealed like the first (same session, later sequence numbers). Renegotiating
 * needs perfect negotiation here (the answerer polite, a colliding offer rolled back) where a
 * second offer or answer is refused, and a renegotiated description must keep the proven DTLS
 * fingerprints.
 */
import type { EnvelopeBody } from '../../protocol/envelope.js';
import { P2PError } from '../errors.js';
import type { LinkRole, NegotiationEnvelope } from './sealed-signalling.js';

export class Negotiation {
  private pendingCandidates: RTCIceCandidateInit[] = [];
  /**
   * The descriptions as this side applied them. The handshake reads the fingerprints from these,
   * not from `pc.localDescription` / `pc.remoteDescription`: Chromium can open the channel before
   * those attributes reflect a `setRemoteDescription` that is still resolving.
   */
  private appliedLocal: string | null = null;
  private appliedRemote: string | null = null;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly role: LinkRole,
    /** Seals and relays one envelope to the peer, in order. */
    private readonly send: (body: EnvelopeBody) => Promise<void>,
  ) {
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        void this.send({ k: 'candidate', c: e.candidate.toJSON() });
      }
    };
  }

  /** This side's description as it applied it (see `appliedLocal`). */
  get localSdp(): string | null {
    return this.appliedLocal;
  }

  /** The peer's description as this side applied it; null until its offer or answer came. */
  get remoteSdp(): string | null {
    return this.appliedRemote;
  }

  /** Offerer: sends the sealed offer, for whatever the connection carries by now. */
  async offer(): Promise<void> {
    const offer = await this.pc.createOffer();
    this.appliedLocal = offer.sdp ?? '';
    await this.pc.setLocalDescription(offer);
    await this.send({ k: 'offer', sdp: offer.sdp ?? '' });
  }

  /** Applies the peer's offer (and answers it), its answer, or one of its candidates. */
  async apply(env: NegotiationEnvelope): Promise<void> {
    switch (env.k) {
      case 'offer': {
        if (this.role !== 'answerer') throw new P2PError('tampered', { reason: 'relay' });
        this.appliedRemote = env.sdp;
        await this.pc.setRemoteDescription({ type: 'offer', sdp: env.sdp });
        await this.flushCandidates();
        const answer = await this.pc.createAnswer();
        this.appliedLocal = answer.sdp ?? '';
        await this.pc.setLocalDescription(answer);
        await this.send({ k: 'answer', sdp: answer.sdp ?? '' });
        return;
      }
      case 'answer':
        if (this.role !== 'offerer' || this.appliedRemote !== null) {
          throw new P2PError('tampered', { reason: 'relay' });
        }
        this.appliedRemote = env.sdp;
        await this.pc.setRemoteDescription({ type: 'answer', sdp: env.sdp });
        await this.flushCandidates();
        return;
      case 'candidate':
        if (this.appliedRemote === null) this.pendingCandidates.push(env.c);
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
}
