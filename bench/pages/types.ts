/**
 * What the benchmark pages expose on `window`, shared by the page scripts (bundled for the
 * browser) and the Node side that reads them through puppeteer.
 */

export interface Stamp {
  bytes: number;
  total: number;
  /** performance.now() in the page. */
  at: number;
}

export interface BenchRecord {
  events: Array<{ type: string; detail: Record<string, unknown>; at: number }>;
  /**
   * `opened`: the first progress event of all (the widget sends one, 0 bytes, when the peer link
   * opens); `first`: the first with bytes > 0 (a verified piece); `last`: the latest.
   */
  progress: { count: number; opened: Stamp | null; first: Stamp | null; last: Stamp | null };
  /** performance.now() when the file's name was first rendered; null until then. */
  metaAt: number | null;
  metaText: string | null;
  /** performance.now() when a file was first picked in the widget (its input's `input` event). */
  pickedAt: number | null;
}

export interface BlastOptions {
  bytes: number;
  chunk: number;
  /** Stop sending while bufferedAmount is above this. */
  high: number;
  /** Resume when bufferedAmount falls to this (bufferedAmountLowThreshold). */
  low: number;
}

/** Wall-clock milliseconds: performance.timeOrigin + performance.now(), comparable across pages. */
export type WallMs = number;

export interface ConnectTiming {
  /** From the start of connect() to the data channel's `open` on the recipient, in ms. */
  totalMs: number;
  socketMs: number;
  joinMs: number;
  sourcesMs: number;
  channelMs: number;
}

export interface BareApi {
  /** Creates a room over REST, joins it as sharer and answers every offer. */
  share(service: string): Promise<{ roomId: string }>;
  /** As a recipient: connects, joins, asks for sources, offers and waits for the channel. */
  connect(service: string, roomId: string): Promise<ConnectTiming>;
  /** On the recipient: resets the byte counter and waits for `bytes` more. */
  arm(bytes: number): void;
  /** On the recipient: resolves when the armed bytes have all arrived. */
  received(): Promise<{ firstAt: WallMs; lastAt: WallMs; bytes: number }>;
  /** On the sharer: sends `bytes` over the channel the recipient opened. */
  blast(options: BlastOptions): Promise<{ startedAt: WallMs; endedAt: WallMs }>;
  close(): void;
}

export interface PeerJsOptions {
  host: string;
  port: number;
  id: string;
}

export interface PeerJsApi {
  /** Registers with the peer server and serves the file picked in `#file`, FilePizza-style. */
  share(options: PeerJsOptions): Promise<void>;
  /** Connects to `sharerId`, asks for the file and keeps every chunk in memory. */
  fetch(options: PeerJsOptions & { sharerId: string }): Promise<{
    startedAt: WallMs;
    firstAt: WallMs;
    doneAt: WallMs;
    bytes: number;
    name: string;
    /** Chunks that arrived before one sent earlier (FilePizza would write them misplaced). */
    outOfOrder: number;
  }>;
}

declare global {
  interface Window {
    __bench: BenchRecord;
    bare: BareApi;
    pj: PeerJsApi;
  }
}
