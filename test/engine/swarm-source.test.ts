/**
 * SwarmSource: what a part-way recipient keeps to serve is whole pieces, joined from the parts
 * they arrived in, and never more than its cap.
 */
import { expect } from '@open-wc/testing';
import { SwarmSource } from '../../src/session/swarm-source.js';
import { Download } from '../../src/transfer/download.js';
import { prepareFile } from '../../src/transfer/manifest.js';
import { fileOf, MemorySink, PIECE, randomBytes } from './helpers.js';

async function source(pieces: number, capBytes: number) {
  const bytes = randomBytes(pieces * PIECE);
  const { meta, hashes } = await prepareFile(fileOf(bytes));
  const download = new Download(meta, new MemorySink(bytes.byteLength));
  expect(await download.setManifest(hashes)).to.equal(true);
  const piece = (i: number) => bytes.subarray(i * PIECE, (i + 1) * PIECE);
  return { bytes, piece, swarm: new SwarmSource(download, capBytes) };
}

describe('SwarmSource', () => {
  it('keeps a piece given in parts as one buffer, and a piece in one part as it is', async () => {
    const { piece, swarm } = await source(3, 2 * PIECE);
    const whole = piece(0).slice();
    expect(swarm.keep(0, [whole])).to.equal(true);
    expect(await swarm.read(0)).to.equal(whole);
    const parts = [
      piece(1).slice(0, 100),
      piece(1).slice(100, PIECE - 7),
      piece(1).slice(PIECE - 7),
    ];
    expect(swarm.keep(1, parts)).to.equal(true);
    const kept = await swarm.read(1);
    expect(kept.byteLength).to.equal(PIECE);
    expect(kept).to.deep.equal(piece(1));
    expect([...swarm.haveFlags()]).to.deep.equal([1, 1, 0]);
  });

  it('keeps nothing past its cap, and nothing twice', async () => {
    const { piece, swarm } = await source(3, 2 * PIECE);
    expect(swarm.keep(0, [piece(0)])).to.equal(true);
    expect(swarm.keep(0, [piece(0)])).to.equal(false);
    expect(swarm.keep(1, [piece(1).subarray(0, 9), piece(1).subarray(9)])).to.equal(true);
    expect(swarm.keep(2, [piece(2)])).to.equal(false);
    expect(swarm.count).to.equal(2);
    expect(swarm.has(2)).to.equal(false);
    let failed = false;
    await swarm.read(2).catch(() => (failed = true));
    expect(failed).to.equal(true);
  });
});
