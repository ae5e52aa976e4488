import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressResolver, rateKey } from './address.js';

describe('client address', () => {
  test('without TRUSTED_PROXY it is the connection, whatever X-Forwarded-For says', () => {
    const resolve = addressResolver({ trustedProxy: null });
    assert.equal(resolve('203.0.113.5', undefined), '203.0.113.5');
    assert.equal(resolve('203.0.113.5', '198.51.100.1'), '203.0.113.5');
    assert.equal(resolve('::ffff:203.0.113.5', undefined), '203.0.113.5');
    assert.equal(resolve('2001:DB8::1', undefined), '2001:db8::1');
    assert.equal(resolve(undefined, '198.51.100.1'), 'unknown');
  });

  test('with a hop count, the entry that many hops from the connection', () => {
    const one = addressResolver({ trustedProxy: { hops: 1 } });
    assert.equal(one('10.0.0.2', '198.51.100.1'), '198.51.100.1');
    assert.equal(one('10.0.0.2', 'spoofed, 198.51.100.1'), '198.51.100.1');
    assert.equal(one('10.0.0.2', ' 1.1.1.1 ,2.2.2.2, 198.51.100.1 '), '198.51.100.1');
    assert.equal(one('10.0.0.2', undefined), '10.0.0.2', 'no header: the proxy itself');
    const two = addressResolver({ trustedProxy: { hops: 2 } });
    assert.equal(two('10.0.0.2', 'spoofed, 198.51.100.1, 10.0.0.3'), '198.51.100.1');
    assert.equal(two('10.0.0.2', '198.51.100.1'), '198.51.100.1', 'a shorter chain');
    assert.equal(one('10.0.0.2', 'not an address'), 'unknown');
  });

  test('with addresses and subnets, the first hop that is not a trusted proxy', () => {
    const resolve = addressResolver({
      trustedProxy: { addresses: ['10.0.0.0/8', '192.168.1.1', 'fd00::/8'] },
    });
    assert.equal(resolve('10.1.2.3', '198.51.100.1'), '198.51.100.1');
    assert.equal(resolve('10.1.2.3', 'spoofed, 198.51.100.1, 192.168.1.1'), '198.51.100.1');
    assert.equal(resolve('fd12::1', '2001:db8::7'), '2001:db8::7');
    assert.equal(resolve('::ffff:10.1.2.3', '198.51.100.1'), '198.51.100.1');
    // An untrusted connection's header is not believed.
    assert.equal(resolve('203.0.113.9', '198.51.100.1'), '203.0.113.9');
    assert.equal(resolve('192.168.1.2', '198.51.100.1'), '192.168.1.2');
    // A chain made only of proxies ends at the outermost one.
    assert.equal(resolve('10.0.0.1', '10.0.0.2'), '10.0.0.2');
  });

  test('rate keys group an IPv6 /64 and leave IPv4 alone', () => {
    assert.equal(rateKey('203.0.113.5'), '203.0.113.5');
    assert.equal(rateKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(rateKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(rateKey('2001:0db8:0001:0002:0:0:0:1'), '2001:db8:1:2::/64');
    assert.equal(rateKey('::1'), '0:0:0:0::/64');
    assert.equal(rateKey('2001:db8::'), '2001:db8:0:0::/64');
    assert.equal(rateKey('64:ff9b::203.0.113.5'), '64:ff9b:0:0::/64');
    assert.notEqual(rateKey('2001:db8:1:2::1'), rateKey('2001:db8:1:3::1'));
    assert.equal(rateKey('unknown'), 'unknown');
  });
});
