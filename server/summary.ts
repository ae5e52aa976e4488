/**
 * The start-up lines that say what is in force: where the service listens, which origins and
 * proxies it trusts, and every limit. Secrets are never printed, only where they come from.
 */
import type { Config } from './config.js';

export function startupSummary(config: Config, url: string): string[] {
  const minutes = (ms: number) => `${Math.round((ms / 60_000) * 100) / 100} min`;
  const seconds = (ms: number) => `${Math.round((ms / 1000) * 100) / 100} s`;
  const window = seconds(config.rateWindowMs);
  const proxy = config.trustedProxy;
  return [
    `p2p-share service on ${url} (demo at /, widget at /p2p-share.js)`,
    `  origins allowed: ${config.allowedOrigins === '*' ? 'any (*)' : config.allowedOrigins.join(', ')}`,
    `  client address: ${
      proxy === null
        ? 'the connection (X-Forwarded-For ignored; set TRUSTED_PROXY behind a reverse proxy)'
        : 'hops' in proxy
          ? `X-Forwarded-For behind ${proxy.hops} trusted proxy hop${proxy.hops === 1 ? '' : 's'} ` +
            '(safe only if nothing else reaches this port)'
          : `X-Forwarded-For from trusted proxies ${proxy.addresses.join(', ')}`
    }`,
    `  rooms: ${minutes(config.roomGraceMs)} grace after the sharer leaves, ${minutes(config.roomMaxAgeMs)} at most`,
    `  limits: ${config.maxSocketsPerRoom} sockets per room, ${config.maxHttpBufferSize} bytes per message, ` +
      `${config.maxMetaChars} metadata characters, ${config.maxEnvelopeChars} envelope characters`,
    `  rates: ${config.socketMessagesPerSecond} messages/s per socket (burst ${config.socketMessageBurst}), ` +
      `${config.roomsPerAddress} rooms per address per ${window}`,
    `  per address: ${config.socketsPerAddress} sockets open, ${config.connectionsPerAddress} connections per ${window}, ` +
      `${config.addressMessagesPerSecond} messages/s over all its sockets (burst ${config.addressMessageBurst}), ` +
      `${config.liveRoomsPerAddress} live rooms`,
    `  passwords: ${config.passwordTriesPerAddress} tries per address and ${config.passwordTriesPerRoom} per room per ${window}, ` +
      `tokens valid ${minutes(config.roomTokenTtlMs)}, signed with ${
        config.tokenSecret === null ? 'a random per-process secret' : 'TOKEN_SECRET'
      }`,
    `  ICE servers: ${config.iceServers.length}, TURN: ${
      config.turnUrls.length === 0
        ? 'none minted'
        : `${config.turnUrls.join(', ')} (credentials valid ${config.turnTtlSeconds} s, ` +
          `${config.iceRequestsPerAddress} requests per address per ${window})`
    }, relay only: ${config.relayOnly ? 'yes' : 'no'}, log level: ${config.logLevel}`,
  ];
}
