/**
 * A tiny structured logger: one JSON line per event. Its field type only admits numbers, booleans
 * and short tags, and callers pass event names, counts and room-id prefixes (`roomTag`) only:
 * never envelopes, metadata, tokens, SDP, ICE candidates or client addresses.
 */
import type { LogLevel } from './config.js';

export type LogFields = Record<string, number | boolean | string>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Longest string a field may carry; anything longer is cut so no blob can slip through whole. */
const MAX_FIELD_CHARS = 48;

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; standard output by default. */
  write?: (line: string) => void;
  now?: () => number;
}

export function createLogger({
  level,
  write = (line) => process.stdout.write(`${line}\n`),
  now = Date.now,
}: LoggerOptions): Logger {
  const threshold = RANK[level];
  const log = (lvl: Exclude<LogLevel, 'silent'>, event: string, fields?: LogFields) => {
    if (RANK[lvl] < threshold) return;
    const record: LogFields = { t: new Date(now()).toISOString(), level: lvl, event };
    for (const [key, value] of Object.entries(fields ?? {})) {
      record[key] = typeof value === 'string' ? value.slice(0, MAX_FIELD_CHARS) : value;
    }
    write(JSON.stringify(record));
  };
  return {
    debug: (event, fields) => log('debug', event, fields),
    info: (event, fields) => log('info', event, fields),
    warn: (event, fields) => log('warn', event, fields),
    error: (event, fields) => log('error', event, fields),
  };
}

/** A short, non-identifying prefix of a room id, enough to follow one room through the log. */
export function roomTag(roomId: string): string {
  return roomId.slice(0, 6);
}

/** The class of an error, never its message (messages can quote input). */
export function errorKind(err: unknown): string {
  if (err instanceof Error) return err.name;
  return typeof err;
}
