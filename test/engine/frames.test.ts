/** Data-channel frames: the binary header, the payload size that fits a channel, control parsing. */
import { expect } from '@open-wc/testing';
import {
  chunkPayloadSize,
  decodeFrame,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameEncoder,
  FrameKind,
  MAX_CONTROL_CHARS,
  MAX_FRAME_BYTES,
  MAX_REQUEST_PIECES,
  parseControl,
} from '../../protocol/frames.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { randomBytes } from './helpers.js';

function header(bytes: number[]): ArrayBuffer {
  const out = new Uint8Array(FRAME_HEADER_BYTES + 4);
  out.set(bytes);
  return out.buffer;
}

describe('binary frames', () => {
  it('round-trips kind, index, offset and payload', () => {
    const payload = randomBytes(1000);
    const encoded = encodeFrame(FrameKind.Piece, 0xfffffffe, 123456789, payload);
    expect(encoded.byteLength).to.equal(FRAME_HEADER_BYTES + 1000);
    const frame = decodeFrame(encoded.buffer);
    expect(frame).to.not.equal(null);
    expect(frame!.kind).to.equal(FrameKind.Piece);
    expect(frame!.index).to.equal(0xfffffffe);
    expect(frame!.offset).to.equal(123456789);
    expect(Array.from(frame!.payload)).to.deep.equal(Array.from(payload));
  });

  it('writes the documented big-endian layout', () => {
    const encoded = encodeFrame(FrameKind.Manifest, 0x01020304, 0x0a0b0c0d, new Uint8Array([9]));
    expect(Array.from(encoded)).to.deep.equal([
      2,
      PROTOCOL_VERSION,
      0,
      0,
      1,
      2,
      3,
      4,
      0x0a,
      0x0b,
      0x0c,
      0x0d,
      9,
    ]);
  });

  it('round-trips an empty payload and a manifest frame', () => {
    const frame = decodeFrame(encodeFrame(FrameKind.Manifest, 0, 64, new Uint8Array()).buffer);
    expect(frame).to.deep.include({ kind: FrameKind.Manifest, index: 0, offset: 64 });
    expect(frame!.payload.byteLength).to.equal(0);
  });

  it('rejects every malformed header', () => {
    const ok = [FrameKind.Piece, PROTOCOL_VERSION, 0, 0];
    expect(decodeFrame(header(ok))).to.not.equal(null);
    expect(decodeFrame(new ArrayBuffer(0)), 'empty').to.equal(null);
    expect(decodeFrame(new ArrayBuffer(FRAME_HEADER_BYTES - 1)), 'short').to.equal(null);
    for (const kind of [0, 3, 255]) {
      expect(decodeFrame(header([kind, PROTOCOL_VERSION, 0, 0])), `kind ${kind}`).to.equal(null);
    }
    for (const version of [0, PROTOCOL_VERSION + 1, 255]) {
      expect(decodeFrame(header([1, version, 0, 0])), `version ${version}`).to.equal(null);
    }
    expect(decodeFrame(header([1, PROTOCOL_VERSION, 1, 0])), 'reserved high').to.equal(null);
    expect(decodeFrame(header([1, PROTOCOL_VERSION, 0, 0x80])), 'reserved low').to.equal(null);
  });
});

describe('FrameEncoder', () => {
  it('encodes exactly what encodeFrame does, frame after frame in one buffer', () => {
    const encoder = new FrameEncoder();
    // Shrinking, growing and shrinking again: a reused buffer must not leak older bytes.
    for (const [kind, index, offset, size] of [
      [FrameKind.Piece, 7, 0, 1000],
      [FrameKind.Piece, 7, 1000, 10],
      [FrameKind.Manifest, 0, 64, 5000],
      [FrameKind.Piece, 0xfffffffe, 123456789, 0],
      [FrameKind.Piece, 3, 262144, 4999],
    ] as const) {
      const payload = randomBytes(size);
      const encoded = encoder.encode(kind, index, offset, payload);
      const expected = encodeFrame(kind, index, offset, payload);
      expect(Array.from(encoded), `${size} bytes`).to.deep.equal(Array.from(expected));
      const frame = decodeFrame(encoded.slice().buffer);
      expect(frame).to.deep.include({ kind, index, offset });
      expect(Array.from(frame!.payload)).to.deep.equal(Array.from(payload));
    }
  });
});

describe('chunkPayloadSize', () => {
  it('fills a Chromium message (262144) exactly', () => {
    expect(chunkPayloadSize(262144) + FRAME_HEADER_BYTES).to.equal(262144);
  });

  it('caps large and unknown limits', () => {
    expect(chunkPayloadSize(1 << 30) + FRAME_HEADER_BYTES).to.equal(MAX_FRAME_BYTES);
    for (const unknown of [Infinity, 0, -1, NaN]) {
      const size = chunkPayloadSize(unknown);
      expect(size, String(unknown)).to.be.greaterThan(0);
      expect(size + FRAME_HEADER_BYTES, String(unknown)).to.be.at.most(65536);
    }
  });

  it('never lets a frame exceed the limit, and always makes progress', () => {
    for (const max of [13, 14, 100, 1024, 16384, 65535, 65536, 262143, 262144]) {
      const size = chunkPayloadSize(max);
      expect(size, `max ${max}`).to.be.greaterThan(0);
      expect(size + FRAME_HEADER_BYTES, `max ${max}`).to.be.at.most(max);
    }
  });

  it('gives a positive payload even when the peer announces a limit below the header size', () => {
    // A peer controls a=max-message-size in its SDP; a payload of 0 or less would make every
    // sender loop (`off += payload`) spin forever.
    for (const max of [1, 5, 11, 12]) {
      expect(chunkPayloadSize(max), `max ${max}`).to.be.greaterThan(0);
    }
  });
});

describe('parseControl', () => {
  it('accepts every well-formed message', () => {
    const good = [
      { t: 'hello', v: 1, role: 'recipient', proof: 'abc_-DEF' },
      { t: 'manifest' },
      { t: 'request', pieces: [0, 1, 4294967295] },
      { t: 'request', pieces: [2], again: true },
      { t: 'later', pieces: [2, 3] },
      { t: 'cancel', pieces: [] },
      { t: 'ping', n: 3 },
      { t: 'pong', n: 3 },
      { t: 'done', sha256: 'a'.repeat(64) },
      { t: 'error', code: 'tampered', message: 'no' },
      { t: 'bye' },
    ];
    for (const msg of good) expect(parseControl(JSON.stringify(msg)), msg.t).to.deep.equal(msg);
  });

  it('rejects what is not JSON or too long', () => {
    expect(parseControl('')).to.equal(null);
    expect(parseControl('{"t":"bye"')).to.equal(null);
    expect(parseControl('null')).to.equal(null);
    expect(parseControl('[]')).to.equal(null);
    const padded = JSON.stringify({ t: 'error', code: 'internal', message: 'x' }).padEnd(
      MAX_CONTROL_CHARS + 1,
      ' ',
    );
    expect(JSON.parse(padded)).to.be.an('object');
    expect(parseControl(padded)).to.equal(null);
  });

  it('rejects unknown types, extra fields and wrong types', () => {
    const bad: unknown[] = [
      { t: 'launch' },
      { pieces: [1] },
      { t: 'bye', extra: 1 },
      { t: 'manifest', pieces: [] },
      { t: 'request', pieces: [1], priority: 1 },
      { t: 'request', pieces: [] },
      { t: 'request', pieces: [-1] },
      { t: 'request', pieces: [1.5] },
      { t: 'request', pieces: [4294967296] },
      { t: 'request', pieces: ['1'] },
      { t: 'request', pieces: 1 },
      { t: 'request', pieces: [1], again: false },
      { t: 'later', pieces: [] },
      { t: 'later', pieces: [-1] },
      { t: 'ping', n: '1' },
      { t: 'ping', n: 0.5 },
      { t: 'hello', v: 1, role: 'sharer', proof: 'abc' },
      { t: 'hello', v: 1, role: 'source', proof: 'not base64!' },
      { t: 'hello', v: 1, role: 'source', proof: 'a'.repeat(129) },
      { t: 'done', sha256: 'A'.repeat(64) },
      { t: 'done', sha256: 'a'.repeat(63) },
      { t: 'error', code: 'no-such-code', message: '' },
      { t: 'error', code: 'internal', message: 'x'.repeat(501) },
    ];
    for (const msg of bad)
      expect(parseControl(JSON.stringify(msg)), JSON.stringify(msg)).to.equal(null);
  });

  it('caps how many pieces one request or cancel names', () => {
    const max = Array.from({ length: MAX_REQUEST_PIECES }, (_, i) => i);
    expect(parseControl(JSON.stringify({ t: 'request', pieces: max }))).to.not.equal(null);
    const over = [...max, MAX_REQUEST_PIECES];
    expect(parseControl(JSON.stringify({ t: 'request', pieces: over }))).to.equal(null);
    expect(parseControl(JSON.stringify({ t: 'cancel', pieces: over }))).to.equal(null);
  });
});
