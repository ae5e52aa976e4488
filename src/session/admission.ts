/**
 * Who may start a connection with a PeerServer, and how often: peers refused for a while (their
 * first envelope did not open, or their connections keep failing), each peer's budget of new
 * offers, the server's budget of new connections, and each peer's failures so far. Every map is
 * bounded, oldest out first: many peer ids push out old entries and never grow the page.
 */

/** New offers one peer may make at once, and how often it earns another. */
export const OFFER_BURST = 3;
export const OFFER_EVERY_MS = 10_000;
/** Connections that fail before they open (or as hostile) before their peer is refused. */
export const STRIKES = 3;
/** How long a peer whose first envelope did not open stays refused. */
export const REFUSE_UNSEALED_MS = 60_000;
/** How long a peer refused for failing stays refused: as good as the whole share. */
export const REFUSE_FAILING_MS = 30 * 60_000;
/** Peer ids each map below keeps at most. */
export const MAX_TRACKED = 256;

/** A token bucket: `burst` tokens, one more every `everyMs`. */
class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst: number,
    private readonly everyMs: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.at) / this.everyMs);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Sets `key` as the newest entry of `map`, dropping the oldest beyond MAX_TRACKED. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= MAX_TRACKED) break;
    map.delete(oldest);
  }
}

export interface AdmissionOptions {
  /** New connections the server makes at once, and how often it may make another. */
  connectBurst: number;
  connectEveryMs: number;
  /** Refusals told to peers whose first envelope did not open: at once, then one per this. */
  noticeBurst: number;
  noticeEveryMs: number;
  now?: () => number;
}

export class Admission {
  /** Until when each refused peer stays refused. */
  private readonly refused = new Map<string, number>();
  private readonly offers = new Map<string, Bucket>();
  private readonly strikes = new Map<string, number>();
  private readonly connects: Bucket;
  private readonly notices: Bucket;
  private readonly now: () => number;

  constructor(opts: AdmissionOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.connects = new Bucket(opts.connectBurst, opts.connectEveryMs, this.now());
    this.notices = new Bucket(opts.noticeBurst, opts.noticeEveryMs, this.now());
  }

  isRefused(peerId: string): boolean {
    const until = this.refused.get(peerId);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.refused.delete(peerId);
    return false;
  }

  refuse(peerId: string, forMs: number): void {
    remember(this.refused, peerId, this.now() + forMs);
    this.forget(peerId);
  }

  /** Whether the server may tell a refused peer why right now (a budget for all of them). */
  mayNotify(): boolean {
    return this.notices.take(this.now());
  }

  /**
   * Takes a new connection's tokens: the peer's own first (a peer over its rate spends none of
   * the server's), then the server's.
   */
  takeConnection(peerId: string): boolean {
    const now = this.now();
    let bucket = this.offers.get(peerId);
    if (!bucket) {
      bucket = new Bucket(OFFER_BURST, OFFER_EVERY_MS, now);
      remember(this.offers, peerId, bucket);
    }
    return bucket.take(now) && this.connects.take(now);
  }

  /** A connection of `peerId` failed; true when that was its last strike (it is refused now). */
  strike(peerId: string): boolean {
    const count = (this.strikes.get(peerId) ?? 0) + 1;
    if (count < STRIKES) {
      remember(this.strikes, peerId, count);
      return false;
    }
    this.refuse(peerId, REFUSE_FAILING_MS);
    return true;
  }

  /** Drops what is kept of `peerId` but its refusal (it left; its id is not used again). */
  forget(peerId: string): void {
    this.offers.delete(peerId);
    this.strikes.delete(peerId);
  }

  /** Entries kept, for tests that check the bounds. */
  get tracked(): { refused: number; offers: number; strikes: number } {
    return { refused: this.refused.size, offers: this.offers.size, strikes: this.strikes.size };
  }
}
