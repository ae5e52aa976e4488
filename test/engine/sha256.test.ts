/** The incremental SHA-256 against the FIPS 180-4 examples and against Web Crypto. */
import { expect } from '@open-wc/testing';
import { toHex } from '../../src/protocol/ids.js';
import { Sha256 } from '../../src/transfer/sha256.js';
import { randomBytes, sha256Hex } from './helpers.js';

const ascii = (text: string) => new TextEncoder().encode(text);

describe('Sha256', () => {
  it('matches the FIPS 180-4 examples', () => {
    const vectors: Array<[Uint8Array, string]> = [
      [new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      [ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      [
        ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
        '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
      ],
      [
        ascii(
          'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
        ),
        'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
      ],
    ];
    for (const [input, hex] of vectors) {
      expect(toHex(new Sha256().update(input).digest()), `${input.byteLength} bytes`).to.equal(hex);
    }
  });

  it('hashes a million "a" fed in uneven parts', () => {
    const hash = new Sha256();
    const chunk = ascii('a'.repeat(1000));
    let fed = 0;
    for (let n = 1; fed < 1_000_000; n = (n * 7 + 3) % 997) {
      const take = Math.min(n + 1, 1_000_000 - fed, chunk.byteLength);
      hash.update(chunk.subarray(0, take));
      fed += take;
    }
    expect(toHex(hash.digest())).to.equal(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('agrees with Web Crypto at every length around the block and padding boundaries', async () => {
    const data = randomBytes(300);
    for (let n = 0; n <= 300; n++) {
      const input = data.subarray(0, n);
      expect(toHex(new Sha256().update(input).digest()), `${n} bytes`).to.equal(
        await sha256Hex(input.slice()),
      );
    }
  });

  it('gives the same hash however the input is split', async () => {
    const data = randomBytes(1024 * 1024 + 37);
    const expected = await sha256Hex(data);
    for (const step of [1, 63, 64, 65, 4096, 262144]) {
      const hash = new Sha256();
      // The first part is odd-sized so later parts start inside a block.
      hash.update(data.subarray(0, 13));
      for (let off = 13; off < data.byteLength; off += step) {
        hash.update(data.subarray(off, Math.min(data.byteLength, off + step)));
      }
      expect(toHex(hash.digest()), `step ${step}`).to.equal(expected);
    }
  });

  it('refuses to be used after digest()', () => {
    const hash = new Sha256().update(ascii('x'));
    hash.digest();
    expect(() => hash.update(ascii('y'))).to.throw();
    expect(() => hash.digest()).to.throw();
  });
});
