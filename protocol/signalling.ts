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
  retryAfterMs: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(7 * 24 * 3600 * 1000)),
  ),
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

/**
 * `PUT /rooms/:id`: the sharer restores its room after the service lost it (a restart of a
 * service that keeps rooms in memory), under the same id and so the same links. `sharerToken`
 * proves it: a room's id is derived from its sharer token, which only the sharer holds. The body
 * is the creation's (for a password room, the same `passwordAuth`) and meets the same limits. A
 * room that still lives is left as it is (`200`); a restored one is new (`201`). The reply is
 * `CreateRoomReply` either way; a token that does not name the room is `403 not-allowed`.
 */
export const RestoreRoomBodySchema = v.strictObject({
  ...CreateRoomBodySchema.entries,
  sharerToken: TokenSchema,
});
export type RestoreRoomBody = v.InferOutput<typeof RestoreRoomBodySchema>;

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

/**
 * `GET /ice`: the `RTCConfiguration` for every peer connection. TURN credentials (coturn's
 * `use-auth-secret` scheme: username `<expiry seconds>:<id>`, credential base64 HMAC-SHA1) are in
 * `iceServers` only for a request with `Authorization: Bearer <ice ticket>` from a member of a
 * room (the ticket comes with the join's acknowledgement); `ttl` then says for how many seconds
 * they hold. `iceTransportPolicy: 'relay'` is the service's relay-only default.
 */
export const IceConfigSchema = v.object({
  iceServers: v.array(
    v.object({
      urls: v.union([v.string(), v.array(v.string())]),
      username: v.optional(v.string()),
      credential: v.optional(v.string()),
    }),
  ),
  iceTransportPolicy: v.optional(v.picklist(['all', 'relay'])),
  ttl: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
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
  /** An ice ticket: `GET /ice` hands TURN credentials to its bearer while it is a member. */
  ice?: string;
}

/**
 * A recipient asks the service which peers to fetch from. The service assigns seeds from the
 * room's pool, least-loaded first, never past a seed's capacity and never more than `max` (nor
 * its own limit) at once, counting the sources already assigned to this recipient. A recipient
 * with no source at all and none free joins the room's FIFO queue instead: the reply carries
 * its position, `queue` events update it, and an `assigned` event names sources once a slot
 * frees. Nobody in the pool but the recipient itself and peers it excluded or reported is the
 * `no-sources` error (a queued recipient then leaves the queue).
 */
export const SourcesRequestSchema = v.strictObject({
  /** Peers the recipient already talks to or gave up on; the service will not repeat them. */
  exclude: v.optional(v.pipe(v.array(PeerIdSchema), v.maxLength(64))),
  /** Most sources wanted in total (assigned before plus new); the service may give fewer. */
  max: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16))),
});
export type SourcesRequest = v.InferOutput<typeof SourcesRequestSchema>;
export interface SourcesReply {
  /**
   * Sources to fetch from: those newly assigned, and any assigned before that the request did
   * not exclude, so a reply lost to a timeout costs nothing (the next request names them again).
   * Possibly none when the recipient already has some.
   */
  sources: string[];
  /** Set when the recipient was queued: its 1-based place in the room's queue. */
  position?: number;
}

/**
 * A member says what it holds and whether it serves others. A recipient that has pieces and
 * seeds joins the room's pool (with `have: 'all'` as a full seed, which is also how the service
 * counts finished recipients); `seeding: false` or `have: 'none'` takes it out. `have: 'all'`
 * also ends the sender's own assignments (no `release` needed). The sharer is in the pool from
 * its join and never needs to send this.
 */
export const SeedStatusSchema = v.strictObject({
  have: v.picklist(['none', 'some', 'all']),
  seeding: v.boolean(),
});
export type SeedStatus = v.InferOutput<typeof SeedStatusSchema>;

/** The recipient is done with a source (finished, or gave up on it): its slot frees. */
export const ReleaseSchema = v.strictObject({ peerId: PeerIdSchema });
export type Release = v.InferOutput<typeof ReleaseSchema>;

/**
 * What a recipient found of a source, or a seed of a peer that fetches from it. `good`: a piece
 * from the source passed verification (sent once per source, at the first one); together with
 * the source's `opened` it takes a recipient seed off probation, after which it ranks with the
 * sharer, keeps the room alive and counts as finished. `corrupt`: it sent what the manifest
 * refutes; `misbehaved`: it broke the piece protocol. Either ends the assignment and the source
 * is never assigned to the reporter again; a recipient seed reported as corrupt leaves the
 * room's pool for good. The sharer is never taken out of its own room. The sharer's or a seed's
 * words about a peer that fetches from it: `opened`, a link with it opened, which confirms the
 * assignment (it is not released at the connect timeout); `refused`, it kept failing to connect
 * or sent what does not open, so the reporter refuses it and is never assigned to it again.
 */
export const ReportSchema = v.strictObject({
  peerId: PeerIdSchema,
  reason: v.picklist(['good', 'corrupt', 'misbehaved', 'opened', 'refused']),
});
export type Report = v.InferOutput<typeof ReportSchema>;

/** Sources a queued (or under-served) recipient was given after a slot freed. */
export const AssignedSchema = v.object({
  sources: v.pipe(v.array(PeerIdSchema), v.maxLength(16)),
});
export type Assigned = v.InferOutput<typeof AssignedSchema>;

/** A queued recipient's new 1-based place in the queue. */
export const QueuePositionSchema = v.object({
  position: v.pipe(v.number(), v.integer(), v.minValue(1)),
});
export type QueuePosition = v.InferOutput<typeof QueuePositionSchema>;

/** The room's swarm as counts, sent to the room's members when it changes (coalesced). */
export const SwarmStatsSchema = v.object({
  /** Members in the pool, the sharer included while online. */
  seeds: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** Recipients with at least one assigned source. */
  downloading: v.pipe(v.number(), v.integer(), v.minValue(0)),
  queued: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /**
   * Recipients that reported the whole file (`have: 'all'`) and proved it (a verified piece
   * fetched from them, or one they fetched), since the room was made.
   */
  finished: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
export type SwarmStats = v.InferOutput<typeof SwarmStatsSchema>;

/** A sealed envelope on its way to exactly one peer of the sender's room. */
export const SignalOutSchema = v.strictObject({
  to: PeerIdSchema,
  envelope: b64url(LIMITS.envelopeChars),
});
export type SignalOut = v.InferOutput<typeof SignalOutSchema>;

/**
 * The service could not relay an envelope sent without an ack (as the widget sends them, so the
 * service writes one message per relay, not two): `to` is the addressee ('' if it was unreadable).
 */
export const SignalFailedSchema = v.object({
  to: v.union([PeerIdSchema, v.literal('')]),
  error: ErrorBodySchema,
});
export type SignalFailed = v.InferOutput<typeof SignalFailedSchema>;

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

/**
 * The service lost the state its processes share (Redis), so calls that need it fail with
 * `service-unavailable` for now (`retryAfterMs` says how soon to try again), or has it back.
 * Each process tells its own sockets when its connection goes and when it returns; what runs
 * peer to peer is not affected. A client that knows no such event simply ignores it.
 */
export const ServiceStatusSchema = v.object({
  available: v.boolean(),
  retryAfterMs: ErrorBodySchema.entries.retryAfterMs,
});
export type ServiceStatus = v.InferOutput<typeof ServiceStatusSchema>;

export interface ClientToServerEvents {
  join: (req: JoinRequest, ack: (res: Ack<JoinReply>) => void) => void;
  sources: (req: SourcesRequest, ack: (res: Ack<SourcesReply>) => void) => void;
  /** With an ack, every relay is answered; without, only a failure is (`signal-failed`). */
  signal: (msg: SignalOut, ack?: (res: Ack) => void) => void;
  seed: (status: SeedStatus, ack: (res: Ack) => void) => void;
  release: (msg: Release, ack: (res: Ack) => void) => void;
  report: (msg: Report, ack: (res: Ack) => void) => void;
}

export interface ServerToClientEvents {
  /** A sealed envelope from a peer of the same room. */
  signal: (msg: SignalIn) => void;
  /** An envelope this socket sent without an ack was not relayed. */
  'signal-failed': (msg: SignalFailed) => void;
  /** A peer this socket exchanged envelopes with has left the room. */
  'peer-left': (msg: PeerLeft) => void;
  /** The sharer stopped sharing or the room expired. */
  'room-closed': (msg: RoomClosed) => void;
  /** Sources for a recipient that was queued or asked for more than were free. */
  assigned: (msg: Assigned) => void;
  /** A queued recipient moved in the queue. */
  queue: (msg: QueuePosition) => void;
  /** The room's swarm changed. */
  swarm: (msg: SwarmStats) => void;
  /** The service lost its shared state (Redis) or has it back. */
  service: (msg: ServiceStatus) => void;
}

export function errorAck(
  code: ErrorBody['code'],
  message: string,
  params: Pick<ErrorBody, 'retryAfterMs'> = {},
): { ok: false; error: ErrorBody } {
  return { ok: false, error: { code, message, ...params } };
}
