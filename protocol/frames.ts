/**
 * Data-channel frames. Control messages are JSON text frames validated with valibot; bulk bytes
 * travel in binary frames with a fixed 12-byte big-endian header:
 *
 *   offset  size  field
 *   0       1     kind      1 = piece chunk, 2 = manifest chunk
 *   1       1     version   PROTOCOL_VERSION
 *   2       2     reserved  0
 *   4       4     index     piece index (0 for manifest chunks)
 *   8       4     offset    byte offset of the payload within the piece (or the manifest)
 *   12      …     payload
 *
 * A frame never exceeds the channel's negotiated maxMessageSize (see `chunkPayloadSize`).
 */
import * as v from 'valibot';
import { ERROR_CODES } from './errors.js';
import { fromBase64Url, toBase64Url } from './ids.js';
import { PROTOCOL_VERSION } from './version.js';

export const FRAME_HEADER_BYTES = 12;
export const FrameKind = { Piece: 1, Manifest: 2 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Largest frame we send even when the peer allows more: beyond this throughput stops improving. */
export const MAX_FRAME_BYTES = 256 * 1024;
/** Most pieces one `request` may name. */
export const MAX_REQUEST_PIECES = 256;

export interface DataFrame {
  kind: FrameKind;
  index: number;
  offset: number;
  /** A view into the message's own buffer (no copy). */
  payload: Uint8Array<ArrayBuffer>;
}

export function chunkPayloadSize(maxMessageSize: number): number {
  const max = Number.isFinite(maxMessageSize) && maxMessageSize > 0 ? maxMessageSize : 65536;
  return Math.max(1, Math.min(max, MAX_FRAME_BYTES) - FRAME_HEADER_BYTES);
}

export function encodeFrame(
  kind: FrameKind,
  index: number,
  offset: number,
  payload: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint8(1, PROTOCOL_VERSION);
  view.setUint32(4, index);
  view.setUint32(8, offset);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Encodes frames into one buffer it reuses. `RTCDataChannel.send()` copies what it is given
 * before it returns, so a sender that sends each frame at once needs no new buffer per frame:
 * allocating (and zeroing) one per frame cost more than the copy itself. The returned view is
 * valid until the next `encode`.
 */
export class FrameEncoder {
  private buffer = new Uint8Array(0);
  private view = new DataView(this.buffer.buffer);

  encode(
    kind: FrameKind,
    index: number,
    offset: number,
    payload: Uint8Array,
  ): Uint8Array<ArrayBuffer> {
    const size = FRAME_HEADER_BYTES + payload.byteLength;
    if (this.buffer.byteLength < size) {
      this.buffer = new Uint8Array(size);
      this.view = new DataView(this.buffer.buffer);
    }
    const view = this.view;
    view.setUint8(0, kind);
    view.setUint8(1, PROTOCOL_VERSION);
    view.setUint16(2, 0);
    view.setUint32(4, index);
    view.setUint32(8, offset);
    this.buffer.set(payload, FRAME_HEADER_BYTES);
    return this.buffer.subarray(0, size);
  }
}

/** Parses a binary frame; returns null for anything malformed (the caller drops the peer). */
export function decodeFrame(buf: ArrayBuffer): DataFrame | null {
  if (buf.byteLength < FRAME_HEADER_BYTES) return null;
  const view = new DataView(buf);
  const kind = view.getUint8(0);
  if (kind !== FrameKind.Piece && kind !== FrameKind.Manifest) return null;
  if (view.getUint8(1) !== PROTOCOL_VERSION || view.getUint16(2) !== 0) return null;
  return {
    kind,
    index: view.getUint32(4),
    offset: view.getUint32(8),
    payload: new Uint8Array(buf, FRAME_HEADER_BYTES),
  };
}

/** A `have` bitfield's longest base64url form: enough for 12,000 × 8 pieces. */
const MAX_HAVE_CHARS = 16_000;
const pieceIndex = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const b64url = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(/^[A-Za-z0-9_-]*$/));

export const ControlSchema = v.variant('t', [
  /** First message each way: proves the link key and the DTLS fingerprints this side sees. */
  v.strictObject({
    t: v.literal('hello'),
    v: v.number(),
    role: v.picklist(['recipient', 'source']),
    proof: b64url(128),
    /**
     * A random name of the sender (its signalling client's), the same on all its links: a peer
     * met again under a new peer id (its signalling reconnected) is known for the same one.
     */
    page: v.optional(b64url(16)),
  }),
  v.strictObject({ t: v.literal('manifest') }),
  /**
   * Pieces to send, in order. A source serving several recipients may answer `later` for a piece
   * it already gave (or is giving) another recipient, who can pass it on; with `again`, the
   * recipient needs it from this source regardless (nobody it talks to offers it, say).
   */
  v.strictObject({
    t: v.literal('request'),
    pieces: v.pipe(v.array(pieceIndex), v.minLength(1), v.maxLength(MAX_REQUEST_PIECES)),
    again: v.optional(v.literal(true)),
  }),
  /**
   * Requested pieces this source did not queue because another recipient already has them from
   * it: get them from others, or ask `again`. The source's upload goes to pieces nobody has yet.
   */
  v.strictObject({
    t: v.literal('later'),
    pieces: v.pipe(v.array(pieceIndex), v.minLength(1), v.maxLength(MAX_REQUEST_PIECES)),
  }),
  v.strictObject({
    t: v.literal('cancel'),
    pieces: v.pipe(v.array(pieceIndex), v.maxLength(MAX_REQUEST_PIECES)),
  }),
  /**
   * A source's first message once the link is open: which pieces it can serve. `all` for a whole
   * file; otherwise `bits`, a base64url bitfield (piece i is bit 7 - i % 8 of byte i / 8).
   * A recipient requests only pieces its source announced.
   */
  v.strictObject({
    t: v.literal('have'),
    all: v.optional(v.literal(true)),
    bits: v.optional(b64url(MAX_HAVE_CHARS)),
  }),
  /** A part-way source verified more pieces since its `have`. */
  v.strictObject({
    t: v.literal('got'),
    pieces: v.pipe(v.array(pieceIndex), v.minLength(1), v.maxLength(MAX_REQUEST_PIECES)),
  }),
  v.strictObject({ t: v.literal('ping'), n: v.pipe(v.number(), v.integer()) }),
  v.strictObject({ t: v.literal('pong'), n: v.pipe(v.number(), v.integer()) }),
  /** The recipient has every piece and verified the whole file. */
  v.strictObject({ t: v.literal('done'), sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)) }),
  v.strictObject({
    t: v.literal('error'),
    code: v.picklist(ERROR_CODES),
    message: v.pipe(v.string(), v.maxLength(500)),
  }),
  v.strictObject({ t: v.literal('bye') }),
]);
export type Control = v.InferOutput<typeof ControlSchema>;

/** Largest control frame we accept; anything longer is hostile. */
export const MAX_CONTROL_CHARS = 17 * 1024;

/** Packs piece flags (one byte each, non-zero = had) into a `have` bitfield. */
export function packHave(flags: Uint8Array): string {
  const bits = new Uint8Array(Math.ceil(flags.length / 8));
  for (let i = 0; i < flags.length; i++) if (flags[i]) bits[i >> 3]! |= 0x80 >> (i & 7);
  return toBase64Url(bits);
}

/** Unpacks a `have` bitfield into one flag byte per piece; null when it does not fit `count`. */
export function unpackHave(text: string, count: number): Uint8Array | null {
  let bits: Uint8Array;
  try {
    bits = fromBase64Url(text);
  } catch {
    return null;
  }
  if (bits.length !== Math.ceil(count / 8)) return null;
  const flags = new Uint8Array(count);
  for (let i = 0; i < count; i++) flags[i] = (bits[i >> 3]! >> (7 - (i & 7))) & 1;
  return flags;
}

export function parseControl(text: string): Control | null {
  if (text.length > MAX_CONTROL_CHARS) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const result = v.safeParse(ControlSchema, raw);
  return result.success ? result.output : null;
}
