/**
 * Where received bytes go (ARCHITECTURE decision 6): straight to disk, into a file the user picks
 * (File System Access API) or into the Origin Private File System, then a download. Memory stays
 * bounded by the batch writer whatever the file size. The transfer engine decides what to write;
 * this module only stores it.
 */
import { P2PError } from '../errors.js';
import { BatchWriter, toStorageError } from './batch-writer.js';
import { sanitizeFileName } from './file-name.js';
import { checkQuota, opfsDirectory, opfsFileName, removeStale } from './opfs.js';
import { downloadFile } from './save.js';

export type SinkKind = 'opfs' | 'picker';

/**
 * `'auto'` means the save-file picker when the browser has one and the call runs inside a user
 * gesture (the picker demands one), the Origin Private File System otherwise, including when the
 * page may not show a picker (a cross-origin frame).
 */
export type SinkPreference = 'auto' | 'picker' | 'opfs';

export interface SinkOptions {
  /** The sharer's file name; sanitized before it reaches any file system. */
  name: string;
  /** Exact size of the file; writes past it are refused. */
  size: number;
  roomId: string;
  prefer?: SinkPreference;
}

export interface Sink {
  /**
   * Bytes land at `offset`; resolves when it is safe to send more (backpressure), not
   * necessarily on disk yet. Writes may come in any order and may rewrite earlier bytes; the
   * last write wins. The sink may hold `data` until it is flushed: do not modify it afterwards.
   * After a storage failure every write rejects with the same error; abort and open a new sink.
   */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Flushes everything, closes the file and returns the disk-backed File. */
  finish(): Promise<File>;
  /**
   * Discards the file (cancel for good). After `finish()` it removes the stored OPFS copy (so do
   * not call it after `save()`); a picked file is the user's and is left alone.
   */
  abort(): Promise<void>;
  /** Hands the finished file to the user: a download for OPFS; nothing for a picked file (already saved). */
  save(file: File, name: string): Promise<void>;
  readonly kind: SinkKind;
}

interface SaveFilePickerOptions {
  suggestedName?: string;
  id?: string;
  startIn?: string;
}

type PickerGlobal = typeof globalThis & {
  showSaveFilePicker?: (options?: SaveFilePickerOptions) => Promise<FileSystemFileHandle>;
};

class FileSink implements Sink {
  private finished: Promise<File> | null = null;
  private aborted = false;

  constructor(
    readonly kind: SinkKind,
    private readonly size: number,
    private readonly handle: FileSystemFileHandle,
    private readonly writer: BatchWriter,
    /** Removes the stored file; a no-op for a picked one. */
    private readonly discard: () => Promise<void>,
  ) {}

  /** Whether a retry in this page may keep writing into this sink. */
  get reusable(): boolean {
    return !this.finished && !this.aborted && !this.writer.failure;
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    if (offset + data.byteLength > this.size) {
      return Promise.reject(
        new RangeError(`Write of ${data.byteLength} bytes at ${offset} exceeds size ${this.size}`),
      );
    }
    return this.writer.write(offset, data);
  }

  finish(): Promise<File> {
    this.finished ??= this.writer
      .finish()
      .then(() =>
        this.handle.getFile().catch((error: unknown) => Promise.reject(toStorageError(error))),
      );
    return this.finished;
  }

  async abort(): Promise<void> {
    this.aborted = true;
    await this.writer.abort();
    await this.discard();
  }

  async save(file: File, name: string): Promise<void> {
    if (this.kind === 'opfs') downloadFile(file, name);
  }
}

/** Sinks this page opened, by room, so a second `openSink` during a retry continues the first. */
const openSinks = new Map<string, Promise<FileSink>>();
/** OPFS files this page created: never stale for it, even when finished (they may be seeding). */
const ownFiles = new Set<string>();

/**
 * Opens a sink for one file. The caller normally keeps the Sink across retries; should it call
 * `openSink` again for the same room while a previous sink is still unfinished and healthy, it
 * gets that same sink back, whatever `prefer` says.
 */
export async function openSink(options: SinkOptions): Promise<Sink> {
  const { size, roomId } = options;
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`Invalid file size ${size}`);
  if (!Number.isSafeInteger(size)) {
    throw new P2PError('file-too-large', { sizeBytes: size });
  }
  const previous = openSinks.get(roomId);
  if (previous) {
    const sink = await previous.catch(() => null);
    if (sink?.reusable) return sink;
  }
  // Registered before any await of its own so that concurrent calls share one sink.
  const opening = choosePicker(options.prefer ?? 'auto')
    ? openPickerSink(options).catch((error: unknown) => {
        if (options.prefer !== 'picker' && isPickerDenied(error)) return openOpfsSink(options);
        throw error;
      })
    : openOpfsSink(options);
  openSinks.set(roomId, opening);
  opening.catch(() => {
    if (openSinks.get(roomId) === opening) openSinks.delete(roomId);
  });
  return opening;
}

function pickerFunction(): PickerGlobal['showSaveFilePicker'] {
  const picker = (globalThis as PickerGlobal).showSaveFilePicker;
  return typeof picker === 'function' ? picker : undefined;
}

function choosePicker(prefer: SinkPreference): boolean {
  if (prefer === 'picker') return true;
  if (prefer === 'opfs') return false;
  const activation = (globalThis.navigator as Partial<Navigator> | undefined)?.userActivation;
  return pickerFunction() !== undefined && activation?.isActive === true;
}

function isPickerDenied(error: unknown): boolean {
  return error instanceof P2PError && error.code === 'not-allowed';
}

async function openPickerSink({ name, size }: SinkOptions): Promise<FileSink> {
  const picker = pickerFunction();
  if (!picker) {
    throw new P2PError('unsupported-browser', { reason: 'no-picker' });
  }
  let handle: FileSystemFileHandle;
  try {
    handle = await picker.call(globalThis, {
      suggestedName: sanitizeFileName(name),
      id: 'p2p-share',
      startIn: 'downloads',
    });
  } catch (error) {
    const reason = error instanceof DOMException ? error.name : '';
    if (reason === 'AbortError') {
      throw new P2PError('cancelled', { reason: 'no-location' }, { cause: error });
    }
    if (reason === 'SecurityError' || reason === 'NotAllowedError') {
      throw new P2PError('not-allowed', { reason: 'picker' }, { cause: error });
    }
    throw toStorageError(error);
  }
  let writable: FileSystemWritableFileStream;
  try {
    writable = await handle.createWritable();
  } catch (error) {
    throw toStorageError(error);
  }
  return new FileSink('picker', size, handle, new BatchWriter(writable), async () => undefined);
}

async function openOpfsSink({ size, roomId }: SinkOptions): Promise<FileSink> {
  const directory = await opfsDirectory();
  await removeStale(directory, ownFiles);
  await checkQuota(size);
  const fileName = opfsFileName(roomId);
  ownFiles.add(fileName);
  const discard = async (): Promise<void> => {
    await directory.removeEntry(fileName).catch(() => undefined);
    ownFiles.delete(fileName);
  };
  try {
    const handle = await directory.getFileHandle(fileName, { create: true });
    const writable = await handle.createWritable();
    return new FileSink('opfs', size, handle, new BatchWriter(writable), discard);
  } catch (error) {
    await discard();
    throw toStorageError(error);
  }
}
