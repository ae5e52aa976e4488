/** The figures of one signalling load phase against one target (phase.ts). */
import type { TargetKind } from './protocol.js';
import type { ServerStats } from './target.js';

export interface PhaseResult {
  target: TargetKind;
  run: number;
  /** Server processes; RSS and CPU figures are their sums. */
  processes: number;
  sockets: number;
  connected: number;
  connectFailed: number;
  firstError: string | null;
  connectSeconds: number;
  stillOpen: number;
  sent: number;
  delivered: number;
  refused: number;
  ratePerSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Delivered messages relayed from one server process to another, and their p99. */
  crossed: number;
  crossP99: number;
  rssIdle: number;
  rssHeld: number;
  rssPerSocket: number;
  cpuConnectSeconds: number;
  cpuLoadSeconds: number;
  cpuLoadPct: number;
  loadgenCpuPct: number;
  /** The worst worker's event-loop delay p99: latency the load generator itself adds. */
  loadgenLagP99: number;
  /** Sockets closed under the load generator, by reason (none is the healthy answer). */
  disconnects: Record<string, number>;
  /** The server's own event-loop delay and GC pauses over the load window. */
  server: ServerStats | null;
  /** redis-server's RSS with the sockets held and its CPU while relaying (null: no Redis). */
  redisRss: number | null;
  redisCpuPct: number | null;
}
