/**
 * The media fixtures (testing/media.ts) are what the media tests take them for, and the widget's
 * sniffer names each one's container from its first bytes: real files from a real encoder, not
 * the hand-made headers of test/engine/media.test.ts. Each audio fixture's decoded sound is
 * 440 Hz in its first half and 880 Hz in its second; the video turns from red to blue.
 */
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { SNIFF_BYTES, sniffMedia } from '../../src/media/sniff.js';
import { removeTempDir, tempDir } from '../../testing/cleanup.js';
import {
  decodeAudio,
  dominantFrequency,
  frameColour,
  HIGH_HZ,
  LOW_HZ,
  makeMediaFixture,
  MEDIA_FIXTURES,
} from '../../testing/media.js';

async function head(file: string): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const buf = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

describe('media fixtures made by ffmpeg', () => {
  let dir = '';
  const files = new Map<string, string>();
  before(async () => {
    dir = tempDir('p2p-media-');
    for (const fixture of MEDIA_FIXTURES) {
      files.set(fixture.name, await makeMediaFixture(dir, fixture));
    }
  });
  after(() => removeTempDir(dir));

  for (const fixture of MEDIA_FIXTURES) {
    test(`${fixture.name}: sniffed as ${fixture.container}; ${LOW_HZ} Hz, then ${HIGH_HZ} Hz`, async () => {
      const file = files.get(fixture.name)!;
      assert.equal(sniffMedia(await head(file))?.container, fixture.container);
      const half = fixture.seconds / 2;
      // A second well inside each half, clear of the encoder's start and the switch.
      const first = dominantFrequency(await decodeAudio(file, half / 2, 1));
      const second = dominantFrequency(await decodeAudio(file, half + half / 2, 1));
      assert.ok(Math.abs(first - LOW_HZ) <= 10, `first half at ${first} Hz`);
      assert.ok(Math.abs(second - HIGH_HZ) <= 10, `second half at ${second} Hz`);
      if (fixture.video) {
        const [r1, , b1] = await frameColour(file, half / 2);
        const [r2, , b2] = await frameColour(file, half + half / 2);
        assert.ok(r1 > 150 && b1 < 100, `first half red, got rgb(${r1}, _, ${b1})`);
        assert.ok(b2 > 150 && r2 < 100, `second half blue, got rgb(${r2}, _, ${b2})`);
      }
    });
  }
});
