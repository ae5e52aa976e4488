/**
 * Which media container a file is, from its first bytes (src/media/sniff.ts), and that the
 * sharer seals it into the file's details for recipients: the name and the browser's guessed
 * type are never asked.
 */
import { expect } from '@open-wc/testing';
import { sniffMedia } from '../../src/media/sniff.js';
import { randomBytes, shareAndLoad, useService } from './helpers.js';

/** `text` as bytes, then `tail` zero bytes: a file's head as its signature starts it. */
function head(parts: Array<string | number[]>, tail = 64): Uint8Array {
  const bytes: number[] = [];
  for (const part of parts) {
    if (typeof part === 'string') for (const c of part) bytes.push(c.charCodeAt(0));
    else bytes.push(...part);
  }
  return new Uint8Array([...bytes, ...new Array<number>(tail).fill(0)]);
}

/** An ID3v2 tag of `size` bytes after its 10-byte header (size as four 7-bit bytes). */
const id3 = (size: number) => [
  ...'ID3'.split('').map((c) => c.charCodeAt(0)),
  4,
  0,
  0,
  (size >> 21) & 0x7f,
  (size >> 14) & 0x7f,
  (size >> 7) & 0x7f,
  size & 0x7f,
  ...new Array<number>(size).fill(0),
];

describe('sniffMedia', () => {
  it('knows each container by its signature', () => {
    const cases: Array<[Uint8Array, string, string]> = [
      [head([[0xff, 0xfb, 0x90, 0x64]]), 'mp3', 'audio/mpeg'],
      [head([id3(300), [0xff, 0xfb, 0x90, 0x64]]), 'mp3', 'audio/mpeg'],
      [head([[0xff, 0xf1, 0x50, 0x80]]), 'adts', 'audio/aac'],
      [head([id3(20), [0xff, 0xf1, 0x50, 0x80]]), 'adts', 'audio/aac'],
      [head([[0, 0, 0, 0x20], 'ftypisom']), 'mp4', 'video/mp4'],
      [head([[0, 0, 0, 0x20], 'ftypM4A ']), 'mp4', 'audio/mp4'],
      [head([[0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84], 'webm']), 'webm', 'video/webm'],
      [head(['OggS']), 'ogg', 'audio/ogg'],
      [head(['fLaC']), 'flac', 'audio/flac'],
      [head(['RIFF', [0x24, 0, 0, 0], 'WAVEfmt ']), 'wav', 'audio/wav'],
    ];
    for (const [bytes, container, mime] of cases) {
      expect(sniffMedia(bytes), container).to.deep.equal({ container, mime });
    }
  });

  it('says nothing of what is not one of them', () => {
    const others = [
      head([[0x89], 'PNG\r\n']),
      head([[0xff, 0xd8, 0xff, 0xe0]]), // JPEG
      head(['%PDF-1.7']),
      head(['RIFF', [0x24, 0, 0, 0], 'AVI ']),
      head([[0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], 'matroska']),
      head([[0xff, 0xfb, 0xf0, 0x64]]), // an MPEG frame with the "bad" bitrate index
      head(['plain text, named song.mp3']),
      new Uint8Array(),
    ];
    for (const bytes of others) expect(sniffMedia(bytes)).to.equal(null);
  });
});

describe('the sealed details name the container', () => {
  const service = useService();

  it('from the bytes, whatever the name', async () => {
    const flac = head(['fLaC'], 4096);
    const { session } = await shareAndLoad(service, new Uint8Array(flac), 'notes.txt');
    const state = session.state;
    expect(state.phase).to.equal('ready');
    if (state.phase !== 'ready') return;
    expect(state.file.media).to.deep.equal({ container: 'flac', mime: 'audio/flac' });
  });

  it('and leave it out for anything else, even named like a song', async () => {
    const bytes = randomBytes(4096);
    bytes[0] = 0;
    const { session } = await shareAndLoad(service, bytes, 'song.mp3');
    const state = session.state;
    expect(state.phase).to.equal('ready');
    if (state.phase !== 'ready') return;
    expect(state.file).to.not.have.property('media');
  });
});
