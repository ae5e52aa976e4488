/**
 * Shared pieces of the engine tests: random files, an independent SHA-256, an in-memory sink and
 * a fake pair of peer links that carries control messages and frames between a PieceFetcher and
 * a PieceSender with the flow-control accounting of a real data channel.
 */
import { parseLink } from '../../src/crypto/link.js';
import type { P2PError } from '../../src/errors.js';
import { chunkPayloadSize, parseControl, type Control } from '../../protocol/frames.js';
import { toHex } from '../../protocol/ids.js';
import { MIN_PIECE_SIZE } from '../../protocol/meta.js';
import { HIGH_WATER, LOW_WATER, type PeerLink } from '../../src/rtc/peer-link.js';
import { ReceiveSession } from '../../src/session/receive-session.js';
import { ShareSession } from '../../src/session/share-session.js';
import type { ReceiveState } from '../../src/session/types.js';
import type { Clock } from '../../src/transfer/clock.js';
import { delay, until as waitUntil } from '../../testing/wait.js';
import type { PieceSink } from '../../src/transfer/download.js';
import { serviceUrl } from '../service-url.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** The smallest piece size, which every test file below 128 MiB uses. */
export const PIECE = MIN_PIECE_SIZE;

export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
  }
  return bytes;
}

export function fileOf(bytes: Uint8Array<ArrayBuffer>, name = 'test.bin'): File {
  return new File([bytes], name, {
    type: 'application/octet-stream',
    lastModified: 1_700_000_000_000,
  });
}

/** SHA-256 straight from Web Crypto over the whole buffer: the reference the engine must match. */
export async function sha256Hex(data: Uint8Array<ArrayBuffer> | Blob): Promise<string> {
  const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', buffer)));
}

/** Polls `check` every 10 ms until it holds; rejects after `timeoutMs`, naming `what`. */
export async function until(
  check: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  await waitUntil(check, {
    timeout: timeoutMs,
    interval: 10,
    message: `timed out waiting for ${what}`,
  });
}

export const tick = (ms = 0) => delay(ms);

/**
 * A clock that stands still until the test moves it; a sleep ends once it is moved far enough.
 * It starts past 0, which the engine may use for "never".
 */
export function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1000;
  let sleepers: { until: number; wake: () => void }[] = [];
  return {
    now: () => now,
    sleep: (ms) => new Promise((wake) => sleepers.push({ until: now + ms, wake })),
    advance(ms) {
      now += ms;
      const due = sleepers.filter((s) => s.until <= now);
      sleepers = sleepers.filter((s) => s.until > now);
      for (const s of due) s.wake();
    },
  };
}

/**
 * For a suite against the real signalling service: looks its URL up before the suite, and undoes
 * what each test pushed on `cleanup` (last first) after it. Call inside `describe`.
 */
export function useService(): { url: () => string; cleanup: Array<() => void> } {
  let url = '';
  const cleanup: Array<() => void> = [];
  before(async () => {
    url = await serviceUrl();
  });
  afterEach(() => {
    for (const undo of cleanup.splice(0).reverse()) undo();
  });
  return { url: () => url, cleanup };
}

/**
 * Shares `bytes` as `name` from a real ShareSession and loads its link in a ReceiveSession (to
 * OPFS, not seeding), both through the service `useService()` found; both are undone after the
 * test. `states` collects every state the recipient goes through.
 */
export async function shareAndLoad(
  service: ReturnType<typeof useService>,
  bytes: Uint8Array<ArrayBuffer>,
  name: string,
) {
  const server = service.url();
  const sharer = new ShareSession({ server });
  service.cleanup.push(() => void sharer.stop());
  const secret = parseLink(await sharer.share(fileOf(bytes, name), location.href))!;
  const session = new ReceiveSession({ server, secret, saveTo: 'opfs', seed: false });
  service.cleanup.push(() => session.dispose());
  const states: ReceiveState[] = [];
  session.addEventListener('statechange', () => states.push(session.state));
  await session.load();
  return { session, states, sharer };
}

/** Catches the saves (anchor downloads) a ReceiveSession makes, instead of letting them run. */
export function catchDownloads() {
  const saved: Array<{ name: string; url: string }> = [];
  const onClick = (e: MouseEvent) => {
    const anchor = e.target;
    if (anchor instanceof HTMLAnchorElement && anchor.download) {
      e.preventDefault();
      saved.push({ name: anchor.download, url: anchor.href });
    }
  };
  document.addEventListener('click', onClick, true);
  return { saved, stop: () => document.removeEventListener('click', onClick, true) };
}

/** The SHA-256 of what a caught save would have written. */
export async function savedHash(url: string): Promise<string> {
  return sha256Hex(await (await fetch(url)).blob());
}

/** A disk sink in memory; `finish()` returns the written bytes as a File. */
export class MemorySink implements PieceSink {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly writes: Array<{ offset: number; length: number }> = [];
  /** Makes the next write fail with this error (once). */
  failNext: Error | null = null;
  finished = false;
  /** While set, writes wait for it: a disk slower than the network. */
  gate: Promise<void> | null = null;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    await tick();
    await this.gate;
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    this.bytes.set(data, offset);
    this.writes.push({ offset, length: data.byteLength });
  }

  async finish(): Promise<File> {
    this.finished = true;
    return new File([this.bytes.slice()], 'out.bin');
  }
}

interface WireFrame {
  data: string | Uint8Array<ArrayBuffer>;
}

export interface FakeLinkHooks {
  /** Sees every binary frame this side sends before it travels; may alter it in place. */
  tamper?: (frame: Uint8Array<ArrayBuffer>) => void;
}

/**
 * One side of a fake data channel: ordered, asynchronous, with `bufferedAmount` that grows on
 * `send` and shrinks as the other side receives, at `bytesPerTick` per macrotask.
 */
export class FakeLink {
  isOpen = true;
  bufferedAmount = 0;
  framePayload: number;
  failure: P2PError | null = null;
  /** Largest `bufferedAmount` seen right after a send. */
  maxBuffered = 0;
  maxFrameBytes = 0;
  frames = 0;
  readonly controlsSent: Control[] = [];
  /** The other side; without one, what this side sends is lost. */
  peer: FakeLink | null = null;
  onControl: (msg: Control) => void = () => {};
  onData: (data: ArrayBuffer) => void = () => {};
  private readonly outbox: WireFrame[] = [];
  private pumping = false;
  private drainWaiters: Array<() => void> = [];

  constructor(
    readonly remoteId: string,
    maxMessageSize = 262144,
    private readonly hooks: FakeLinkHooks = {},
    private readonly bytesPerTick = 2 * MiB,
  ) {
    this.framePayload = chunkPayloadSize(maxMessageSize);
  }

  asPeerLink(): PeerLink {
    return this as unknown as PeerLink;
  }

  send(data: string | Uint8Array<ArrayBuffer>): void {
    if (!this.isOpen) return;
    const copy = typeof data === 'string' ? data : data.slice();
    if (typeof copy !== 'string') {
      this.hooks.tamper?.(copy);
      this.frames++;
      this.maxFrameBytes = Math.max(this.maxFrameBytes, copy.byteLength);
      this.bufferedAmount += copy.byteLength;
      this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
    }
    this.outbox.push({ data: copy });
    this.schedule();
  }

  sendControl(msg: Control): void {
    this.controlsSent.push(msg);
    this.send(JSON.stringify(msg));
  }

  drain(): Promise<void> {
    if (!this.isOpen || this.bufferedAmount <= LOW_WATER) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  fail(error: P2PError): void {
    if (!this.isOpen) return;
    this.failure = error;
    this.close();
  }

  close(): void {
    this.isOpen = false;
    this.outbox.length = 0;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    if (this.peer) this.peer.isOpen = false;
  }

  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    setTimeout(() => this.deliver(), 0);
  }

  private deliver(): void {
    this.pumping = false;
    let budget = this.bytesPerTick;
    while (this.outbox.length && budget > 0 && this.isOpen) {
      const { data } = this.outbox.shift()!;
      const peer = this.peer;
      if (typeof data !== 'string') {
        budget -= data.byteLength;
        this.bufferedAmount -= data.byteLength;
      }
      if (!peer) continue;
      if (typeof data === 'string') {
        const msg = parseControl(data);
        if (!msg) throw new Error(`fake link carried an invalid control message: ${data}`);
        peer.onControl(msg);
      } else {
        peer.onData(data.buffer);
      }
    }
    if (this.bufferedAmount <= LOW_WATER) {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
    if (this.outbox.length && this.isOpen) this.schedule();
  }
}

export function fakeLinkPair(
  maxMessageSize = 262144,
  hooks: { toReceiver?: FakeLinkHooks } = {},
): { receiverSide: FakeLink; sourceSide: FakeLink } {
  const receiverSide = new FakeLink('source-peer', maxMessageSize);
  const sourceSide = new FakeLink('receiver-peer', maxMessageSize, hooks.toReceiver ?? {});
  receiverSide.peer = sourceSide;
  sourceSide.peer = receiverSide;
  return { receiverSide, sourceSide };
}

export { HIGH_WATER };
