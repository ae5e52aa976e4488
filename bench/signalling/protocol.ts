/**
 * What the signalling benchmark's parent and its load-generating processes say to each
 * other, and the shape of one exchange: the recipient's offer, the sharer's answer, then ICE
 * candidates both ways.
 */

/** Our service in one process, two of ours sharing one redis-server, or the `peer` server. */
export type TargetKind = 'ours' | 'ours-redis' | 'peer';

export interface WorkerJob {
  target: TargetKind;
  workerId: number;
  /**
   * http://127.0.0.1:<port> of each server process. Socket i of room r connects to
   * bases[(r + i) % bases.length], so with two processes a room spans both.
   */
  bases: string[];
  sockets: number;
  /** Sockets per room: one sharer and the rest recipients. */
  roomSize: number;
  /** Relayed messages per second this worker sends, summed over all its sockets. */
  rate: number;
  durationMs: number;
  /** Connections opened at once while connecting. */
  concurrency: number;
  /** Characters of an SDP (offer or answer) and of one ICE candidate, before any sealing. */
  sdpChars: number;
  candidateChars: number;
  /** ICE candidates each side trickles per exchange. */
  candidates: number;
  /** PeerJS clients send a HEARTBEAT this often (PeerJS's default pingInterval). */
  heartbeatMs: number;
}

/**
 * `go` starts the exchanges (the warm-up), `measure` starts the measured part, which lasts
 * `durationMs`; `close` closes every socket.
 */
export type ToWorker = { type: 'go' } | { type: 'measure' } | { type: 'close' };

export interface ConnectReport {
  type: 'connected';
  connected: number;
  failed: number;
  firstError: string | null;
  ms: number;
}

export interface LoadReport {
  type: 'done';
  sent: number;
  delivered: number;
  /** Sends the service refused (an error ack). */
  refused: number;
  /** Milliseconds from send to delivery, one per delivered message. */
  latencies: Float64Array;
  /** The same for the messages relayed from one server process to another. */
  crossLatencies: Float64Array;
  /** Exchanges started and seconds the sending took. */
  exchanges: number;
  sendSeconds: number;
  /** Sockets still open at the end. */
  stillOpen: number;
  /** p99 of this worker's event-loop delay while it generated load, in ms. */
  loopDelayP99Ms: number;
  /** Sockets the other side closed during the run, by reason. */
  disconnects: Record<string, number>;
}

export type FromWorker = ConnectReport | LoadReport | { type: 'closed' };

/** Relayed messages per exchange. */
export const messagesPerExchange = (candidates: number) => 2 + 2 * candidates;

/**
 * Length of our sealed envelope for a plaintext of `chars`: a small JSON wrapper, a 12-byte IV
 * and a 16-byte tag, in base64url.
 */
export const sealedChars = (chars: number) => Math.ceil(((chars + 40 + 28) * 4) / 3);
