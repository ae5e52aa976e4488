/** Where received bytes go: disk-backed sinks with bounded memory, and the saving of the result. */
export { openSink } from './sink.js';
export type { Sink, SinkKind, SinkOptions, SinkPreference } from './sink.js';
export { BatchWriter, BATCH_BYTES, MAX_PENDING_BYTES, toStorageError } from './batch-writer.js';
export type { BatchWriterOptions, WriteTarget } from './batch-writer.js';
export { sanitizeFileName } from './file-name.js';
export { OPFS_DIRECTORY, STALE_AFTER_MS, removeStale } from './opfs.js';
export { downloadFile, REVOKE_AFTER_MS } from './save.js';
