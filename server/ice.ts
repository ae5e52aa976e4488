/**
 * `GET /ice`: the ICE configuration every widget uses, and TURN credentials for room members
 * only. Credentials follow coturn's `use-auth-secret` scheme (the TURN REST API): username
 * `<expiry unix seconds>:<id>`, credential base64(HMAC-SHA1(secret, username)), so coturn checks
 * them with the shared secret alone. A socket proves its membership with an ice ticket that its
 * join acknowledgement carries, signed by this service and bound to its room and peer id; the
 * store must still list it as a member when it asks.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { IceConfig } from '../protocol/index.js';
import type { Config } from './config.js';
import type { SharedLimits } from './budget.js';
import { tooManyRequests, unavailable } from './middleware.js';
import type { RoomStore } from './store/store.js';

/** A TURN credential in coturn's `use-auth-secret` scheme, valid until `expiresAt` (seconds). */
export function turnCredential(
  secret: string,
  expiresAt: number,
  id: string,
): { username: string; credential: string } {
  const username = `${expiresAt}:${id}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

export interface IceTicketOptions {
  /** The signing secret (`TOKEN_SECRET`); a random one, for this process only, when null. */
  secret: string | null;
  ttlMs: number;
  now?: () => number;
}

export interface IceTickets {
  issue(roomId: string, peerId: string): string;
  /** The room and peer of an unexpired ticket this service signed; null for anything else. */
  read(ticket: string | undefined): { roomId: string; peerId: string } | null;
}

/** `<room id>.<peer id>.<expiry ms>.<MAC>`, the MAC an HMAC-SHA256 over the other three. */
const TICKET = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{1,64})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/;

export function iceTickets({ secret, ttlMs, now = Date.now }: IceTicketOptions): IceTickets {
  const key = secret === null ? randomBytes(32) : Buffer.from(secret, 'utf8');
  const mac = (body: string) =>
    createHmac('sha256', key).update(`p2p-share/ice-ticket\0${body}`).digest('base64url');
  return {
    issue(roomId, peerId) {
      const body = `${roomId}.${peerId}.${now() + ttlMs}`;
      return `${body}.${mac(body)}`;
    },
    read(ticket) {
      const m = TICKET.exec(ticket ?? '');
      if (!m || Number(m[3]) <= now()) return null;
      const body = `${m[1]}.${m[2]}.${m[3]}`;
      const given = Buffer.from(m[4]!, 'utf8');
      const expected = Buffer.from(mac(body), 'utf8');
      if (!timingSafeEqual(given, expected)) return null;
      return { roomId: m[1]!, peerId: m[2]! };
    },
  };
}

export interface IceRouteOptions {
  config: Config;
  store: RoomStore;
  tickets: IceTickets;
  /** The rate-limit key of a request's client address. */
  client: (c: Context) => string;
  /** Where requests per address are counted (shared by every process with Redis). */
  limits: SharedLimits;
  now?: () => number;
}

/**
 * The route: everyone gets the static servers (`ICE_SERVERS`) and the relay-only default; the
 * bearer of a valid ticket whose peer is still in its room also gets fresh TURN credentials.
 * Every request counts against its client address, ticket or not.
 */
export function iceRoutes({
  config,
  store,
  tickets,
  client,
  limits,
  now = Date.now,
}: IceRouteOptions) {
  const limiter = limits.windows('ice', {
    limit: config.iceRequestsPerAddress,
    windowMs: config.rateWindowMs,
  });
  const routes = new Hono();
  routes.get('/', async (c) => {
    const verdict = await limiter.check(client(c)).catch(() => {
      throw unavailable();
    });
    if (!verdict.allowed) throw tooManyRequests('Too many ICE requests', verdict.retryAfterMs);
    const reply: IceConfig = { iceServers: [...config.iceServers] };
    if (config.relayOnly) reply.iceTransportPolicy = 'relay';
    const ticket = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    const holder = config.turnSecret === null ? null : tickets.read(ticket);
    if (holder && (await store.getMember(holder.roomId, holder.peerId))) {
      const expiresAt = Math.floor(now() / 1000) + config.turnTtlSeconds;
      const id = randomBytes(9).toString('base64url');
      reply.iceServers.push({
        urls: config.turnUrls,
        ...turnCredential(config.turnSecret!, expiresAt, id),
      });
      reply.ttl = config.turnTtlSeconds;
    }
    return c.json<IceConfig>(reply);
  });
  return routes;
}
