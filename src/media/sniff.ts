/**
 * Which media container a file is, from its first bytes: the signatures of MP3 (an ID3 tag or
 * an MPEG audio frame), AAC in ADTS, MP4 (`ftyp`), WebM (EBML), Ogg, FLAC and WAV. The name and
 * the browser's guessed type are not asked: a renamed file is what its bytes say.
 */
import type { MediaInfo } from '../../protocol/media.js';

const ascii = (head: Uint8Array, at: number, text: string): boolean => {
  if (head.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (head[at + i] !== text.charCodeAt(i)) return false;
  return true;
};

/** An ID3v2 tag's length, header included (its size is four 7-bit bytes). */
function id3Length(head: Uint8Array): number {
  return (
    10 +
    (((head[6]! & 0x7f) << 21) |
      ((head[7]! & 0x7f) << 14) |
      ((head[8]! & 0x7f) << 7) |
      (head[9]! & 0x7f))
  );
}

/** An MPEG audio (MP3) or ADTS (AAC) frame header at `at`, if one starts there. */
function frameAt(head: Uint8Array, at: number): 'mp3' | 'adts' | null {
  if (head.length < at + 4 || head[at] !== 0xff) return null;
  const b1 = head[at + 1]!;
  // ADTS: 12 sync bits, layer 00. MPEG audio: 11 sync bits, a version other than "reserved"
  // (01), a layer other than "reserved" (00), and a bitrate index other than "bad" (1111).
  if ((b1 & 0xf6) === 0xf0) return 'adts';
  const version = (b1 >> 3) & 0b11;
  const layer = (b1 >> 1) & 0b11;
  const bitrate = head[at + 2]! >> 4;
  if ((b1 & 0xe0) === 0xe0 && version !== 0b01 && layer !== 0b00 && bitrate !== 0b1111) {
    return 'mp3';
  }
  return null;
}

/** How much of a file's start `sniffMedia` needs at most: an ID3 tag may come first. */
export const SNIFF_BYTES = 64 * 1024;

const AUDIO_MP4_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ', 'F4A ', 'F4B ']);

/** The container `head` (a file's first SNIFF_BYTES or fewer) starts, or null for none. */
export function sniffMedia(head: Uint8Array): MediaInfo | null {
  if (ascii(head, 4, 'ftyp')) {
    const brand = String.fromCharCode(...head.subarray(8, 12));
    return { container: 'mp4', mime: AUDIO_MP4_BRANDS.has(brand) ? 'audio/mp4' : 'video/mp4' };
  }
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    // EBML: WebM names its DocType within the first few dozen bytes; Matroska is not WebM.
    const start = head.subarray(0, 64);
    for (let i = 4; i + 4 <= start.length; i++) {
      if (ascii(start, i, 'webm')) return { container: 'webm', mime: 'video/webm' };
    }
    return null;
  }
  if (ascii(head, 0, 'OggS')) return { container: 'ogg', mime: 'audio/ogg' };
  if (ascii(head, 0, 'fLaC')) return { container: 'flac', mime: 'audio/flac' };
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WAVE'))
    return { container: 'wav', mime: 'audio/wav' };
  // An ID3 tag comes before MP3 frames (and, rarely, ADTS): the frame after it decides.
  const at = ascii(head, 0, 'ID3') && head.length >= 10 ? id3Length(head) : 0;
  const frame = frameAt(head, at);
  if (frame === 'adts') return { container: 'adts', mime: 'audio/aac' };
  if (frame === 'mp3' || at > 0) return { container: 'mp3', mime: 'audio/mpeg' };
  return null;
}
