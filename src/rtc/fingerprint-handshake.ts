/**
 * The handshake on a newly open data channel: each side signs, under the link's auth key, the
 * pair of DTLS fingerprints it applied (with the room, the session and its role) and sends that
 * as its hello; each checks the peer's. A party that put itself between the two peers sees other
 * fingerprints and cannot sign them. Done once our hello is sent and the peer's checked out.
 */
import type { RoomKeys } from '../crypto/keys.js';
import { P2PError } from '../errors.js';
import type { Control } from '../../protocol/frames.js';
import { fromBase64Url, toBase64Url } from '../../protocol/ids.js';
import { helloInput } from '../../protocol/sealing.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import type { LinkRole } from './sealed-signalling.js';

type Hello = Extract<Control, { t: 'hello' }>;

const encoder = new TextEncoder();

export interface HandshakeOptions {
  role: LinkRole;
  roomId: string;
  keys: RoomKeys;
  /** This side's name on every link it makes (see the hello's `page`). */
  page?: string;
  /** The descriptions as this side applied them (see Negotiation). */
  descriptions: { readonly localSdp: string | null; readonly remoteSdp: string | null };
  /** The connection's session id, once known. */
  session: () => string | null;
  /** Puts our hello on the channel. */
  sendHello: (hello: Hello) => void;
  isClosed: () => boolean;
  fail: (error: P2PError) => void;
  /** Our hello is sent and the peer's checked out. */
  onDone: () => void;
}

export class FingerprintHandshake {
  /** Our hello is on the channel: nothing else may go before it. */
  private helloSent = false;
  private helloReceived = false;
  private peerProven = false;
  /** The peer page's name, once its hello checked out. */
  remotePage?: string;

  constructor(private readonly opts: HandshakeOptions) {}

  /** Whether the peer's hello came (checked or not): what the peer sends after it may be kept. */
  get peerHelloReceived(): boolean {
    return this.helloReceived;
  }

  /** Signs the fingerprints and sends our hello. */
  async sendHello(): Promise<void> {
    const input = this.proofInput(this.localRole);
    if (!input) {
      this.opts.fail(new P2PError('tampered', { reason: 'proof' }));
      return;
    }
    const proof = new Uint8Array(await crypto.subtle.sign('HMAC', this.opts.keys.auth, input));
    if (this.opts.isClosed()) return;
    this.opts.sendHello({
      t: 'hello',
      v: PROTOCOL_VERSION,
      role: this.localRole,
      proof: toBase64Url(proof),
      page: this.opts.page,
    });
    this.helloSent = true;
    this.maybeDone();
  }

  /** The peer's hello: the first is checked, a second refused. */
  receiveHello(msg: Hello): void {
    if (this.helloReceived) {
      this.opts.fail(new P2PError('tampered', { reason: 'proof' }));
      return;
    }
    this.helloReceived = true;
    void this.verifyHello(msg);
  }

  private get localRole(): 'recipient' | 'source' {
    return this.opts.role === 'offerer' ? 'recipient' : 'source';
  }

  private proofInput(role: 'recipient' | 'source'): Uint8Array<ArrayBuffer> | null {
    const local = fingerprint(this.opts.descriptions.localSdp ?? undefined);
    const remote = fingerprint(this.opts.descriptions.remoteSdp ?? undefined);
    const sessionId = this.opts.session();
    if (!local || !remote || !sessionId) return null;
    const [offerer, answerer] = this.opts.role === 'offerer' ? [local, remote] : [remote, local];
    return encoder.encode(helloInput(this.opts.roomId, sessionId, role, offerer, answerer));
  }

  private async verifyHello(msg: Hello): Promise<void> {
    if (msg.v !== PROTOCOL_VERSION) {
      this.opts.fail(new P2PError('protocol-mismatch', { reason: 'peer' }));
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
      this.opts.fail(new P2PError('tampered', { reason: 'proof' }));
      return;
    }
    this.peerProven = true;
    this.remotePage = msg.page;
    this.maybeDone();
  }

  /**
   * Done once both hellos are through: the peer's checked, and ours sent. The peer's proof can
   * check out while ours is still being signed; opening then would let the owner's first message
   * reach the peer before our hello, and the peer would rightly refuse it.
   */
  private maybeDone(): void {
    if (this.helloSent && this.peerProven) this.opts.onDone();
  }
}

/** The first DTLS fingerprint line of an SDP, e.g. `sha-256 AB:CD:…`. */
function fingerprint(sdp: string | undefined): string | null {
  const match = sdp ? /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp) : null;
  return match ? `${match[1]!.toLowerCase()} ${match[2]!.toUpperCase()}` : null;
}
