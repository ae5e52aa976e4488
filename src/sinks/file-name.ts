/**
 * The name a received file is saved under comes from the sharer, so it is untrusted: it must not
 * climb directories, hide itself, or disguise its extension. Anything else, including non-ASCII
 * letters and emoji, is kept as the sharer wrote it.
 */

const FALLBACK_NAME = 'download';
/** Most file systems allow 255 bytes per name; 200 characters leaves room for "(1)" suffixes. */
const MAX_NAME_LENGTH = 200;

// C0 and C1 controls, and the bidirectional overrides that can make "exe.txt" read as "txt.exe".
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// Path separators, and the characters Windows refuses in names.
const RESERVED = /[/\\<>:"|?*]/g;

export function sanitizeFileName(name: string): string {
  let clean = name
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(RESERVED, '_')
    .trim()
    .replace(/^\.+/, '')
    // Windows drops trailing dots and spaces, which would change the extension.
    .replace(/[. ]+$/, '')
    .trim();
  clean = truncate(clean);
  return clean === '' ? FALLBACK_NAME : clean;
}

/** Shortens by whole code points and keeps a short extension, so "📄" is never split. */
function truncate(name: string): string {
  const chars = Array.from(name);
  if (chars.length <= MAX_NAME_LENGTH) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? Array.from(name.slice(dot)) : [];
  const keep = ext.length > 0 && ext.length <= 16 ? ext : [];
  return (
    chars
      .slice(0, MAX_NAME_LENGTH - keep.length)
      .join('')
      .trimEnd() + keep.join('')
  );
}
