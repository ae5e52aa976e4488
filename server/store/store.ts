/**
 * Room state behind one asynchronous interface, so the in-memory store (the default) and a Redis
 * store (for several processes) are interchangeable and pass the same test suite. The store knows
 * rooms, their members and who exchanged envelopes with whom; it knows nothing of sockets.
 */

export type Role = 'sharer' | 'recipient';

export interface RoomRecord {
  /** 128-bit random, base64url: what the link names. */
  id: string;
  /** 256-bit random, base64url: proves the sharer when it joins or stops sharing. */
  sharerToken: string;
  /** The file metadata sealed with the link key; opaque to the service. */
  meta: string;
  /**
   * For a password room, the slow salted hash of its `passwordAuth` (see server/password.ts);
   * null when anyone with the link may join.
   */
  passwordHash: string | null;
  createdAt: number;
  /**
   * When the room dies: `createdAt + maxAge` while the sharer is online, otherwise the grace
   * period after the sharer left (or after creation, if it never joined), never past max age.
   */
  expiresAt: number;
  /** The sharer's peer id while its socket is connected, else null. */
  sharerPeerId: string | null;
}

export interface Member {
  peerId: string;
  role: Role;
}

export type AddMemberResult = 'ok' | 'room-not-found' | 'full';

export interface RoomStoreOptions {
  roomGraceMs: number;
  roomMaxAgeMs: number;
  /** The clock, injectable so expiry can be tested without waiting. */
  now?: () => number;
}

/**
 * Every method treats an expired room as absent, even before `sweep` has removed it. Methods on
 * an absent room are no-ops that report absence; none throws for it.
 */
export interface RoomStore {
  /** Creates a room with fresh random id and sharer token. */
  createRoom(meta: string, options?: { passwordHash?: string }): Promise<RoomRecord>;
  getRoom(roomId: string): Promise<RoomRecord | null>;
  /** Removes a room with its members; false when there was none. */
  deleteRoom(roomId: string): Promise<boolean>;
  /** The sharer's socket joined: the room now lives until its maximum age. */
  setSharerOnline(roomId: string, peerId: string): Promise<boolean>;
  /** The sharer's socket left: the grace period starts. Ignored unless `peerId` is the sharer. */
  setSharerOffline(roomId: string, peerId: string): Promise<void>;
  /** Adds a member unless the room already holds `limit` members (atomic, for scale-out). */
  addMember(roomId: string, member: Member, limit: number): Promise<AddMemberResult>;
  getMember(roomId: string, peerId: string): Promise<Member | null>;
  listMembers(roomId: string): Promise<Member[]>;
  /** Removes a member and returns its partners (the peers to tell it left). */
  removeMember(roomId: string, peerId: string): Promise<string[]>;
  /** Records that two members exchanged envelopes, so each hears when the other leaves. */
  addPartners(roomId: string, a: string, b: string): Promise<void>;
  /** Removes expired rooms and returns their ids, so their sockets can be told. */
  sweep(): Promise<string[]>;
  countRooms(): Promise<number>;
  close(): Promise<void>;
}
