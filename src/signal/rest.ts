/**
 * The service's REST API as the widget uses it: create, read and delete rooms, fetch ICE servers.
 * Replies are validated; network failures and error bodies become P2PErrors with the service's
 * code, so the element can say what went wrong.
 */
import * as v from 'valibot';
import { P2PError } from '../errors.js';
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

  /** @param passwordAuth makes it a password room (see `derivePasswordAuth`) */
  createRoom(meta: string, passwordAuth?: string): Promise<CreateRoomReply> {
    return this.call('rooms', CreateRoomReplySchema, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        v: PROTOCOL_VERSION,
        meta,
        ...(passwordAuth ? { passwordAuth } : {}),
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

  getIce(): Promise<IceConfig> {
    return this.call('ice', IceConfigSchema, { method: 'GET' });
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
        `Could not reach the sharing service at ${new URL(this.server).host}. Check your connection and try again.`,
        { cause },
      );
    }
    const body: unknown = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) {
      const parsed = v.safeParse(ErrorReplySchema, body);
      if (parsed.success && parsed.output.error.code === 'rate-limited') {
        const wait = Number(res.headers.get('retry-after'));
        throw new P2PError(
          'rate-limited',
          Number.isFinite(wait) && wait > 0
            ? `Too many tries. Wait ${formatWait(wait)} and try again.`
            : parsed.output.error.message,
        );
      }
      if (parsed.success) throw new P2PError(parsed.output.error.code, parsed.output.error.message);
      // Not the service's own error body: something else answers at this address.
      throw new P2PError(
        'server-unreachable',
        `No sharing service answers at ${new URL(this.server).host} (HTTP ${res.status}). Check the widget's server address.`,
      );
    }
    if (!schema) return undefined as v.InferOutput<S>;
    const parsed = v.safeParse(schema, body);
    if (!parsed.success) {
      throw new P2PError(
        'protocol-mismatch',
        'The sharing service sent a reply this widget does not understand.',
      );
    }
    return parsed.output;
  }
}

function formatWait(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  return `${m} minutes`;
}
