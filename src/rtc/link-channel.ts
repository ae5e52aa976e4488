/**
 * The link's one ordered data channel: sends within the send-queue bounds and tells when the
 * queue is low again, keeps what comes before the link opens (the owner's messages, to follow our
 * hello; the peer's, until its proof checks out), and closes without cutting off the frames still
 * queued. What the messages mean, and when the link opens, is PeerLink's.
 */
import { P2PError } from '../errors.js';

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

export interface LinkChannelEvents {
  /** The channel opened (or was open when it was attached). */
  onOpen: () => void;
  onMessage: (data: string | ArrayBuffer) => void;
  /** The channel closed before the link closed it. */
  onClose: () => void;
  fail: (error: P2PError) => void;
}

export class LinkChannel {
  private dataChannel: RTCDataChannel | null = null;
  private closed = false;
  /** Messages that arrived before the link opened, for when (and if) it does. */
  private early: Array<string | ArrayBuffer> = [];
  /** What our owner sent before the link opened, to follow our hello. */
  private held: Array<string | Uint8Array<ArrayBuffer>> = [];
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly events: LinkChannelEvents) {}

  get bufferedAmount(): number {
    return this.dataChannel?.bufferedAmount ?? 0;
  }

  get isOpen(): boolean {
    return this.dataChannel?.readyState === 'open';
  }

  /** Takes the link's channel; a second one (which a peer has no reason to open) is closed. */
  attach(channel: RTCDataChannel): void {
    if (this.dataChannel) {
      channel.close();
      return;
    }
    this.dataChannel = channel;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.onbufferedamountlow = () => {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    };
    channel.onopen = () => this.events.onOpen();
    channel.onclose = () => this.events.onClose();
    channel.onmessage = (e: MessageEvent<string | ArrayBuffer>) => this.events.onMessage(e.data);
    if (channel.readyState === 'open') this.events.onOpen();
  }

  /** Sends now, if the channel is open. */
  transmit(data: string | Uint8Array<ArrayBuffer>): void {
    const channel = this.dataChannel;
    if (!channel || channel.readyState !== 'open') return;
    try {
      if (typeof data === 'string') channel.send(data);
      else channel.send(data);
    } catch (cause) {
      this.events.fail(new P2PError('peer-vanished', { reason: 'lost' }, { cause }));
    }
  }

  /** Keeps what the owner sent before the link opened (a few at most), for `sendHeld`. */
  hold(data: string | Uint8Array<ArrayBuffer>): void {
    if (this.held.length >= MAX_EARLY_MESSAGES) {
      this.events.fail(new P2PError('internal'));
    } else {
      // A frame's bytes may be a buffer its encoder reuses: keep a copy.
      this.held.push(typeof data === 'string' ? data : data.slice());
    }
  }

  /** Sends, in order, what the owner sent before the link opened. */
  sendHeld(): void {
    for (const data of this.held.splice(0)) this.transmit(data);
  }

  /**
   * Keeps a message that came before the link opened, in order, until it does: the peer may have
   * proved itself and moved on while we still check its proof or sign ours. Nothing is acted on
   * before the peer's proof checks out; a peer that never proves itself is dropped at the connect
   * timeout, and these with it.
   */
  keepEarly(data: string | ArrayBuffer): void {
    if (this.early.length < MAX_EARLY_MESSAGES) this.early.push(data);
    else this.events.fail(new P2PError('bad-request', { reason: 'out-of-place' }));
  }

  /** The peer's messages kept by `keepEarly`, in order; none are kept after. */
  takeEarly(): Array<string | ArrayBuffer> {
    return this.early.splice(0);
  }

  /** Resolves once the send queue is below the low-water mark (or the channel closed). */
  drain(): Promise<void> {
    if (this.closed || this.bufferedAmount <= LOW_WATER) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Closes the channel, then `closeConnection`. The last message (a bye or an error) is queued
   * behind whatever frames were sent before it: the queue gets to empty (within reason) and the
   * last packets to leave before the transport is torn down.
   */
  close(closeConnection: () => void): void {
    this.closed = true;
    const channel = this.dataChannel;
    const teardown = () => {
      channel?.close();
      closeConnection();
    };
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
    } else if (channel?.readyState === 'open') {
      setTimeout(teardown, CLOSE_GRACE_MS);
    } else {
      // Nothing can leave on a channel that is not open: the connection goes at once.
      teardown();
    }
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
