/**
 * Password rooms on the service side: the slow salted hash of what the widget sends in place of a
 * password (`passwordAuth`, derived from the link key and the password; the service never sees
 * either), its constant-time check, and a small gate that keeps hashing from taking over the libuv
 * thread pool that file reads and DNS share.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB and some tens of milliseconds per hash). */
const LOG_N = 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** Thrown when too many hashes are already running or waiting; the caller answers "busy". */
export class HasherBusy extends Error {
  override name = 'HasherBusy';
}

export interface HasherOptions {
  /** Hashes computed at once (the libuv pool has 4 threads by default; leave some free). */
  concurrency?: number;
  /** Hashes that may wait for a turn; past that, `HasherBusy`. */
  queue?: number;
  /** scrypt's log2(N); tests may lower it. */
  logN?: number;
}

export interface Hasher {
  /** A stored form of `secret`: `scrypt$logN$r$p$salt$hash`. */
  hash(secret: string): Promise<string>;
  /** Whether `secret` matches `stored`, compared in constant time. */
  verify(secret: string, stored: string): Promise<boolean>;
}

export function createHasher({ concurrency = 2, queue = 32, logN = LOG_N }: HasherOptions = {}) {
  let running = 0;
  const waiting: (() => void)[] = [];

  async function gated<T>(work: () => Promise<T>): Promise<T> {
    if (running >= concurrency) {
      if (waiting.length >= queue) throw new HasherBusy('too many password checks at once');
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  }

  const hasher: Hasher = {
    async hash(secret) {
      const salt = randomBytes(SALT_BYTES);
      const key = await gated(() => derive(secret, salt, { N: 2 ** logN, r: R, p: P }));
      return ['scrypt', logN, R, P, salt.toString('base64url'), key.toString('base64url')].join(
        '$',
      );
    },
    async verify(secret, stored) {
      const parts = stored.split('$');
      const [kind, n, r, p, salt, expected] = parts;
      if (parts.length !== 6 || kind !== 'scrypt' || !salt || !expected) return false;
      const want = Buffer.from(expected, 'base64url');
      const got = await gated(() =>
        derive(secret, Buffer.from(salt, 'base64url'), {
          N: 2 ** Number(n),
          r: Number(r),
          p: Number(p),
        }),
      );
      return got.length === want.length && timingSafeEqual(got, want);
    },
  };
  return hasher;
}

function derive(secret: string, salt: Buffer, cost: ScryptOptions): Promise<Buffer> {
  // 128 * N * r bytes of memory; Node's default cap is exactly 32 MiB, so say what we need.
  const maxmem = 2 * 128 * cost.N! * cost.r! + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, { ...cost, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}
