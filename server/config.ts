/**
 * The service's configuration: environment variables parsed and validated once at start-up, so a
 * typo fails loudly before the port opens instead of misbehaving later. Nothing else in the
 * service reads `process.env`.
 */
import * as v from 'valibot';
import { IceConfigSchema, type IceConfig } from '../src/protocol/index.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
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
  iceServers: IceConfig['iceServers'];
  /** `'*'` or the exact origins (scheme://host[:port]) whose pages may use the service. */
  allowedOrigins: '*' | string[];
  /** Socket.IO's per-message cap in bytes. */
  maxHttpBufferSize: number;
  logLevel: LogLevel;
}

export const defaultConfig: Readonly<Config> = Object.freeze({
  port: 8787,
  host: '0.0.0.0',
  roomGraceMs: 5 * 60_000,
  roomMaxAgeMs: 24 * 60 * 60_000,
  sweepIntervalMs: 30_000,
  maxSocketsPerRoom: 64,
  iceServers: [],
  allowedOrigins: '*',
  maxHttpBufferSize: 64 * 1024,
  logLevel: 'info',
});

/** Thrown by `loadConfig`; the message names every variable that was wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

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

const EnvSchema = v.object({
  PORT: v.optional(integer(0, 65535)),
  HOST: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'))),
  ROOM_GRACE_MS: v.optional(integer(1, 7 * DAY)),
  ROOM_MAX_AGE_MS: v.optional(integer(1, 30 * DAY)),
  SWEEP_INTERVAL_MS: v.optional(integer(10, DAY)),
  MAX_SOCKETS_PER_ROOM: v.optional(integer(2, 100_000)),
  ICE_SERVERS: v.optional(v.pipe(v.string(), json, IceConfigSchema.entries.iceServers)),
  ALLOWED_ORIGINS: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.transform((text) => (text === '*' ? text : text.split(',').map((s) => s.trim()))),
      v.union([v.literal('*'), v.pipe(v.array(origin), v.minLength(1))]),
    ),
  ),
  MAX_HTTP_BUFFER_SIZE: v.optional(integer(4096, 64 * 1024 * 1024)),
  LOG_LEVEL: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`)),
});

/**
 * Reads the configuration from an environment (variables that are unset or empty take their
 * defaults). Throws `ConfigError` describing each bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.entries)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') present[key] = value;
  }
  const result = v.safeParse(EnvSchema, present);
  if (!result.success) {
    const lines = result.issues.map((issue) => {
      const key = v.getDotPath(issue)?.split('.')[0] ?? 'environment';
      return `  ${key}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = result.output;
  const config: Config = {
    port: e.PORT ?? defaultConfig.port,
    host: e.HOST ?? defaultConfig.host,
    roomGraceMs: e.ROOM_GRACE_MS ?? defaultConfig.roomGraceMs,
    roomMaxAgeMs: e.ROOM_MAX_AGE_MS ?? defaultConfig.roomMaxAgeMs,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS ?? defaultConfig.sweepIntervalMs,
    maxSocketsPerRoom: e.MAX_SOCKETS_PER_ROOM ?? defaultConfig.maxSocketsPerRoom,
    iceServers: e.ICE_SERVERS ?? [...defaultConfig.iceServers],
    allowedOrigins: e.ALLOWED_ORIGINS ?? defaultConfig.allowedOrigins,
    maxHttpBufferSize: e.MAX_HTTP_BUFFER_SIZE ?? defaultConfig.maxHttpBufferSize,
    logLevel: e.LOG_LEVEL ?? defaultConfig.logLevel,
  };
  if (config.roomGraceMs > config.roomMaxAgeMs) {
    throw new ConfigError(
      'Invalid configuration:\n  ROOM_GRACE_MS: must not exceed ROOM_MAX_AGE_MS',
    );
  }
  return config;
}

/**
 * True when a request may use the service: it names no `Origin` (so it does not come from a
 * browser page), its origin is allowed, or it comes from the service's own pages (`host`).
 */
export function requestAllowed(
  { allowedOrigins }: Pick<Config, 'allowedOrigins'>,
  origin: string | undefined,
  host: string | undefined,
): boolean {
  if (allowedOrigins === '*' || origin === undefined || allowedOrigins.includes(origin)) {
    return true;
  }
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
