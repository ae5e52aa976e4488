/**
 * The name a received file is saved under comes from the sharer, so it is untrusted: it must not
 * climb directories, hide itself, disguise its extension or outgrow what file systems accept.
 * Anything else, including non-ASCII letters and emoji, is kept as the sharer wrote it. The widget
 * shows a file's name through this same function, so what the recipient reads is what it saves.
 */

const FALLBACK_NAME = 'download';
/**
 * File systems allow 255 bytes (UTF-8) per name; 240 leaves room for the " (12)" a browser adds
 * when a file of that name exists.
 */
export const MAX_NAME_BYTES = 240;
/** An extension longer than this is part of the name, not a type, and is not kept whole. */
const MAX_EXTENSION_CHARS = 16;

// C0 and C1 controls, the line and paragraph separators, and every bidirectional control
// (marks, embeddings, overrides, isolates, the Arabic letter mark) that can make "exe.txt" read
// as "txt.exe". Zero-width joiners stay: emoji sequences need them.
const INVISIBLE =
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// Path separators, and the characters Windows refuses in names.
const RESERVED = /[/\\<>:"|?*]/g;

const encoder = new TextEncoder();
const byteLength = (text: string) => encoder.encode(text).length;

/**
 * The name as it is saved and shown. Idempotent: a cleaned name comes back unchanged, so any
 * layer may clean again without the shown and the saved name drifting apart.
 */
export function sanitizeFileName(name: string): string {
  const clean = tidy(truncate(tidy(name.normalize('NFC').replace(INVISIBLE, ''))));
  return clean === '' ? FALLBACK_NAME : clean;
}

/** Hidden (leading dots) and changed-extension (Windows drops trailing dots) names, and paths. */
function tidy(name: string): string {
  return name
    .replace(RESERVED, '_')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '');
}

/**
 * Shortens to `MAX_NAME_BYTES` by whole characters as the reader sees them (a flag, an accented
 * letter and an emoji sequence stay whole where the browser can tell) and keeps a short extension.
 */
function truncate(name: string): string {
  if (byteLength(name) <= MAX_NAME_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot) : '';
  const keep = Array.from(ext).length <= MAX_EXTENSION_CHARS ? ext : '';
  const stem = keep ? name.slice(0, dot) : name;
  const budget = MAX_NAME_BYTES - byteLength(keep);
  const head = fit(graphemes(stem), budget) || fit(Array.from(stem), budget);
  return head ? head.trimEnd() + keep : '';
}

/** The longest run of `parts` from the start that fits in `budget` bytes. */
function fit(parts: readonly string[], budget: number): string {
  let text = '';
  let bytes = 0;
  for (const part of parts) {
    bytes += byteLength(part);
    if (bytes > budget) break;
    text += part;
  }
  return text;
}

function graphemes(text: string): string[] {
  if (typeof Intl.Segmenter !== 'function') return Array.from(text);
  const segments = new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text);
  return Array.from(segments, (s) => s.segment);
}
