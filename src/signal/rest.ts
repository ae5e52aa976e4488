/**
 * The service's REST API as the widget uses it: create, read and delete rooms, fetch ICE servers.
 * Replies are validated; network failures and error bodies become P2PErrors with the service's
 * code (and, for a rate limit, the wait), so the element can say what went wrong in its words.
 */
import * as v from 'valibot';
import { fromErrorBody, P2PError } from '../errors.js';
import {
  CreateRoomReplySchema,
  ErrorReplySchema,
  IceConfigSchema,
  PasswordReplySchema,
  RoomInfoSchema,
  type CreateRoomReply,
  type IceConfig,
  type PasswordReply,
  type RoomInfo,
} from '../../protocol/signalling.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';

export class RestClient {
  constructor(readonly server: string) {}

  /**
   * Creates a room; given `room`, one the service lost (it restarted), makes it again under the
   * same id (`PUT /rooms/:id`), or leaves it be if it lives.
   * @param passwordAuth makes it a password room (see `derivePasswordAuth`)
   */
  createRoom(
    meta: string,
    passwordAuth?: string,
    room?: CreateRoomReply,
  ): Promise<CreateRoomReply> {
    return this.call(room ? `rooms/${room.roomId}` : 'rooms', CreateRoomReplySchema, {
      method: room ? 'PUT' : 'POST',
      headers: { 'content-type': 'application/json' },
      // Absent values (no password, no room) drop out of the JSON.
      body: JSON.stringify({
        v: PROTOCOL_VERSION,
        meta,
        passwordAuth,
        sharerToken: room?.sharerToken,
      }),
    });
  }

  /** @param token a room token: a password room only returns its metadata with one */
  getRoom(roomId: string, token?: string): Promise<RoomInfo> {
    return this.call(`rooms/${encodeURIComponent(roomId)}`, RoomInfoSchema, {
      method: 'GET',
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
  }

  /** Trades a password proof for a short-lived room token. */
  unlock(roomId: string, passwordAuth: string): Promise<PasswordReply> {
    return this.call(`rooms/${encodeURIComponent(roomId)}/password`, PasswordReplySchema, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: PROTOCOL_VERSION, passwordAuth }),
    });
  }

  async deleteRoom(roomId: string, sharerToken: string): Promise<void> {
    await this.call(`rooms/${encodeURIComponent(roomId)}`, null, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${sharerToken}` },
    });
  }

  /** @param ticket the join's ice ticket: TURN credentials come only with one */
  getIce(ticket?: string): Promise<IceConfig> {
    return this.call('ice', IceConfigSchema, {
      method: 'GET',
      ...(ticket ? { headers: { authorization: `Bearer ${ticket}` } } : {}),
    });
  }

  private async call<S extends v.GenericSchema>(
    path: string,
    schema: S | null,
    init: RequestInit,
  ): Promise<v.InferOutput<S>> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.server), { ...init, mode: 'cors', credentials: 'omit' });
    } catch (cause) {
      throw new P2PError(
        'server-unreachable',
        { reason: 'unreachable', host: new URL(this.server).host },
        { cause },
      );
    }
    const body: unknown = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) {
      const parsed = v.safeParse(ErrorReplySchema, body);
      if (parsed.success) {
        const error = parsed.output.error;
        // The wait the body gives, else the one its Retry-After header gives.
        const retryAfterMs = error.retryAfterMs ?? retryAfter(res.headers.get('retry-after'));
        throw fromErrorBody(error.code === 'rate-limited' ? { ...error, retryAfterMs } : error);
      }
      // Not the service's own error body: something else answers at this address.
      throw new P2PError('server-unreachable', {
        reason: 'not-a-service',
        host: new URL(this.server).host,
        status: res.status,
      });
    }
    if (!schema) return undefined as v.InferOutput<S>;
    const parsed = v.safeParse(schema, body);
    if (!parsed.success) {
      throw new P2PError('protocol-mismatch', { reason: 'service' });
    }
    return parsed.output;
  }
}

/** A `Retry-After` header in milliseconds: seconds, or an HTTP date; undefined if neither. */
export function retryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(ms) : undefined;
}
