/**
 * The signalling wire format: REST bodies and Socket.IO events, with the valibot schemas that
 * both the service and the widget validate against at runtime. Everything peer-to-peer that the
 * service relays is an opaque sealed envelope (see src/crypto/seal.ts); the service only routes.
 */
import * as v from 'valibot';
import { ERROR_CODES, type ErrorBody } from './errors.js';
import { ID_PATTERN, PEER_ID_PATTERN, TOKEN_PATTERN } from './ids.js';
import { PROTOCOL_VERSION } from './version.js';

/** Upper bounds that both sides agree on; the service may configure lower ones. */
export const LIMITS = {
  /** A sealed metadata blob (base64url characters). */
  sealedMetaChars: 8192,
  /** A sealed signalling envelope (base64url characters); SDP is a few KiB. */
  envelopeChars: 32768,
} as const;

const b64url = (max: number) =>
  v.pipe(v.string(), v.minLength(1), v.maxLength(max), v.regex(/^[A-Za-z0-9_-]+$/));

export const RoomIdSchema = v.pipe(v.string(), v.regex(ID_PATTERN));
export const PeerIdSchema = v.pipe(v.string(), v.regex(PEER_ID_PATTERN));
export const TokenSchema = v.pipe(v.string(), v.regex(TOKEN_PATTERN));

/**
 * A room token, proof that its holder gave a password room's password: `<expiry ms>.<MAC>`, signed
 * by the service for one room. The widget treats it as opaque and only hands it back.
 */
export const ROOM_TOKEN_PATTERN = /^[0-9]{1,16}\.[A-Za-z0-9_-]{43}$/;
export const RoomTokenSchema = v.pipe(v.string(), v.maxLength(60), v.regex(ROOM_TOKEN_PATTERN));

/**
 * What the widget sends instead of a password: `base64url(HKDF-SHA256(ikm = linkKey ‖ UTF-8
 * password, salt = 32 zero bytes, info = "p2p-share/v1/password-auth", 32 bytes))`. Without the
 * link key it tells nothing about the password, and the service never sees either.
 */
export const PasswordAuthSchema = TokenSchema;
export const VersionSchema = v.literal(PROTOCOL_VERSION);

export const ErrorBodySchema = v.object({
  code: v.picklist(ERROR_CODES),
  message: v.pipe(v.string(), v.maxLength(500)),
});

// ---- REST ------------------------------------------------------------------------------------

/** `POST /rooms` */
export const CreateRoomBodySchema = v.strictObject({
  v: VersionSchema,
  meta: b64url(LIMITS.sealedMetaChars),
  /** Makes this a password room: recipients need a room token (`POST /rooms/:id/password`). */
  passwordAuth: v.optional(PasswordAuthSchema),
});
export type CreateRoomBody = v.InferOutput<typeof CreateRoomBodySchema>;

/** `201` reply to `POST /rooms`. */
export const CreateRoomReplySchema = v.object({
  v: VersionSchema,
  roomId: RoomIdSchema,
  sharerToken: TokenSchema,
  expiresAt: v.number(),
});
export type CreateRoomReply = v.InferOutput<typeof CreateRoomReplySchema>;

/**
 * `200` reply to `GET /rooms/:id`. A password room leaves `meta` out unless the request carries
 * `Authorization: Bearer <room token>` with a valid token for that room.
 */
export const RoomInfoSchema = v.object({
  v: VersionSchema,
  roomId: RoomIdSchema,
  meta: v.optional(b64url(LIMITS.sealedMetaChars)),
  passwordRequired: v.boolean(),
  sharerOnline: v.boolean(),
  createdAt: v.number(),
  expiresAt: v.number(),
});
export type RoomInfo = v.InferOutput<typeof RoomInfoSchema>;

/**
 * `POST /rooms/:id/password`. Wrong: `403 bad-password`; too many tries (per room and per client
 * address): `429 rate-limited` with `Retry-After` in seconds.
 */
export const PasswordBodySchema = v.strictObject({
  v: VersionSchema,
  passwordAuth: PasswordAuthSchema,
});
export type PasswordBody = v.InferOutput<typeof PasswordBodySchema>;

/** `200` reply to `POST /rooms/:id/password`: a short-lived token for `GET` and `join`. */
export const PasswordReplySchema = v.object({
  token: RoomTokenSchema,
  expiresAt: v.number(),
});
export type PasswordReply = v.InferOutput<typeof PasswordReplySchema>;

/** `GET /ice`: ICE servers to use (TURN credentials arrive here later). */
export const IceConfigSchema = v.object({
  iceServers: v.array(
    v.object({
      urls: v.union([v.string(), v.array(v.string())]),
      username: v.optional(v.string()),
      credential: v.optional(v.string()),
    }),
  ),
});
export type IceConfig = v.InferOutput<typeof IceConfigSchema>;

/** Every non-2xx REST reply has this body. */
export const ErrorReplySchema = v.object({ error: ErrorBodySchema });
export type ErrorReply = v.InferOutput<typeof ErrorReplySchema>;

// ---- Socket.IO ---------------------------------------------------------------------------------

export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

export const JoinRequestSchema = v.strictObject({
  v: VersionSchema,
  roomId: RoomIdSchema,
  role: v.picklist(['sharer', 'recipient']),
  /** Required for role `sharer`: the token `POST /rooms` returned. */
  sharerToken: v.optional(TokenSchema),
  /** Required for a recipient of a password room: the token `POST /rooms/:id/password` gave. */
  token: v.optional(RoomTokenSchema),
});
export type JoinRequest = v.InferOutput<typeof JoinRequestSchema>;
export interface JoinReply {
  peerId: string;
}

/** A recipient asks the service which peers to fetch from. */
export const SourcesRequestSchema = v.strictObject({
  /** Peers the recipient already talks to or gave up on; the service will not repeat them. */
  exclude: v.optional(v.pipe(v.array(PeerIdSchema), v.maxLength(64))),
});
export type SourcesRequest = v.InferOutput<typeof SourcesRequestSchema>;
export interface SourcesReply {
  sources: string[];
}

/** A sealed envelope on its way to exactly one peer of the sender's room. */
export const SignalOutSchema = v.strictObject({
  to: PeerIdSchema,
  envelope: b64url(LIMITS.envelopeChars),
});
export type SignalOut = v.InferOutput<typeof SignalOutSchema>;

export const SignalInSchema = v.object({
  from: PeerIdSchema,
  envelope: b64url(LIMITS.envelopeChars),
});
export type SignalIn = v.InferOutput<typeof SignalInSchema>;

export const PeerLeftSchema = v.object({ peerId: PeerIdSchema });
export type PeerLeft = v.InferOutput<typeof PeerLeftSchema>;

export const RoomClosedSchema = v.object({
  reason: v.picklist(['stopped', 'expired']),
});
export type RoomClosed = v.InferOutput<typeof RoomClosedSchema>;

export interface ClientToServerEvents {
  join: (req: JoinRequest, ack: (res: Ack<JoinReply>) => void) => void;
  sources: (req: SourcesRequest, ack: (res: Ack<SourcesReply>) => void) => void;
  signal: (msg: SignalOut, ack: (res: Ack) => void) => void;
}

export interface ServerToClientEvents {
  /** A sealed envelope from a peer of the same room. */
  signal: (msg: SignalIn) => void;
  /** A peer this socket exchanged envelopes with has left the room. */
  'peer-left': (msg: PeerLeft) => void;
  /** The sharer stopped sharing or the room expired. */
  'room-closed': (msg: RoomClosed) => void;
}

export function errorAck(
  code: ErrorBody['code'],
  message: string,
): { ok: false; error: ErrorBody } {
  return { ok: false, error: { code, message } };
}
