/**
 * The environment variables the service reads, each with the check of its own value; building
 * the `Config` from them, defaults and the checks between variables are ../config.ts's. A variable
 * added here gets a row in docs/configuration.md, which `npm run docs:check` compares with this
 * file.
 */
import { isIP } from 'node:net';
import * as v from 'valibot';
import { IceConfigSchema, LIMITS } from '../../protocol/index.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

const integer = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+$/, 'must be a whole number'),
    v.transform(Number),
    v.number(),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

const json = v.rawTransform<string, unknown>(({ dataset, addIssue, NEVER }) => {
  try {
    return JSON.parse(dataset.value) as unknown;
  } catch {
    addIssue({ message: 'must be valid JSON' });
    return NEVER;
  }
});

const origin = v.pipe(
  v.string(),
  v.check((text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
    } catch {
      return false;
    }
  }, 'must be "*" or a comma-separated list of origins such as https://example.com (no path, no trailing slash)'),
);

const DAY = 24 * 60 * 60_000;

/** A TURN server URL as RTCIceServer takes it (RFC 7065): `turn[s]:host[:port][?transport=…]`. */
const TURN_URL = /^turns?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$/;

/** An address (`10.0.0.1`, `::1`) or a subnet (`10.0.0.0/8`, `fd00::/8`). */
const addressOrSubnet = v.pipe(
  v.string(),
  v.check((text) => {
    const [address = '', prefix, ...rest] = text.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return false;
    if (prefix === undefined) return true;
    return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  }, 'must be a number of proxy hops (1-16) or a comma-separated list of addresses or subnets such as 10.0.0.0/8'),
);

export const EnvSchema = v.object({
  PORT: v.optional(integer(0, 65535)),
  HOST: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'))),
  ROOM_GRACE_MS: v.optional(integer(1, 7 * DAY)),
  ROOM_MAX_AGE_MS: v.optional(integer(1, 30 * DAY)),
  SWEEP_INTERVAL_MS: v.optional(integer(10, DAY)),
  MAX_SOCKETS_PER_ROOM: v.optional(integer(2, 100_000)),
  MAX_SOCKETS_PER_ADDRESS_PER_ROOM: v.optional(integer(1, 100_000)),
  SWARM_CAPACITY: v.optional(integer(1, 100_000)),
  // The protocol's own ceiling: a request names at most 16, an `assigned` event carries 16.
  SWARM_MAX_SOURCES: v.optional(integer(1, 16)),
  SWARM_LEASE_MS: v.optional(integer(1_000, 10 * 60_000)),
  SWARM_EVENTS_PER_ROOM_PER_SECOND: v.optional(integer(1, 1_000_000)),
  ICE_SERVERS: v.optional(v.pipe(v.string(), json, IceConfigSchema.entries.iceServers)),
  TURN_URLS: v.optional(
    v.pipe(
      v.string(),
      v.transform((text) => text.split(',').map((s) => s.trim())),
      v.array(
        v.pipe(
          v.string(),
          v.regex(
            TURN_URL,
            'must be a comma-separated list of turn: or turns: URLs such as turn:turn.example.com:3478?transport=udp',
          ),
        ),
      ),
    ),
  ),
  TURN_SECRET: v.optional(
    v.pipe(v.string(), v.minLength(16, 'must be at least 16 characters (random, kept secret)')),
  ),
  TURN_TTL: v.optional(integer(60, 7 * 24 * 3600)),
  RELAY_ONLY: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.picklist(['true', 'false', '1', '0'], 'must be true or false'),
      v.transform((text) => text === 'true' || text === '1'),
    ),
  ),
  ICE_REQUESTS_PER_ADDRESS: v.optional(integer(1, 1_000_000)),
  ALLOWED_ORIGINS: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.transform((text) => (text === '*' ? text : text.split(',').map((s) => s.trim()))),
      v.union([v.literal('*'), v.pipe(v.array(origin), v.minLength(1))]),
    ),
  ),
  MAX_HTTP_BUFFER_SIZE: v.optional(integer(4096, 64 * 1024 * 1024)),
  MAX_META_CHARS: v.optional(integer(64, LIMITS.sealedMetaChars)),
  MAX_ENVELOPE_CHARS: v.optional(integer(1024, LIMITS.envelopeChars)),
  SOCKET_MESSAGES_PER_SECOND: v.optional(integer(1, 100_000)),
  SOCKET_MESSAGE_BURST: v.optional(integer(1, 1_000_000)),
  RATE_WINDOW_MS: v.optional(integer(1_000, DAY)),
  ROOMS_PER_ADDRESS: v.optional(integer(1, 1_000_000)),
  LIVE_ROOMS_PER_ADDRESS: v.optional(integer(1, 1_000_000)),
  SOCKETS_PER_ADDRESS: v.optional(integer(1, 1_000_000)),
  CONNECTIONS_PER_ADDRESS: v.optional(integer(1, 1_000_000)),
  ADDRESS_MESSAGES_PER_SECOND: v.optional(integer(1, 1_000_000)),
  ADDRESS_MESSAGE_BURST: v.optional(integer(1, 10_000_000)),
  PASSWORD_TRIES_PER_ADDRESS: v.optional(integer(1, 10_000)),
  PASSWORD_TRIES_PER_ROOM: v.optional(integer(1, 10_000)),
  ROOM_TOKEN_TTL_MS: v.optional(integer(10_000, DAY)),
  TOKEN_SECRET: v.optional(
    v.pipe(v.string(), v.minLength(32, 'must be at least 32 characters (random, kept secret)')),
  ),
  TRUSTED_PROXY: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.transform((text) =>
        /^\d+$/.test(text)
          ? { hops: Number(text) }
          : { addresses: text.split(',').map((s) => s.trim()) },
      ),
      v.union(
        [
          v.object({ hops: v.pipe(v.number(), v.minValue(1), v.maxValue(16)) }),
          v.object({ addresses: v.pipe(v.array(addressOrSubnet), v.minLength(1)) }),
        ],
        'must be a number of proxy hops (1-16) or a comma-separated list of addresses or subnets such as 10.0.0.0/8',
      ),
    ),
  ),
  REDIS_URL: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.check(
        (text) => /^rediss?:\/\/[^\s]+$/.test(text) && URL.canParse(text),
        'must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379',
      ),
    ),
  ),
  LOG_LEVEL: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`)),
  DRAIN_MS: v.optional(integer(0, 10 * 60_000)),
  METRICS_TOKEN: v.optional(
    v.pipe(
      v.string(),
      v.minLength(16, 'must be at least 16 characters (random, kept secret)'),
      v.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as a header)'),
    ),
  ),
  METRICS_PORT: v.optional(integer(0, 65535)),
  METRICS_HOST: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'))),
});

/** The variables that passed their checks, as their checks made them. */
export type Env = v.InferOutput<typeof EnvSchema>;
