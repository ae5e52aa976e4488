/** The share link: the room id and key in the fragment, read back from any URL or bare fragment. */
import { expect } from '@open-wc/testing';
import { formatLink, looksLikeLink, parseLink } from '../../src/crypto/link.js';
import { randomId } from '../../protocol/ids.js';

describe('share link', () => {
  const secret = { roomId: randomId(), key: randomId() };

  it('round-trips through a page URL, replacing any fragment', () => {
    const link = formatLink('https://example.org/files/page.html?x=1#old', secret);
    expect(link.startsWith('https://example.org/files/page.html?x=1#p2p=')).to.equal(true);
    expect(link).to.not.contain('old');
    expect(parseLink(link)).to.deep.equal(secret);
    expect(parseLink(new URL(link).hash)).to.deep.equal(secret);
    expect(parseLink(new URL(link).hash.slice(1))).to.deep.equal(secret);
  });

  it('finds the secret among other fragment parameters', () => {
    const p2p = `p2p=${secret.roomId}.${secret.key}`;
    expect(parseLink(`https://a.test/#lang=en&${p2p}`)).to.deep.equal(secret);
    expect(parseLink(`https://a.test/#${p2p}&t=30`)).to.deep.equal(secret);
    expect(parseLink(`#a=1&${p2p}&b=2`)).to.deep.equal(secret);
    expect(parseLink(`#xp2p=${secret.roomId}.${secret.key}`)).to.equal(null);
  });

  it('refuses truncated, padded or foreign secrets', () => {
    const cut = `https://a.test/#p2p=${secret.roomId}.${secret.key.slice(0, 21)}`;
    expect(parseLink(cut)).to.equal(null);
    expect(parseLink(`#p2p=${secret.roomId.slice(1)}.${secret.key}`)).to.equal(null);
    expect(parseLink(`#p2p=${secret.roomId}.${secret.key}A`)).to.equal(null);
    expect(parseLink(`#p2p=${secret.roomId}${secret.key}`)).to.equal(null);
    expect(parseLink(`#p2p=${secret.roomId}.${secret.key.slice(0, 21)}=`)).to.equal(null);
    expect(parseLink('https://a.test/page')).to.equal(null);
    expect(parseLink('')).to.equal(null);
  });

  it('tells a broken share link from an ordinary page', () => {
    expect(looksLikeLink(`#p2p=${secret.roomId}.${secret.key.slice(0, 5)}`)).to.equal(true);
    expect(looksLikeLink('https://a.test/#p2p=')).to.equal(true);
    expect(looksLikeLink('https://a.test/#lang=en&p2p=x')).to.equal(true);
    expect(looksLikeLink('https://a.test/#section-2')).to.equal(false);
    expect(looksLikeLink('https://a.test/')).to.equal(false);
  });
});
