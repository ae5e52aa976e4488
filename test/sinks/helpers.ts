/** Shared pieces of the sink tests: source bytes, hashing, OPFS clean-up and method stubs. */
import { OPFS_DIRECTORY } from '../../src/sinks/opfs.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
  }
  return bytes;
}

export async function sha256(data: Blob | Uint8Array<ArrayBuffer>): Promise<string> {
  const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Cuts `[0, size)` into `[offset, length]` pairs of `piece` bytes (the last may be shorter). */
export function pieces(size: number, piece: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let at = 0; at < size; at += piece) out.push([at, Math.min(piece, size - at)]);
  return out;
}

/** Deterministic shuffle, so a failing order can be reproduced. */
export function shuffled<T>(items: T[], seed = 7): T[] {
  const out = items.slice();
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export async function opfsNames(): Promise<string[]> {
  const root = await navigator.storage.getDirectory();
  let directory: FileSystemDirectoryHandle;
  try {
    directory = await root.getDirectoryHandle(OPFS_DIRECTORY);
  } catch {
    return [];
  }
  const names: string[] = [];
  const iterable = directory as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
  // Chromium lists the `.crswap` files that back open writable streams; they are not ours.
  for await (const name of iterable.keys()) if (!name.endsWith('.crswap')) names.push(name);
  return names;
}

export async function clearOpfs(): Promise<void> {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(OPFS_DIRECTORY, { recursive: true }).catch((error: unknown) => {
    if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
  });
}

/** Resolves to whether `promise` settled within `ms`. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Replaces `target[key]` until the returned function is called. */
export function replace<T extends object, K extends keyof T>(
  target: T,
  key: K,
  value: T[K],
): () => void {
  const had = Object.prototype.hasOwnProperty.call(target, key);
  const original = target[key];
  Object.defineProperty(target, key, { value, configurable: true, writable: true });
  return () => {
    if (had)
      Object.defineProperty(target, key, { value: original, configurable: true, writable: true });
    else Reflect.deleteProperty(target, key);
  };
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
