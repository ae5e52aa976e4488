/**
 * DevTools CPU profiles of a Chromium page and its workers over one transfer (CDP
 * `Profiler.start/stop`), reduced to the functions with the most self time. Minified widget
 * frames are mapped back to their source through the build's source maps, so the summary names
 * functions in src/, not `a`, `b` and `c`.
 */
import { readFileSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import type { CDPSession, WebWorker } from 'puppeteer-core';
import type { BenchBrowser } from './browsers.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  /** `name (file:line)`, mapped to the original source where a source map says so. */
  fn: string;
  selfMs: number;
  /** Share of the profile's busy (non-idle) time. */
  selfPct: number;
}

export interface ProfileSummary {
  /** Which page or worker: e.g. "ours sender main". */
  target: string;
  wallMs: number;
  busyMs: number;
  top: HotFunction[];
  file?: string;
}

/** Starts profiling `b`'s page and every worker it starts; `stop()` returns the summaries. */
export async function startProfiling(
  b: BenchBrowser,
  label: string,
  mapDir: string | null,
): Promise<{ stop(outDir: string | null): Promise<ProfileSummary[]> }> {
  const sessions: Array<{ name: string; session: CDPSession }> = [];
  const begin = async (name: string, session: CDPSession) => {
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: 500 });
    await session.send('Profiler.start');
    sessions.push({ name, session });
  };
  await begin(`${label} main`, await b.page.createCDPSession());
  let workers = 0;
  const onWorker = (worker: WebWorker) => {
    const session = worker.client;
    void begin(`${label} worker${++workers}`, session).catch(() => {});
  };
  b.page.on('workercreated', onWorker);
  for (const worker of b.page.workers()) onWorker(worker);
  return {
    async stop(outDir) {
      b.page.off('workercreated', onWorker);
      const out: ProfileSummary[] = [];
      for (const { name, session } of sessions) {
        let profile: CpuProfile;
        try {
          ({ profile } = (await session.send('Profiler.stop')) as unknown as {
            profile: CpuProfile;
          });
        } catch {
          continue; // the worker ended before the profile could be read
        }
        const summary = summarize(name, profile, mapDir);
        if (outDir) {
          await mkdir(outDir, { recursive: true });
          summary.file = path.join(outDir, `${name.replaceAll(' ', '-')}.cpuprofile`);
          await writeFile(summary.file, JSON.stringify(profile));
        }
        out.push(summary);
      }
      return out;
    },
  };
}

const maps = new Map<string, TraceMap | null>();

/**
 * The source map for a frame's script: a widget file served by the bench service maps through
 * `mapDir` (the service's copy of dist/), a local file (a Node profile) through `<file>.map`.
 */
function traceMapFor(url: string, mapDir: string | null): TraceMap | null {
  let file: string | null = null;
  if (url.startsWith('file://')) {
    file = `${fileURLToPath(url)}.map`;
  } else if (mapDir) {
    const m = /\/(p2p-share\.js|chunks\/[^/?#]+\.js)(?:[?#].*)?$/.exec(url);
    if (m) file = path.join(mapDir, `${m[1]}.map`);
  }
  if (!file) return null;
  if (!maps.has(file)) {
    try {
      maps.set(file, new TraceMap(readFileSync(file, 'utf8')));
    } catch {
      maps.set(file, null);
    }
  }
  return maps.get(file) ?? null;
}

function describe(frame: ProfileNode['callFrame'], mapDir: string | null): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const map = traceMapFor(frame.url, mapDir);
  if (map) {
    const pos = originalPositionFor(map, {
      line: frame.lineNumber + 1,
      column: frame.columnNumber,
    });
    if (pos.source) {
      const source = pos.source.replace(/^(\.\.\/)+/, '');
      return `${pos.name ?? name} (${source}:${pos.line})`;
    }
  }
  const file = frame.url
    .replace(/^https?:\/\/[^/]+\//, '')
    .replace(/^file:\/\/.*?\/(node_modules\/)/, '$1');
  return `${name} (${file}:${frame.lineNumber + 1})`;
}

export function summarize(
  target: string,
  profile: CpuProfile,
  mapDir: string | null,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let busy = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!);
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    if (!node) continue;
    const key = describe(node.callFrame, mapDir);
    self.set(key, (self.get(key) ?? 0) + ms);
    if (node.callFrame.functionName !== '(idle)') busy += ms;
  }
  const top = [...self.entries()]
    .filter(([fn]) => fn !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([fn, ms]) => ({
      fn,
      selfMs: Math.round(ms),
      selfPct: busy > 0 ? Math.round((ms / busy) * 1000) / 10 : 0,
    }));
  return {
    target,
    wallMs: Math.round((profile.endTime - profile.startTime) / 1000),
    busyMs: Math.round(busy),
    top,
  };
}

export function printProfiles(summaries: readonly ProfileSummary[]): void {
  for (const s of summaries) {
    console.log(`\n-- CPU profile: ${s.target} (busy ${s.busyMs} ms of ${s.wallMs} ms) --`);
    for (const f of s.top)
      console.log(
        `  ${String(f.selfPct).padStart(5)}%  ${String(f.selfMs).padStart(6)} ms  ${f.fn}`,
      );
  }
}
