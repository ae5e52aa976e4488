/**
 * What a recipient readies while the file's details are on screen, without contacting any peer or
 * joining anything: socket.io-client's code, the compiled hash that checks every piece, and a
 * peer connection for the first source (its ICE servers come after the join, which TURN
 * credentials need). The first download takes what is ready.
 */
import { SignalClient } from '../signal/signal-client.js';
import { warmUpHash } from '../transfer/manifest.js';
import { whenIdle } from './idle.js';

export class MadeAhead {
  /** Made once the page is idle; taken (or closed) by the first download. */
  private pc: RTCPeerConnection | null = null;
  private started = false;
  /** Until the first download starts: a connection made later than that is not made. */
  private open = true;

  /**
   * Starts readying, once. A page's first RTCPeerConnection costs the browser 6–15 ms to set up
   * WebRTC; made here, it gathers no address until a download offers.
   */
  prepare(): void {
    if (this.started) return;
    this.started = true;
    SignalClient.preload();
    whenIdle(() => {
      warmUpHash();
      if (!this.open) return;
      try {
        this.pc = new RTCPeerConnection();
      } catch {
        // No WebRTC here: the download makes its own connection, and says why it cannot.
      }
    });
  }

  /** The peer connection made ahead, if it is ready, for the caller to use or close. */
  take(): RTCPeerConnection | undefined {
    this.open = false;
    const pc = this.pc ?? undefined;
    this.pc = null;
    return pc;
  }
}
