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

/** `200` reply to `GET /rooms/:id`. */
export const RoomInfoSchema = v.object({
  v: VersionSchema,
  roomId: RoomIdSchema,
  meta: b64url(LIMITS.sealedMetaChars),
  sharerOnline: v.boolean(),
  createdAt: v.number(),
  expiresAt: v.number(),
});
export type RoomInfo = v.InferOutput<typeof RoomInfoSchema>;

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
