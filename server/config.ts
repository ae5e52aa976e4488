/**
 * The service's configuration: environment variables parsed and validated once at start-up, so a
 * typo fails loudly before the port opens instead of misbehaving later. Nothing else in the
 * service reads `process.env`. Each variable's own check is in ./config/env.ts; here are the
 * `Config` they make, its defaults and the checks between variables.
 */
import * as v from 'valibot';
import { LIMITS, type IceConfig } from '../protocol/index.js';
import { EnvSchema, LOG_LEVELS, type Env } from './config/env.js';

export { LOG_LEVELS };
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  port: number;
  host: string;
  /** How long a room lives once its sharer's socket is gone (or if the sharer never joins). */
  roomGraceMs: number;
  /** Hard upper bound on a room's life, sharer online or not. */
  roomMaxAgeMs: number;
  /** How often expired rooms are swept and their sockets told. */
  sweepIntervalMs: number;
  maxSocketsPerRoom: number;
  /** Most recipient sockets one client address holds in one room (the sharer is not counted). */
  maxSocketsPerAddressPerRoom: number;
  /** Most recipients one seed (the sharer or a recipient that has pieces) serves at once. */
  swarmCapacity: number;
  /** Most sources one recipient is assigned at once. */
  swarmMaxSources: number;
  /** How long an assignment holds a seed's slot unless the recipient shows a link opened. */
  swarmLeaseMs: number;
  /** Swarm events (sources, seed, release, report) one room takes per second, all members. */
  swarmEventsPerRoomPerSecond: number;
  iceServers: IceConfig['iceServers'];
  /** TURN servers whose credentials `GET /ice` mints for room members; empty: none. */
  turnUrls: string[];
  /** coturn's `static-auth-secret` (`use-auth-secret`), which signs those credentials. */
  turnSecret: string | null;
  /** How long a minted TURN credential is valid, in seconds. */
  turnTtlSeconds: number;
  /** Whether widgets connect only through a relay (`iceTransportPolicy: 'relay'`). */
  relayOnly: boolean;
  /** `GET /ice` requests one client address may make per window. */
  iceRequestsPerAddress: number;
  /** `'*'` or the exact origins (scheme://host[:port]) whose pages may use the service. */
  allowedOrigins: '*' | string[];
  /** Socket.IO's per-message cap in bytes. */
  maxHttpBufferSize: number;
  /** Longest sealed metadata blob a room may store (at most `LIMITS.sealedMetaChars`). */
  maxMetaChars: number;
  /** Longest sealed envelope a socket may relay (at most `LIMITS.envelopeChars`). */
  maxEnvelopeChars: number;
  /** Token bucket per socket: sustained messages per second... */
  socketMessagesPerSecond: number;
  /** ...and how many may come at once. A socket that keeps going past it is disconnected. */
  socketMessageBurst: number;
  /** The window of the per-address and per-room counters below. */
  rateWindowMs: number;
  /** Rooms one client address may create per window. */
  roomsPerAddress: number;
  /** Rooms created by one client address that may exist at once (stopped or expired ones free). */
  liveRoomsPerAddress: number;
  /** Socket.IO connections one client address may hold open at once. */
  socketsPerAddress: number;
  /** Socket.IO connections one client address may open per window. */
  connectionsPerAddress: number;
  /** Token bucket per client address, over all its sockets: sustained messages per second... */
  addressMessagesPerSecond: number;
  /** ...and how many may come at once. Reconnecting does not refill it. */
  addressMessageBurst: number;
  /** Password tries one client address may make per window, over all rooms. */
  passwordTriesPerAddress: number;
  /** Password tries one room accepts per window, from all addresses together. */
  passwordTriesPerRoom: number;
  /** How long a room token (proof of the password) stays valid. */
  roomTokenTtlMs: number;
  /** Signs room tokens; null means a random secret per process (tokens die with it). */
  tokenSecret: string | null;
  /**
   * The Redis that several processes share (rooms, swarms, limits and Socket.IO's messages
   * between processes); null keeps everything in this process. Requires `tokenSecret`: a token one process signs must verify on the others.
   */
  redisUrl: string | null;
  /**
   * Whose `X-Forwarded-For` to believe: null (nobody: the client is the connection's peer), a
   * number of proxy hops in front of the service (safe only when nothing reaches the port but
   * those proxies), or the proxies' addresses and subnets.
   */
  trustedProxy: null | { hops: number } | { addresses: string[] };
  logLevel: LogLevel;
  /**
   * How long a shutdown (SIGTERM) may take: new requests and connections are refused, connected
   * widgets are told to reconnect elsewhere, then the process exits.
   */
  drainMs: number;
  /** With it, `GET /metrics` on the service's port answers requests that bear it. */
  metricsToken: string | null;
  /** With it, a second listener on this port serves `GET /metrics` only, to anyone reaching it. */
  metricsPort: number | null;
  /** Where that listener binds. */
  metricsHost: string;
}

export const defaultConfig: Readonly<Config> = Object.freeze({
  port: 8787,
  host: '0.0.0.0',
  roomGraceMs: 5 * 60_000,
  roomMaxAgeMs: 24 * 60 * 60_000,
  sweepIntervalMs: 30_000,
  maxSocketsPerRoom: 64,
  maxSocketsPerAddressPerRoom: 8,
  swarmCapacity: 4,
  swarmMaxSources: 4,
  swarmLeaseMs: 30_000,
  swarmEventsPerRoomPerSecond: 200,
  iceServers: [],
  turnUrls: [],
  turnSecret: null,
  turnTtlSeconds: 3600,
  relayOnly: false,
  iceRequestsPerAddress: 60,
  allowedOrigins: '*',
  maxHttpBufferSize: 64 * 1024,
  maxMetaChars: LIMITS.sealedMetaChars,
  maxEnvelopeChars: LIMITS.envelopeChars,
  socketMessagesPerSecond: 100,
  socketMessageBurst: 400,
  rateWindowMs: 60_000,
  roomsPerAddress: 30,
  liveRoomsPerAddress: 20,
  socketsPerAddress: 50,
  connectionsPerAddress: 60,
  addressMessagesPerSecond: 200,
  addressMessageBurst: 1000,
  passwordTriesPerAddress: 5,
  passwordTriesPerRoom: 5,
  roomTokenTtlMs: 10 * 60_000,
  tokenSecret: null,
  trustedProxy: null,
  logLevel: 'info',
  drainMs: 10_000,
  metricsToken: null,
  metricsPort: null,
  metricsHost: '127.0.0.1',
  redisUrl: null,
});

/** What a Socket.IO message carries besides the envelope itself (event name, JSON, peer id). */
export const ENVELOPE_OVERHEAD_BYTES = 1024;

/** Thrown by `loadConfig`; the message names every variable that was wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the configuration from an environment (variables that are unset or empty take their
 * defaults). Throws `ConfigError` describing each bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Each variable is checked on its own, so every bad one is reported, one line each, together
  // with the checks between variables that are themselves well formed.
  const problems: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(EnvSchema.entries)) {
    const value = env[key];
    if (value === undefined || value.trim() === '') continue;
    const result = v.safeParse(schema, value);
    if (result.success) parsed[key] = result.output;
    else problems.push(`${key}: ${[...new Set(result.issues.map((i) => i.message))].join('; ')}`);
  }
  const e = parsed as Env;
  const config: Config = {
    port: e.PORT ?? defaultConfig.port,
    host: e.HOST ?? defaultConfig.host,
    roomGraceMs: e.ROOM_GRACE_MS ?? defaultConfig.roomGraceMs,
    roomMaxAgeMs: e.ROOM_MAX_AGE_MS ?? defaultConfig.roomMaxAgeMs,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS ?? defaultConfig.sweepIntervalMs,
    maxSocketsPerRoom: e.MAX_SOCKETS_PER_ROOM ?? defaultConfig.maxSocketsPerRoom,
    maxSocketsPerAddressPerRoom:
      e.MAX_SOCKETS_PER_ADDRESS_PER_ROOM ?? defaultConfig.maxSocketsPerAddressPerRoom,
    swarmCapacity: e.SWARM_CAPACITY ?? defaultConfig.swarmCapacity,
    swarmMaxSources: e.SWARM_MAX_SOURCES ?? defaultConfig.swarmMaxSources,
    swarmLeaseMs: e.SWARM_LEASE_MS ?? defaultConfig.swarmLeaseMs,
    swarmEventsPerRoomPerSecond:
      e.SWARM_EVENTS_PER_ROOM_PER_SECOND ?? defaultConfig.swarmEventsPerRoomPerSecond,
    iceServers: e.ICE_SERVERS ?? [...defaultConfig.iceServers],
    turnUrls: e.TURN_URLS ?? [...defaultConfig.turnUrls],
    turnSecret: e.TURN_SECRET ?? defaultConfig.turnSecret,
    turnTtlSeconds: e.TURN_TTL ?? defaultConfig.turnTtlSeconds,
    relayOnly: e.RELAY_ONLY ?? defaultConfig.relayOnly,
    iceRequestsPerAddress: e.ICE_REQUESTS_PER_ADDRESS ?? defaultConfig.iceRequestsPerAddress,
    allowedOrigins: e.ALLOWED_ORIGINS ?? defaultConfig.allowedOrigins,
    maxHttpBufferSize: e.MAX_HTTP_BUFFER_SIZE ?? defaultConfig.maxHttpBufferSize,
    maxMetaChars: e.MAX_META_CHARS ?? defaultConfig.maxMetaChars,
    maxEnvelopeChars: e.MAX_ENVELOPE_CHARS ?? defaultConfig.maxEnvelopeChars,
    socketMessagesPerSecond: e.SOCKET_MESSAGES_PER_SECOND ?? defaultConfig.socketMessagesPerSecond,
    socketMessageBurst: e.SOCKET_MESSAGE_BURST ?? defaultConfig.socketMessageBurst,
    rateWindowMs: e.RATE_WINDOW_MS ?? defaultConfig.rateWindowMs,
    roomsPerAddress: e.ROOMS_PER_ADDRESS ?? defaultConfig.roomsPerAddress,
    liveRoomsPerAddress: e.LIVE_ROOMS_PER_ADDRESS ?? defaultConfig.liveRoomsPerAddress,
    socketsPerAddress: e.SOCKETS_PER_ADDRESS ?? defaultConfig.socketsPerAddress,
    connectionsPerAddress: e.CONNECTIONS_PER_ADDRESS ?? defaultConfig.connectionsPerAddress,
    addressMessagesPerSecond:
      e.ADDRESS_MESSAGES_PER_SECOND ?? defaultConfig.addressMessagesPerSecond,
    addressMessageBurst: e.ADDRESS_MESSAGE_BURST ?? defaultConfig.addressMessageBurst,
    passwordTriesPerAddress: e.PASSWORD_TRIES_PER_ADDRESS ?? defaultConfig.passwordTriesPerAddress,
    passwordTriesPerRoom: e.PASSWORD_TRIES_PER_ROOM ?? defaultConfig.passwordTriesPerRoom,
    roomTokenTtlMs: e.ROOM_TOKEN_TTL_MS ?? defaultConfig.roomTokenTtlMs,
    tokenSecret: e.TOKEN_SECRET ?? defaultConfig.tokenSecret,
    trustedProxy: e.TRUSTED_PROXY ?? defaultConfig.trustedProxy,
    logLevel: e.LOG_LEVEL ?? defaultConfig.logLevel,
    drainMs: e.DRAIN_MS ?? defaultConfig.drainMs,
    metricsToken: e.METRICS_TOKEN ?? defaultConfig.metricsToken,
    metricsPort: e.METRICS_PORT ?? defaultConfig.metricsPort,
    metricsHost: e.METRICS_HOST ?? defaultConfig.metricsHost,
    redisUrl: e.REDIS_URL ?? defaultConfig.redisUrl,
  };
  // A check between variables is skipped when one of them is bad: its line says enough.
  const good = (...keys: (keyof Env)[]) =>
    keys.every((key) => !problems.some((p) => p.startsWith(`${key}:`)));
  if (config.roomGraceMs > config.roomMaxAgeMs && good('ROOM_GRACE_MS', 'ROOM_MAX_AGE_MS')) {
    problems.push('ROOM_GRACE_MS: must not exceed ROOM_MAX_AGE_MS');
  }
  if (
    config.maxHttpBufferSize < config.maxEnvelopeChars + ENVELOPE_OVERHEAD_BYTES &&
    good('MAX_HTTP_BUFFER_SIZE', 'MAX_ENVELOPE_CHARS')
  ) {
    // Otherwise an envelope the service accepts could not arrive: the transport would drop the
    // socket instead of the handler refusing the envelope with a clear error.
    problems.push(
      `MAX_HTTP_BUFFER_SIZE: must be at least MAX_ENVELOPE_CHARS + ${ENVELOPE_OVERHEAD_BYTES} (${config.maxEnvelopeChars + ENVELOPE_OVERHEAD_BYTES})`,
    );
  }
  if (
    config.metricsPort !== null &&
    config.metricsPort !== 0 &&
    config.metricsPort === config.port &&
    good('PORT')
  ) {
    problems.push('METRICS_PORT: must differ from PORT (it is a listener of its own)');
  }
  if (e.METRICS_HOST !== undefined && config.metricsPort === null && good('METRICS_PORT')) {
    problems.push('METRICS_HOST: has no effect without METRICS_PORT');
  }
  if (
    config.redisUrl !== null &&
    config.tokenSecret === null &&
    good('REDIS_URL', 'TOKEN_SECRET')
  ) {
    // Each process would sign with its own random secret, and a room token issued by one would
    // be refused by the next process the balancer picks.
    problems.push(
      'TOKEN_SECRET: must be set when REDIS_URL is (every process must verify the room tokens the others sign)',
    );
  }
  if (config.turnUrls.length > 0 && config.turnSecret === null) {
    problems.push('TURN_URLS: needs TURN_SECRET (the static-auth-secret of the TURN servers)');
  }
  if (config.turnSecret !== null && config.turnUrls.length === 0) {
    problems.push('TURN_SECRET: needs TURN_URLS (the TURN servers it signs credentials for)');
  }
  const anyTurn =
    config.turnUrls.length > 0 ||
    config.iceServers.some(({ urls }) => [urls].flat().some((url) => /^turns?:/.test(url)));
  if (config.relayOnly && !anyTurn) {
    // Relay-only without a relay makes no connection at all.
    problems.push('RELAY_ONLY: needs a TURN server (TURN_URLS, or a turn: URL in ICE_SERVERS)');
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  return config;
}

/**
 * True when a request may use the service: it names no `Origin` (so it does not come from a
 * browser page), or its origin is one of `ALLOWED_ORIGINS`. The `Host` header plays no part: a
 * DNS-rebinding page sends a Host equal to its own origin, so "same as Host" proves nothing.
 */
export function requestAllowed(
  { allowedOrigins }: Pick<Config, 'allowedOrigins'>,
  origin: string | undefined,
): boolean {
  return allowedOrigins === '*' || origin === undefined || allowedOrigins.includes(origin);
}
