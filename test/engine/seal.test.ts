/** Sealed blobs and the keys derived from the link key: what a relay alters must be refused. */
import { expect } from '@open-wc/testing';
import { deriveRoomKeys } from '../../src/crypto/keys.js';
import { open, openJson, seal, sealJson } from '../../src/crypto/seal.js';
import { P2PError } from '../../src/errors.js';
import { fromBase64Url, randomId, toBase64Url } from '../../protocol/ids.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function expectTampered(promise: Promise<unknown>): Promise<void> {
  let caught: unknown = null;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'should have been refused').to.be.instanceOf(P2PError);
  expect((caught as P2PError).code).to.equal('tampered');
  expect((caught as P2PError).params).to.deep.equal({ reason: 'relay' });
}

describe('seal / open', () => {
  let key: CryptoKey;
  before(async () => {
    key = (await deriveRoomKeys(randomId())).signal;
  });

  it('round-trips bytes and JSON', async () => {
    const sealed = await seal(key, encoder.encode('hello, peer'), 'aad');
    expect(sealed).to.match(/^[A-Za-z0-9_-]+$/);
    expect(decoder.decode(await open(key, sealed, 'aad'))).to.equal('hello, peer');
    const value = { k: 'offer', sdp: 'v=0\r\n', n: 1 };
    expect(await openJson(key, await sealJson(key, value, 'x'), 'x')).to.deep.equal(value);
  });

  it('uses a fresh IV each time', async () => {
    const a = await seal(key, encoder.encode('same'), 'aad');
    const b = await seal(key, encoder.encode('same'), 'aad');
    expect(a).to.not.equal(b);
  });

  it('refuses a flipped bit anywhere (IV, ciphertext, tag)', async () => {
    const sealed = fromBase64Url(await seal(key, encoder.encode('0123456789abcdef'), 'aad'));
    for (let i = 0; i < sealed.length; i++) {
      const copy = sealed.slice();
      copy[i] ^= 1 << (i % 8);
      await expectTampered(open(key, toBase64Url(copy), 'aad'));
    }
  });

  it('refuses other associated data, another key, truncation and junk', async () => {
    const sealed = await seal(key, encoder.encode('payload'), 'room|a|b');
    await expectTampered(open(key, sealed, 'room|b|a'));
    await expectTampered(open(key, sealed, ''));
    await expectTampered(open((await deriveRoomKeys(randomId())).signal, sealed, 'room|a|b'));
    const bytes = fromBase64Url(sealed);
    await expectTampered(open(key, toBase64Url(bytes.subarray(0, bytes.length - 1)), 'room|a|b'));
    await expectTampered(open(key, toBase64Url(bytes.subarray(0, 27)), 'room|a|b'));
    await expectTampered(open(key, '', 'room|a|b'));
    await expectTampered(open(key, 'not base64!', 'room|a|b'));
  });

  it('refuses a sealed blob whose content is not JSON', async () => {
    await expectTampered(openJson(key, await seal(key, encoder.encode('{oops'), 'a'), 'a'));
  });
});

describe('deriveRoomKeys', () => {
  /** Whether `b` opens what `a` sealed. */
  async function same(a: CryptoKey, b: CryptoKey): Promise<boolean> {
    try {
      await open(b, await seal(a, encoder.encode('x'), ''), '');
      return true;
    } catch {
      return false;
    }
  }

  async function sameHmac(a: CryptoKey, b: CryptoKey): Promise<boolean> {
    const data = encoder.encode('fingerprints');
    const sig = await crypto.subtle.sign('HMAC', a, data);
    return crypto.subtle.verify('HMAC', b, sig, data);
  }

  it('is deterministic for one link key', async () => {
    const linkKey = randomId();
    const [a, b] = await Promise.all([deriveRoomKeys(linkKey), deriveRoomKeys(linkKey)]);
    expect(await same(a.signal, b.signal)).to.equal(true);
    expect(await same(a.meta, b.meta)).to.equal(true);
    expect(await sameHmac(a.auth, b.auth)).to.equal(true);
  });

  it('separates purposes: the meta key does not open signalling blobs', async () => {
    const keys = await deriveRoomKeys(randomId());
    expect(await same(keys.signal, keys.meta)).to.equal(false);
  });

  it('gives different keys for different link keys and for extra input', async () => {
    const linkKey = randomId();
    const base = await deriveRoomKeys(linkKey);
    const other = await deriveRoomKeys(randomId());
    const withExtra = await deriveRoomKeys(linkKey, encoder.encode('password secret'));
    const withOtherExtra = await deriveRoomKeys(linkKey, encoder.encode('password secreT'));
    expect(await same(base.signal, other.signal)).to.equal(false);
    expect(await same(base.meta, other.meta)).to.equal(false);
    expect(await sameHmac(base.auth, other.auth)).to.equal(false);
    expect(await same(base.signal, withExtra.signal)).to.equal(false);
    expect(await same(base.meta, withExtra.meta)).to.equal(false);
    expect(await sameHmac(base.auth, withExtra.auth)).to.equal(false);
    expect(await same(withExtra.signal, withOtherExtra.signal)).to.equal(false);
  });

  it('refuses a link key that is not base64url', async () => {
    let caught: unknown = null;
    try {
      await deriveRoomKeys('not/base64+url');
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(Error);
  });
});
