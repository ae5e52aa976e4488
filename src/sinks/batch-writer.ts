/**
 * Turns many positioned writes (pieces of a file, mostly in order) into few large writes on a
 * writable file stream, with a hard bound on the bytes held in memory. Knows nothing of where the
 * stream comes from (OPFS or a picked file); both sinks share it.
 */
import { P2PError } from '../errors.js';

const MiB = 1024 * 1024;

/** Contiguous writes are gathered into batches of this size before they reach the stream. */
export const BATCH_BYTES = 4 * MiB;
/** Bytes buffered plus in flight before `write()` makes its caller wait. */
export const MAX_PENDING_BYTES = 16 * MiB;

/** The part of `FileSystemWritableFileStream` the writer uses, so tests can wrap it. */
export interface WriteTarget {
  write(params: { type: 'write'; position: number; data: Uint8Array<ArrayBuffer> }): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

export interface BatchWriterOptions {
  batchBytes?: number;
  maxPendingBytes?: number;
}

interface Batch {
  position: number;
  buffer: Uint8Array<ArrayBuffer>;
  length: number;
}

/** Maps a storage failure to the error code the widget shows. */
export function toStorageError(error: unknown): P2PError {
  if (error instanceof P2PError) return error;
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  if (name === 'QuotaExceededError') {
    return new P2PError('storage-full', {}, { cause: error });
  }
  return new P2PError('storage-error', { reason: 'write' }, { cause: error });
}

export class BatchWriter {
  private readonly batchBytes: number;
  private readonly maxPendingBytes: number;
  private readonly maxSpare: number;
  private batch: Batch | null = null;
  /**
   * Batch buffers the stream has finished with, for the next batches: a long file then needs a
   * few of them for its whole life instead of a fresh 4 MiB for every batch, which is memory the
   * garbage collector frees late (the receiver's peak RSS grew with the file size because of it).
   */
  private readonly spare: Uint8Array<ArrayBuffer>[] = [];
  /** Bytes accepted and not yet confirmed by the stream: the open batch plus writes in flight. */
  private pending = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private waiters: Array<() => void> = [];
  /** `write()` calls run one after another so that bytes reach the stream in call order. */
  private queue: Promise<void> = Promise.resolve();
  private error: P2PError | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly target: WriteTarget,
    options: BatchWriterOptions = {},
  ) {
    this.batchBytes = options.batchBytes ?? BATCH_BYTES;
    this.maxPendingBytes = Math.max(options.maxPendingBytes ?? MAX_PENDING_BYTES, this.batchBytes);
    this.maxSpare = Math.ceil(this.maxPendingBytes / this.batchBytes);
  }

  /** The storage failure that ended this writer, if any; every later call rejects with it. */
  get failure(): P2PError | null {
    return this.error;
  }

  /** Bytes held in memory or in flight right now. */
  get pendingBytes(): number {
    return this.pending;
  }

  /**
   * Places `data` at `offset`. Resolves once the bytes are accepted and there was room for them,
   * which is the signal to send more; they may still be in memory. The writer may hold on to
   * `data` until it is flushed, so the caller must not modify it afterwards.
   */
  write(offset: number, data: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      return Promise.reject(new RangeError(`Invalid write offset ${offset}`));
    }
    if (this.closing) {
      return Promise.reject(this.error ?? new P2PError('storage-error', { reason: 'write' }));
    }
    const run = this.queue.then(() => this.accept(offset, data));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes out everything accepted and closes the stream, which commits the file. */
  finish(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  /** Drops buffered bytes and aborts the stream, which discards what it had not committed. */
  async abort(): Promise<void> {
    this.fail(new P2PError('cancelled'));
    this.closing ??= Promise.reject(this.error);
    this.closing.catch(() => undefined);
    this.batch = null;
    this.spare.length = 0;
    await this.target.abort().catch(() => undefined);
  }

  private async close(): Promise<void> {
    await this.queue;
    this.throwIfFailed();
    this.flushBatch();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    try {
      await this.target.close();
      this.spare.length = 0;
    } catch (error) {
      this.fail(toStorageError(error));
      throw this.error;
    }
  }

  private async accept(offset: number, data: Uint8Array): Promise<void> {
    this.throwIfFailed();
    if (data.byteLength === 0) return;
    // A piece bigger than the whole budget still goes through, alone, so nothing deadlocks.
    while (this.pending > 0 && this.pending + data.byteLength > this.maxPendingBytes) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.throwIfFailed();
    }
    const batch = this.batch;
    // A retried piece that still sits in the open batch is patched in place.
    if (
      batch &&
      offset >= batch.position &&
      offset + data.byteLength <= batch.position + batch.length
    ) {
      batch.buffer.set(data, offset - batch.position);
      return;
    }
    let position = offset;
    let rest = data;
    while (rest.byteLength > 0) {
      const open = this.batch;
      if (open && position === open.position + open.length) {
        const n = Math.min(this.batchBytes - open.length, rest.byteLength);
        open.buffer.set(rest.subarray(0, n), open.length);
        open.length += n;
        this.pending += n;
        position += n;
        rest = rest.subarray(n);
        if (open.length === this.batchBytes) this.flushBatch();
      } else if (open) {
        this.flushBatch();
      } else if (rest.byteLength >= this.batchBytes) {
        // Big enough on its own: hand it over without copying.
        this.pending += rest.byteLength;
        this.issue(position, ownedView(rest));
        rest = rest.subarray(rest.byteLength);
      } else {
        const buffer = this.spare.pop() ?? new Uint8Array(this.batchBytes);
        this.batch = { position, buffer, length: 0 };
      }
    }
  }

  private flushBatch(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    if (batch.length > 0) {
      this.issue(batch.position, batch.buffer.subarray(0, batch.length), batch.buffer);
    } else {
      this.spare.push(batch.buffer);
    }
  }

  /**
   * Starts one stream write; the stream queues writes, so they land in issue order. A stream
   * copies what it writes before its promise resolves, so `recycle` (a batch buffer) is free
   * for the next batch from then on.
   */
  private issue(
    position: number,
    data: Uint8Array<ArrayBuffer>,
    recycle?: Uint8Array<ArrayBuffer>,
  ): void {
    const size = data.byteLength;
    const write = this.target.write({ type: 'write', position, data }).then(
      () => {
        this.pending -= size;
        this.inFlight.delete(write);
        if (recycle && !this.closing && this.spare.length < this.maxSpare) this.spare.push(recycle);
        this.wake();
      },
      (error: unknown) => {
        this.inFlight.delete(write);
        this.fail(toStorageError(error));
      },
    );
    this.inFlight.add(write);
  }

  private fail(error: P2PError): void {
    this.error ??= error;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private throwIfFailed(): void {
    if (this.error) throw this.error;
  }
}

/** Streams take only views on a plain ArrayBuffer; a shared one is copied. */
function ownedView(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return data.buffer instanceof ArrayBuffer
    ? (data as Uint8Array<ArrayBuffer>)
    : new Uint8Array(data);
}
