import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LIMITS } from '../protocol/index.js';
import { ConfigError, defaultConfig, loadConfig, requestAllowed } from './config.js';

describe('loadConfig', () => {
  test('an empty environment gives the defaults', () => {
    assert.deepEqual(loadConfig({}), defaultConfig);
    assert.equal(defaultConfig.port, 8787);
    assert.equal(defaultConfig.host, '0.0.0.0');
    assert.equal(defaultConfig.roomGraceMs, 5 * 60_000);
    assert.equal(defaultConfig.roomMaxAgeMs, 24 * 60 * 60_000);
    assert.equal(defaultConfig.maxSocketsPerRoom, 64);
    assert.equal(defaultConfig.swarmCapacity, 4);
    assert.equal(defaultConfig.swarmMaxSources, 4);
    assert.equal(defaultConfig.maxHttpBufferSize, 64 * 1024);
    assert.equal(defaultConfig.allowedOrigins, '*');
    assert.deepEqual(defaultConfig.iceServers, []);
    assert.equal(defaultConfig.maxMetaChars, LIMITS.sealedMetaChars);
    assert.equal(defaultConfig.maxEnvelopeChars, LIMITS.envelopeChars);
    assert.equal(defaultConfig.rateWindowMs, 60_000);
    assert.equal(defaultConfig.passwordTriesPerAddress, 5);
    assert.equal(defaultConfig.passwordTriesPerRoom, 5);
    assert.equal(defaultConfig.roomTokenTtlMs, 10 * 60_000);
    assert.equal(defaultConfig.tokenSecret, null);
    assert.equal(defaultConfig.redisUrl, null, 'state stays in the process by default');
    assert.equal(defaultConfig.trustedProxy, null, 'X-Forwarded-For is ignored by default');
    assert.equal(defaultConfig.liveRoomsPerAddress, 20);
    assert.equal(defaultConfig.socketsPerAddress, 50);
    assert.equal(defaultConfig.connectionsPerAddress, 60);
    assert.equal(defaultConfig.addressMessagesPerSecond, 200);
    assert.equal(defaultConfig.addressMessageBurst, 1000);
  });

  test('empty variables count as unset, and others are ignored', () => {
    assert.deepEqual(loadConfig({ PORT: '', HOST: '  ', PATH: '/usr/bin' }), defaultConfig);
  });

  test('reads every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      ROOM_GRACE_MS: '1000',
      ROOM_MAX_AGE_MS: '60000',
      SWEEP_INTERVAL_MS: '500',
      MAX_SOCKETS_PER_ROOM: '8',
      MAX_SOCKETS_PER_ADDRESS_PER_ROOM: '3',
      SWARM_CAPACITY: '2',
      SWARM_MAX_SOURCES: '6',
      SWARM_LEASE_MS: '20000',
      SWARM_EVENTS_PER_ROOM_PER_SECOND: '50',
      ICE_SERVERS:
        '[{"urls":"stun:stun.example.com:3478"},{"urls":["turn:t.example.com"],"username":"u","credential":"c"}]',
      TURN_URLS: 'turn:t.example.com:3478,turns:t.example.com:5349?transport=tcp',
      TURN_SECRET: 't'.repeat(24),
      TURN_TTL: '1800',
      RELAY_ONLY: 'true',
      ICE_REQUESTS_PER_ADDRESS: '9',
      ALLOWED_ORIGINS: 'https://a.example, http://localhost:8080',
      MAX_HTTP_BUFFER_SIZE: '32768',
      MAX_META_CHARS: '4096',
      MAX_ENVELOPE_CHARS: '16384',
      SOCKET_MESSAGES_PER_SECOND: '20',
      SOCKET_MESSAGE_BURST: '60',
      RATE_WINDOW_MS: '30000',
      ROOMS_PER_ADDRESS: '10',
      LIVE_ROOMS_PER_ADDRESS: '5',
      SOCKETS_PER_ADDRESS: '7',
      CONNECTIONS_PER_ADDRESS: '12',
      ADDRESS_MESSAGES_PER_SECOND: '50',
      ADDRESS_MESSAGE_BURST: '150',
      PASSWORD_TRIES_PER_ADDRESS: '3',
      PASSWORD_TRIES_PER_ROOM: '4',
      ROOM_TOKEN_TTL_MS: '120000',
      TOKEN_SECRET: 'x'.repeat(40),
      TRUSTED_PROXY: '10.0.0.1, 192.168.0.0/16,fd00::/8',
      LOG_LEVEL: 'warn',
      DRAIN_MS: '2500',
      METRICS_TOKEN: 'm'.repeat(24),
      METRICS_PORT: '9100',
      METRICS_HOST: '0.0.0.0',
      REDIS_URL: 'redis://:pw@redis.internal:6380/2',
    });
    assert.deepEqual(config, {
      port: 9000,
      host: '127.0.0.1',
      roomGraceMs: 1000,
      roomMaxAgeMs: 60000,
      sweepIntervalMs: 500,
      maxSocketsPerRoom: 8,
      maxSocketsPerAddressPerRoom: 3,
      swarmCapacity: 2,
      swarmMaxSources: 6,
      swarmLeaseMs: 20000,
      swarmEventsPerRoomPerSecond: 50,
      iceServers: [
        { urls: 'stun:stun.example.com:3478' },
        { urls: ['turn:t.example.com'], username: 'u', credential: 'c' },
      ],
      turnUrls: ['turn:t.example.com:3478', 'turns:t.example.com:5349?transport=tcp'],
      turnSecret: 't'.repeat(24),
      turnTtlSeconds: 1800,
      relayOnly: true,
      iceRequestsPerAddress: 9,
      allowedOrigins: ['https://a.example', 'http://localhost:8080'],
      maxHttpBufferSize: 32768,
      maxMetaChars: 4096,
      maxEnvelopeChars: 16384,
      socketMessagesPerSecond: 20,
      socketMessageBurst: 60,
      rateWindowMs: 30000,
      roomsPerAddress: 10,
      liveRoomsPerAddress: 5,
      socketsPerAddress: 7,
      connectionsPerAddress: 12,
      addressMessagesPerSecond: 50,
      addressMessageBurst: 150,
      passwordTriesPerAddress: 3,
      passwordTriesPerRoom: 4,
      roomTokenTtlMs: 120000,
      tokenSecret: 'x'.repeat(40),
      trustedProxy: { addresses: ['10.0.0.1', '192.168.0.0/16', 'fd00::/8'] },
      logLevel: 'warn',
      drainMs: 2500,
      metricsToken: 'm'.repeat(24),
      metricsPort: 9100,
      metricsHost: '0.0.0.0',
      redisUrl: 'redis://:pw@redis.internal:6380/2',
    });
    assert.deepEqual(loadConfig({ TRUSTED_PROXY: '2' }).trustedProxy, { hops: 2 });
  });

  test('bad values are refused with the variable named', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'eighty' }, /PORT: must be a whole number/],
      [{ PORT: '70000' }, /PORT: must be at most 65535/],
      [{ PORT: '-1' }, /PORT/],
      [{ PORT: '1e3' }, /PORT/],
      [{ ROOM_GRACE_MS: '0' }, /ROOM_GRACE_MS: must be at least 1/],
      [{ ROOM_MAX_AGE_MS: '1.5' }, /ROOM_MAX_AGE_MS/],
      [{ ROOM_GRACE_MS: '5000', ROOM_MAX_AGE_MS: '4000' }, /ROOM_GRACE_MS: must not exceed/],
      [{ SWEEP_INTERVAL_MS: '1' }, /SWEEP_INTERVAL_MS/],
      [{ SOCKETS_PER_ADDRESS: '0' }, /SOCKETS_PER_ADDRESS: must be at least 1/],
      [{ ADDRESS_MESSAGE_BURST: 'lots' }, /ADDRESS_MESSAGE_BURST/],
      [{ LIVE_ROOMS_PER_ADDRESS: '-2' }, /LIVE_ROOMS_PER_ADDRESS/],
      [{ MAX_SOCKETS_PER_ROOM: '1' }, /MAX_SOCKETS_PER_ROOM/],
      [{ SWARM_CAPACITY: '0' }, /SWARM_CAPACITY: must be at least 1/],
      [{ SWARM_CAPACITY: 'four' }, /SWARM_CAPACITY: must be a whole number/],
      [{ SWARM_MAX_SOURCES: '17' }, /SWARM_MAX_SOURCES: must be at most 16/],
      [{ SWARM_MAX_SOURCES: '0' }, /SWARM_MAX_SOURCES/],
      [{ SWARM_LEASE_MS: '999' }, /SWARM_LEASE_MS: must be at least 1000/],
      [{ MAX_SOCKETS_PER_ADDRESS_PER_ROOM: '0' }, /MAX_SOCKETS_PER_ADDRESS_PER_ROOM/],
      [{ SWARM_EVENTS_PER_ROOM_PER_SECOND: '0' }, /SWARM_EVENTS_PER_ROOM_PER_SECOND/],
      [{ ICE_SERVERS: '[{urls:' }, /ICE_SERVERS: must be valid JSON/],
      [{ ICE_SERVERS: '{"urls":"stun:x"}' }, /ICE_SERVERS/],
      [{ ICE_SERVERS: '[{"url":"stun:x"}]' }, /ICE_SERVERS/],
      [{ ALLOWED_ORIGINS: 'example.com' }, /ALLOWED_ORIGINS/],
      [{ ALLOWED_ORIGINS: 'https://a.example/' }, /ALLOWED_ORIGINS/],
      [{ ALLOWED_ORIGINS: 'https://a.example/path' }, /ALLOWED_ORIGINS/],
      [{ ALLOWED_ORIGINS: 'ftp://a.example' }, /ALLOWED_ORIGINS/],
      [{ ALLOWED_ORIGINS: 'https://a.example,*' }, /ALLOWED_ORIGINS/],
      [{ MAX_HTTP_BUFFER_SIZE: '10' }, /MAX_HTTP_BUFFER_SIZE/],
      [{ MAX_HTTP_BUFFER_SIZE: '16384' }, /MAX_HTTP_BUFFER_SIZE: must be at least MAX_ENVELOPE/],
      [{ MAX_META_CHARS: String(LIMITS.sealedMetaChars + 1) }, /MAX_META_CHARS: must be at most/],
      [{ MAX_ENVELOPE_CHARS: String(LIMITS.envelopeChars + 1) }, /MAX_ENVELOPE_CHARS/],
      [{ MAX_ENVELOPE_CHARS: '10' }, /MAX_ENVELOPE_CHARS: must be at least/],
      [{ SOCKET_MESSAGES_PER_SECOND: '0' }, /SOCKET_MESSAGES_PER_SECOND/],
      [{ SOCKET_MESSAGE_BURST: 'lots' }, /SOCKET_MESSAGE_BURST/],
      [{ RATE_WINDOW_MS: '10' }, /RATE_WINDOW_MS/],
      [{ ROOMS_PER_ADDRESS: '0' }, /ROOMS_PER_ADDRESS/],
      [{ PASSWORD_TRIES_PER_ADDRESS: '0' }, /PASSWORD_TRIES_PER_ADDRESS/],
      [{ PASSWORD_TRIES_PER_ROOM: '-5' }, /PASSWORD_TRIES_PER_ROOM/],
      [{ ROOM_TOKEN_TTL_MS: '5' }, /ROOM_TOKEN_TTL_MS/],
      [{ TOKEN_SECRET: 'short' }, /TOKEN_SECRET: must be at least 32 characters/],
      [{ REDIS_URL: 'localhost:6379', TOKEN_SECRET: 'x'.repeat(40) }, /REDIS_URL: must be a redis/],
      [{ REDIS_URL: 'http://h:6379', TOKEN_SECRET: 'x'.repeat(40) }, /REDIS_URL: must be a redis/],
      [{ TRUSTED_PROXY: '0' }, /TRUSTED_PROXY/],
      [{ TRUSTED_PROXY: '17' }, /TRUSTED_PROXY/],
      [{ TRUSTED_PROXY: 'proxy.example.com' }, /TRUSTED_PROXY: must be a number of proxy hops/],
      [{ TRUSTED_PROXY: '10.0.0.0/33' }, /TRUSTED_PROXY/],
      [{ TRUSTED_PROXY: '10.0.0.1,' }, /TRUSTED_PROXY/],
      [{ TRUSTED_PROXY: '::1/129' }, /TRUSTED_PROXY/],
      [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: must be one of debug, info, warn, error, silent/],
      [{ DRAIN_MS: '-1' }, /DRAIN_MS/],
      [{ DRAIN_MS: '600001' }, /DRAIN_MS: must be at most 600000/],
      [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN: must be at least 16 characters/],
      [{ METRICS_TOKEN: 'has spaces in it, sixteen+' }, /METRICS_TOKEN: must be printable ASCII/],
      [{ METRICS_PORT: '65536' }, /METRICS_PORT: must be at most 65535/],
      [{ METRICS_PORT: '8787' }, /METRICS_PORT: must differ from PORT/],
      [{ PORT: '9100', METRICS_PORT: '9100' }, /METRICS_PORT: must differ from PORT/],
      [{ METRICS_HOST: '0.0.0.0' }, /METRICS_HOST: has no effect without METRICS_PORT/],
      [{ REDIS_URL: 'http://127.0.0.1:6379' }, /REDIS_URL: must be a redis:\/\/ or rediss:\/\//],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, JSON.stringify(env));
          assert.match(err.message, message, JSON.stringify(env));
          return true;
        },
      );
    }
  });

  test('REDIS_URL without TOKEN_SECRET is refused in one line', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(
          err.message,
          'Invalid configuration:\n  TOKEN_SECRET: must be set when REDIS_URL is (every process must verify the room tokens the others sign)',
        );
        return true;
      },
    );
    const shared = loadConfig({
      REDIS_URL: 'rediss://r.example:6380',
      TOKEN_SECRET: 's'.repeat(32),
    });
    assert.equal(shared.redisUrl, 'rediss://r.example:6380');
    assert.equal(loadConfig({}).redisUrl, null);
  });

  test('every problem is reported at once, one line each', () => {
    let message = '';
    try {
      loadConfig({
        PORT: 'x',
        LOG_LEVEL: 'y',
        // Two bad origins and two bad proxies are one line each.
        ALLOWED_ORIGINS: 'a.example, b.example',
        TRUSTED_PROXY: 'p.example, q.example',
        // Checks between variables run beside the checks of single ones...
        ROOM_GRACE_MS: '5000',
        ROOM_MAX_AGE_MS: '4000',
        MAX_HTTP_BUFFER_SIZE: '8192',
        // ...and not when one of the two is bad itself.
        METRICS_PORT: 'none',
        METRICS_HOST: '0.0.0.0',
      });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      message = err.message;
    }
    const lines = message.split('\n');
    assert.equal(lines[0], 'Invalid configuration:');
    assert.deepEqual(
      lines
        .slice(1)
        .map((line) => line.trim().split(':')[0])
        .sort(),
      [
        'ALLOWED_ORIGINS',
        'LOG_LEVEL',
        'MAX_HTTP_BUFFER_SIZE',
        'METRICS_PORT',
        'PORT',
        'ROOM_GRACE_MS',
        'TRUSTED_PROXY',
      ],
    );
  });
});

describe('requestAllowed', () => {
  const list = { allowedOrigins: ['https://a.example'] };

  test('any origin passes with "*"', () => {
    assert.equal(requestAllowed({ allowedOrigins: '*' }, 'https://z.example'), true);
  });

  test('a list admits its origins and requests without an origin, nothing else', () => {
    assert.equal(requestAllowed(list, 'https://a.example'), true);
    assert.equal(requestAllowed(list, undefined), true);
    assert.equal(requestAllowed(list, 'https://b.example'), false);
    assert.equal(requestAllowed(list, 'https://a.example.evil'), false);
    assert.equal(requestAllowed(list, 'null'), false);
  });
});
