/**
 * What one client address may hold and spend over all its sockets and rooms, keyed by `rateKey`
 * (an IPv6 /64 is one client): sockets open at once, connections per window, one message bucket
 * shared by its sockets that reconnecting does not refill, and rooms alive at once. The connection
 * windows and the live rooms are `SharedLimits`: in this process by default, in Redis with
 * `REDIS_URL`, so every process counts them together. Sockets open at once and the message buckets
 * meter the sockets this process holds and stay in it: with several processes each counts its
 * own. Every map is bounded, and an address that holds nothing and whose bucket has refilled is
 * forgotten.
 */
import type { ErrorBody } from '../protocol/index.js';
import type { Config } from './config.js';
import {
  MemoryWindowLimiter,
  TokenBucket,
  memoryWindowLimiters,
  type Verdict,
  type WindowLimiter,
  type WindowLimiterFactory,
} from './limits.js';

/** Where the counters several processes may share live: this process, or Redis. */
export interface SharedLimits {
  windows: WindowLimiterFactory;
  /** The rooms per address; `exists` asks the room store whether a room still exists. */
  liveRooms(limit: number, exists: (roomId: string) => Promise<boolean>): LiveRooms;
}

/** The counters kept in this process, on the clock `now`. */
export function memoryLimits(now?: () => number): SharedLimits {
  return {
    windows: memoryWindowLimiters(now),
    liveRooms: (limit, exists) => new MemoryLiveRooms(limit, exists),
  };
}

/** An admitted socket's share of its address's budget; `close` it once the socket is gone. */
export interface SocketGrant {
  ok: true;
  /** The address's message bucket, shared by all its sockets. */
  bucket: TokenBucket;
  /** Gives the socket's place back; only the first call counts. */
  close(): void;
}

export type Admission = SocketGrant | { ok: false; error: ErrorBody };

interface Open {
  sockets: number;
  bucket: TokenBucket;
}

interface Resting {
  bucket: TokenBucket;
  since: number;
}

export interface AddressBudgetOptions {
  config: Pick<
    Config,
    | 'socketsPerAddress'
    | 'connectionsPerAddress'
    | 'rateWindowMs'
    | 'addressMessagesPerSecond'
    | 'addressMessageBurst'
  >;
  /** The clock of the connection windows. */
  now?: () => number;
  /** The clock of the message buckets; `performance.now` by default. */
  monotonic?: () => number;
  /** Addresses remembered at most in each map (default 100,000). */
  maxKeys?: number;
  /** Where the connection windows are counted; this process (on `now`) by default. */
  limits?: SharedLimits;
}

/** Sockets and messages per client address. */
export class AddressBudget {
  /** Addresses with a socket open, and their buckets. */
  readonly #open = new Map<string, Open>();
  /**
   * Addresses whose last socket closed while their bucket was still refilling, in the order they
   * closed: a reconnect finds its bucket as it left it. One rested past `#refillMs` is full again
   * and is forgotten, so entries expire from the front.
   */
  readonly #resting = new Map<string, Resting>();
  readonly #connections: WindowLimiter;
  readonly #config: AddressBudgetOptions['config'];
  readonly #refillMs: number;
  readonly #maxKeys: number;
  readonly #monotonic: () => number;

  constructor({
    config,
    now,
    monotonic = () => performance.now(),
    maxKeys = 100_000,
    limits,
  }: AddressBudgetOptions) {
    this.#config = config;
    this.#monotonic = monotonic;
    this.#maxKeys = maxKeys;
    this.#refillMs = (config.addressMessageBurst / config.addressMessagesPerSecond) * 1000;
    const windows = { limit: config.connectionsPerAddress, windowMs: config.rateWindowMs };
    this.#connections = limits
      ? limits.windows('connections', windows)
      : new MemoryWindowLimiter({ ...windows, now, maxKeys });
  }

  /**
   * A socket of `key` asks to open: its grant, or the refusal to send it. Its place among the
   * address's open sockets is held while the connection window is asked, so sockets admitted at
   * the same time cannot pass the limit together.
   */
  async admit(key: string): Promise<Admission> {
    this.#prune();
    if ((this.#open.get(key)?.sockets ?? 0) >= this.#config.socketsPerAddress) {
      return {
        ok: false,
        error: {
          code: 'too-many-connections',
          message: `Too many connections from this address (${this.#config.socketsPerAddress} at once); close some and try again.`,
        },
      };
    }
    const open = this.#hold(key);
    let verdict: Verdict;
    try {
      verdict = await this.#connections.check(key);
    } catch {
      // The shared counters are out of reach: refused, like every request that needs them.
      this.#release(key);
      return {
        ok: false,
        error: {
          code: 'service-unavailable',
          message: 'The service cannot take new connections right now; try again shortly.',
        },
      };
    }
    if (!verdict.allowed) {
      this.#release(key);
      return {
        ok: false,
        error: {
          code: 'rate-limited',
          message: 'Too many connections from this address; wait and try again.',
          retryAfterMs: verdict.retryAfterMs,
        },
      };
    }
    let closed = false;
    return {
      ok: true,
      bucket: open.bucket,
      close: () => {
        if (closed) return;
        closed = true;
        this.#release(key);
      },
    };
  }

  /** Counts one more socket of `key` open, with the bucket its address left or a full one. */
  #hold(key: string): Open {
    let open = this.#open.get(key);
    if (!open) {
      const bucket =
        this.#resting.get(key)?.bucket ??
        new TokenBucket(
          this.#config.addressMessagesPerSecond,
          this.#config.addressMessageBurst,
          this.#monotonic,
        );
      this.#resting.delete(key);
      open = { sockets: 0, bucket };
      this.#open.set(key, open);
    }
    open.sockets++;
    return open;
  }

  /** How many addresses each map holds now (for tests that check memory is given back). */
  sizes(): { open: number; resting: number; windows: number } {
    this.#prune();
    let windows = 0;
    if (this.#connections instanceof MemoryWindowLimiter) {
      this.#connections.prune();
      windows = this.#connections.size;
    }
    return { open: this.#open.size, resting: this.#resting.size, windows };
  }

  #release(key: string): void {
    const open = this.#open.get(key);
    if (!open || --open.sockets > 0) return;
    this.#open.delete(key);
    // A full bucket is what a new address gets: nothing to remember.
    if (open.bucket.full()) return;
    this.#resting.set(key, { bucket: open.bucket, since: this.#monotonic() });
    // Past the bound the longest-resting, the fullest, go first.
    if (this.#resting.size > this.#maxKeys) {
      this.#resting.delete(this.#resting.keys().next().value!);
    }
  }

  #prune(): void {
    const now = this.#monotonic();
    for (const [key, resting] of this.#resting) {
      if (now - resting.since < this.#refillMs) break;
      this.#resting.delete(key);
    }
  }
}

/** A place held for one room being created; `settle` it once the creation is over. */
export interface RoomPlace {
  /** Ends the creation: with the room it made (which keeps the place), or with none. */
  settle(roomId: string | null): Promise<void>;
}

/**
 * The rooms each client address created that still exist. Rooms leave it when stopped or swept
 * (`forget`); at the limit the store is asked about each, so a room that expired before the
 * sweep, or was stopped through another process, frees its place too. A shared store only has
 * to answer `exists`. Calls reject when the counters are out of reach (Redis away).
 */
export interface LiveRooms {
  /** A place for one more room of `key`, held until settled; null when it has none left. */
  admit(key: string): Promise<RoomPlace | null>;
  /** The room is gone (stopped or expired): its creator's place is free. */
  forget(roomId: string): Promise<void>;
}

/** The live rooms of one process. */
export class MemoryLiveRooms implements LiveRooms {
  readonly #owner = new Map<string, string>();
  readonly #rooms = new Map<string, Set<string>>();
  /** Creations admitted and not yet settled, per address: they hold a place meanwhile. */
  readonly #pending = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly exists: (roomId: string) => Promise<boolean>,
  ) {}

  async admit(key: string): Promise<RoomPlace | null> {
    if (this.#count(key) >= this.limit) {
      for (const roomId of [...(this.#rooms.get(key) ?? [])]) {
        if (!(await this.exists(roomId))) this.#forget(roomId);
      }
      if (this.#count(key) >= this.limit) return null;
    }
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    let settled = false;
    return {
      settle: (roomId) => {
        if (!settled) {
          settled = true;
          this.#settle(key, roomId);
        }
        return Promise.resolve();
      },
    };
  }

  forget(roomId: string): Promise<void> {
    this.#forget(roomId);
    return Promise.resolve();
  }

  /** Rooms counted now, over all addresses. */
  get size(): number {
    return this.#owner.size;
  }

  #settle(key: string, roomId: string | null): void {
    const pending = (this.#pending.get(key) ?? 1) - 1;
    if (pending > 0) this.#pending.set(key, pending);
    else this.#pending.delete(key);
    if (roomId === null) return;
    this.#owner.set(roomId, key);
    let rooms = this.#rooms.get(key);
    if (!rooms) this.#rooms.set(key, (rooms = new Set()));
    rooms.add(roomId);
  }

  #forget(roomId: string): void {
    const key = this.#owner.get(roomId);
    if (key === undefined) return;
    this.#owner.delete(roomId);
    const rooms = this.#rooms.get(key);
    rooms?.delete(roomId);
    if (rooms?.size === 0) this.#rooms.delete(key);
  }

  #count(key: string): number {
    return (this.#rooms.get(key)?.size ?? 0) + (this.#pending.get(key) ?? 0);
  }
}
