/**
 * The contract between the transfer engine (plain TypeScript, no Lit) and the element. A
 * ShareSession runs the sharer's side of one room; a ReceiveSession a recipient's. Both are
 * EventTargets that fire `statechange` (no detail: read `.state`), `progress` and `error`
 * (CustomEvents), and never touch the DOM. Failures are data (`ErrorData`: a code and its
 * parameters); the element words them.
 */
import type { MediaInfo } from '../../protocol/media.js';
import type { ErrorData } from '../errors.js';

export interface FileInfo {
  name: string;
  size: number;
  type: string;
  /** The media container its first bytes show (see src/media/sniff.ts); absent for others. */
  media?: MediaInfo;
}

export type PeerStatus = 'connecting' | 'transferring' | 'done' | 'failed';

/** One recipient as the sharer sees it. */
export interface PeerView {
  peerId: string;
  status: PeerStatus;
  /** Bytes of the file this peer has confirmed (verified on its side). */
  bytes: number;
  total: number;
  /** Bytes per second over the last few seconds. */
  speed: number;
  /** Whether the connection runs through a TURN relay; unknown until it opened. */
  relayed?: boolean;
  error?: ErrorData;
}

/** The room's swarm as the service counts it (see `SwarmStats` in the protocol). */
export interface SwarmView {
  /** Browsers serving the file: the sharer while online and recipients that keep sharing. */
  seeds: number;
  /** Recipients fetching right now. */
  downloading: number;
  /** Recipients waiting for a free source. */
  queued: number;
  /** Recipients that have the whole file, since the share began. */
  finished: number;
}

/** A finished recipient's sharing with later recipients, as its widget shows it. */
export interface SeedingView {
  /** Whether this browser serves the file to others (the user's toggle). */
  on: boolean;
  /** Recipients it serves right now. */
  serving: number;
  /** Bytes it uploaded to others. */
  uploaded: number;
}

export type ShareState =
  | { phase: 'idle' }
  | { phase: 'preparing'; file: FileInfo; hashed: number }
  | {
      phase: 'sharing';
      file: FileInfo;
      link: string;
      peers: PeerView[];
      /** Bytes this browser uploaded to every recipient together. */
      uploaded: number;
      /** Null until the service first reports the swarm. */
      swarm: SwarmView | null;
      /** The service is briefly unavailable (see `ServiceStatus`); links open keep working. */
      unavailable?: boolean;
    }
  | { phase: 'stopped'; file: FileInfo }
  | { phase: 'error'; file?: FileInfo; error: ErrorData };

export type ReceivePhase =
  'loading' | 'ready' | 'connecting' | 'queued' | 'downloading' | 'saving' | 'done' | 'error';

export type ReceiveState = (
  | { phase: 'loading' }
  /** A password room: nothing about the file is known until `unlock()` succeeds. */
  | { phase: 'locked'; error?: ErrorData }
  | { phase: 'ready'; file: FileInfo }
  | { phase: 'connecting'; file: FileInfo; bytes: number }
  /** Every source is busy: waiting in the room's queue at `position` (1 = next). */
  | { phase: 'queued'; file: FileInfo; bytes: number; position: number }
  | {
      phase: 'downloading';
      file: FileInfo;
      bytes: number;
      /** Bytes per second over the last few seconds. */
      speed: number;
      /** Seconds left at the current speed; null until known. */
      eta: number | null;
      /** Browsers it is fetching from right now. */
      sources: number;
      /** Whether those connections run through a TURN relay (all of them); unknown at first. */
      relayed?: boolean;
    }
  | { phase: 'saving'; file: FileInfo }
  | { phase: 'done'; file: FileInfo; sha256: string; seeding: SeedingView }
  | {
      phase: 'error';
      file?: FileInfo;
      error: ErrorData;
      /** Whether `download()` may be called again (it fetches only the missing pieces). */
      retryable: boolean;
      bytes: number;
    }
) & {
  /**
   * The service is briefly unavailable (see `ServiceStatus`): the download asks it again once it
   * is back, and transfers under way go on.
   */
  unavailable?: boolean;
};

export interface ProgressDetail {
  bytes: number;
  total: number;
  /** The peer the bytes moved to or from. */
  peer: string;
}

export interface CompleteDetail {
  /** The name the file was saved under and the widget shows (see `sanitizeFileName`). */
  name: string;
  /**
   * The name as the sharer sent it: untrusted, and may hold bidirectional and control
   * characters. Show `name`, not this.
   */
  originalName: string;
  size: number;
  /** Lowercase hex SHA-256 of the whole file. */
  sha256: string;
}

export interface SessionOptions {
  /** Base URL of the signalling service, e.g. `https://share.example/`. */
  server: string;
  /** Most bytes per second this browser uploads to all peers together; 0 or absent: no limit. */
  uploadLimit?: number;
  /** Connect only through a TURN relay (`iceTransportPolicy: 'relay'`), whatever the service says. */
  relayOnly?: boolean;
}

export interface ShareOptions {
  /** Recipients must give it; it also enters the keys that seal everything for this share. */
  password?: string;
}

export interface ShareSessionApi extends EventTarget {
  readonly state: ShareState;
  /** Hashes the file, creates the room and starts serving; resolves to the link. */
  share(file: File, page: string, options?: ShareOptions): Promise<string>;
  /** Stops serving, closes every connection and deletes the room. */
  stop(): Promise<void>;
  /** Releases everything without waiting (element removed from the page). */
  dispose(): void;
}

export interface ReceiveSessionApi extends EventTarget {
  readonly state: ReceiveState;
  /**
   * Fetches and opens the room metadata over REST (no Socket.IO yet). Resolves to null for a
   * password room: state `locked` until `unlock()`.
   */
  load(): Promise<FileInfo | null>;
  /** Gives a password room its password; rejects with `bad-password` or `rate-limited`. */
  unlock(password: string): Promise<FileInfo>;
  /** Joins, connects, downloads, verifies and saves; resolves once the file is saved. */
  download(): Promise<CompleteDetail>;
  /** Stops the transfer; keeps what arrived so `download()` can resume. */
  cancel(): void;
  /**
   * Whether this browser, once it has the file, serves it to later recipients (the default is
   * the session option `seed`). Turning it off closes the connections it serves.
   */
  setSeeding(on: boolean): void;
  dispose(): void;
}
