/**
 * What a recipient readies while the file's details are on screen, without contacting any peer or
 * joining anything: socket.io-client's code, the ICE servers, the compiled hash that checks every
 * piece, and a peer connection for the first source. The first download takes what is ready.
 */
import type { IceConfig } from '../../protocol/signalling.js';
import { SignalClient } from '../signal/signal-client.js';
import type { RestClient } from '../signal/rest.js';
import { warmUpHash } from '../transfer/manifest.js';
import { whenIdle } from './idle.js';

export class MadeAhead {
  private ice: Promise<IceConfig> | null = null;
  /** Made once the page is idle; taken (or closed) by the first download. */
  private pc: RTCPeerConnection | null = null;
  /** Until the first download starts: a connection made later than that is not made. */
  private open = true;

  constructor(private readonly rest: RestClient) {}

  /**
   * Starts readying, once. A page's first RTCPeerConnection costs the browser 6–15 ms to set up
   * WebRTC; made here, it gathers no address until a download offers.
   */
  prepare(): void {
    if (this.ice) return;
    SignalClient.preload();
    const ice = this.rest.getIce();
    ice.catch(() => {});
    this.ice = ice;
    whenIdle(() => {
      warmUpHash();
      ice.then(
        ({ iceServers }) => {
          if (!this.open) return;
          try {
            this.pc = new RTCPeerConnection({ iceServers });
          } catch {
            // No WebRTC here: the download makes its own connection, and says why it cannot.
          }
        },
        () => {},
      );
    });
  }

  /** The ICE servers fetched ahead, or fetched now if that failed (or nothing was readied). */
  iceConfig(): Promise<IceConfig> {
    return this.ice?.catch(() => this.rest.getIce()) ?? this.rest.getIce();
  }

  /** The connection for the first source: made ahead, or else once `ice` has the servers. */
  firstConnection(ice: Promise<IceConfig>): Promise<RTCPeerConnection> {
    const early = this.take();
    return early
      ? Promise.resolve(early)
      : ice.then(({ iceServers }) => new RTCPeerConnection({ iceServers }));
  }

  /** Closes the connection made ahead if no download took it. */
  close(): void {
    this.take()?.close();
  }

  /** The peer connection made ahead, if it is ready, for the caller to use or close. */
  private take(): RTCPeerConnection | null {
    this.open = false;
    const pc = this.pc;
    this.pc = null;
    return pc;
  }
}
