/**
 * Hands a finished, disk-backed file to the user as a download. The page never opens or renders
 * the file; this is the only place in the sinks that touches the document.
 */
import { P2PError } from '../errors.js';
import { sanitizeFileName } from './file-name.js';

/** The download reads the object URL after the click returns, so it is revoked much later. */
export const REVOKE_AFTER_MS = 60_000;

export function downloadFile(file: Blob, name: string): void {
  if (typeof document === 'undefined' || !document.body) {
    throw new P2PError('unsupported-browser', { reason: 'no-download' });
  }
  // A slice still points at the file on disk; typed as octet-stream no browser will render it,
  // which matters when the sharer sends HTML or SVG.
  const blob = file.slice(0, file.size, 'application/octet-stream');
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = sanitizeFileName(name);
  anchor.rel = 'noopener';
  anchor.hidden = true;
  // Firefox starts the download only from an anchor that is in the document.
  document.body.append(anchor);
  try {
    anchor.click();
  } finally {
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
  }
}
