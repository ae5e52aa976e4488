/**
 * The Origin Private File System side of the sinks: the `p2p-share` directory, the room's file in
 * it, removal of files earlier visits left behind, and the quota check made before any byte is
 * written. Saving the finished file to the user's disk is `save.ts`'s job.
 */
import { P2PError } from '../errors.js';

export const OPFS_DIRECTORY = 'p2p-share';
/** Files older than this were left by an earlier visit (a closed tab, a crash) and are removed. */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** `values()` is in `DOM.AsyncIterable`, which the project's `lib` leaves out. */
interface IterableDirectory extends FileSystemDirectoryHandle {
  values(): AsyncIterable<FileSystemHandle>;
}

export function opfsSupported(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    typeof navigator.storage?.getDirectory === 'function' &&
    typeof FileSystemFileHandle !== 'undefined' &&
    typeof FileSystemFileHandle.prototype.createWritable === 'function'
  );
}

export async function opfsDirectory(): Promise<FileSystemDirectoryHandle> {
  if (!opfsSupported()) {
    throw new P2PError('unsupported-browser', { reason: 'no-opfs' });
  }
  try {
    const root = await navigator.storage.getDirectory();
    return await root.getDirectoryHandle(OPFS_DIRECTORY, { create: true });
  } catch (error) {
    // Private windows in some browsers refuse the file system with a SecurityError.
    if (error instanceof DOMException && error.name === 'SecurityError') {
      throw new P2PError('unsupported-browser', { reason: 'storage-denied' }, { cause: error });
    }
    throw new P2PError('storage-error', { reason: 'open' }, { cause: error });
  }
}

/**
 * Removes files older than `maxAgeMs`, except those named in `keep`. A file another tab is still
 * writing is locked by its writable stream and survives; failures are ignored, as this is
 * housekeeping.
 */
export async function removeStale(
  directory: FileSystemDirectoryHandle,
  keep: ReadonlySet<string>,
  maxAgeMs = STALE_AFTER_MS,
  now = Date.now(),
): Promise<string[]> {
  const stale: string[] = [];
  try {
    for await (const entry of (directory as IterableDirectory).values()) {
      // Chromium lists the swap file behind each open writable stream as `<name>.crswap`.
      if (keep.has(entry.name.replace(/\.crswap$/, ''))) continue;
      if (entry.kind === 'file') {
        const file = await (entry as FileSystemFileHandle).getFile().catch(() => null);
        if (file && now - file.lastModified > maxAgeMs) stale.push(entry.name);
      }
    }
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of stale) {
    try {
      await directory.removeEntry(name);
      removed.push(name);
    } catch {
      // Locked by another tab, or already gone.
    }
  }
  return removed;
}

/**
 * Rejects before the first byte when the file cannot fit: `file-too-large` when it exceeds all
 * that the browser will ever store for this site, `storage-full` when it exceeds what is free.
 */
export async function checkQuota(size: number): Promise<void> {
  if (typeof navigator.storage?.estimate !== 'function') return;
  let estimate: StorageEstimate;
  try {
    estimate = await navigator.storage.estimate();
  } catch {
    return;
  }
  const { quota, usage = 0 } = estimate;
  if (quota === undefined) return;
  if (size > quota) {
    throw new P2PError('file-too-large', { sizeBytes: size, limitBytes: quota });
  }
  const free = Math.max(0, quota - usage);
  if (size > free) {
    throw new P2PError('storage-full', { sizeBytes: size, limitBytes: free });
  }
}

/**
 * One file per sink, not per room: a second tab downloading the same room, or a second download
 * after the first finished, must not truncate a file that is still being read (verified, saved,
 * seeded). Resuming within a page goes through the same Sink object instead.
 */
export function opfsFileName(roomId: string): string {
  // Room ids are base64url already; anything else is made safe for a file name all the same.
  const room = roomId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'room';
  const unique = Math.random().toString(36).slice(2, 10);
  return `${room}-${Date.now().toString(36)}-${unique}`;
}
