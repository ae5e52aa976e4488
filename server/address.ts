/**
 * Who is asking: the client address that rate limits count against. It comes from the connection
 * itself; `X-Forwarded-For` is believed only as far as `TRUSTED_PROXY` says, since any client can
 * write that header. Addresses are used as limiter keys only, never logged (in Redis, only as an
 * HMAC: server/limits-redis.ts).
 */
import { BlockList, isIP } from 'node:net';
import type { Config } from './config.js';

/** Turns the connection's peer address and its `X-Forwarded-For` header into the client's. */
export type AddressResolver = (
  peer: string | undefined,
  forwardedFor: string | undefined,
) => string;

export function addressResolver({ trustedProxy }: Pick<Config, 'trustedProxy'>): AddressResolver {
  if (trustedProxy === null) return (peer) => normalize(peer);
  if ('hops' in trustedProxy) {
    // The last `hops` entries of the chain (the peer included) are our own proxies; the one
    // before them is the client. A shorter chain than promised means a proxy was bypassed or
    // misconfigured, and the leftmost entry is the best we have.
    const { hops } = trustedProxy;
    return (peer, forwardedFor) => {
      const chain = [...forwarded(forwardedFor), normalize(peer)];
      return chain[Math.max(0, chain.length - 1 - hops)]!;
    };
  }
  const trusted = new BlockList();
  for (const entry of trustedProxy.addresses) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(normalize(address), type);
    else trusted.addSubnet(normalize(address), Number(prefix), type);
  }
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (peer, forwardedFor) => {
    // Walk from the nearest hop outwards while the hop is one of our proxies.
    let client = normalize(peer);
    const chain = forwarded(forwardedFor);
    while (isTrusted(client) && chain.length > 0) client = chain.pop()!;
    return client;
  };
}

/**
 * The key a client's requests are counted under. An IPv6 client usually holds a whole /64, so
 * counting single addresses would let it take a fresh one per request.
 */
export function rateKey(address: string): string {
  if (isIP(address) !== 6) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

/** `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) is `1.2.3.4`; anything unparsable is one key. */
function normalize(address: string | undefined): string {
  const text = (address ?? '').trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  return isIP(text) === 0 ? 'unknown' : text;
}

function forwarded(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .slice(-32)
    .map((entry) => normalize(entry));
}

/** The eight 16-bit groups of an IPv6 address, as hex without leading zeros. */
function expandIpv6(address: string): string[] {
  let text = address;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((g) => parseInt(g, 16).toString(16));
}
