/**
 * What a test or benchmark process leaves behind if it ends early: browser processes and temp
 * dirs (and whatever else registers a hook). Everything registered here is removed on exit and on SIGINT/SIGTERM, synchronously, so a
 * killed run leaves no browser behind; code that finishes normally removes its own as it goes.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const liveProcesses = new Set<ChildProcess>();
const liveDirs = new Set<string>();
const liveHooks = new Set<() => void>();

function removeEverything(): void {
  for (const proc of liveProcesses) killProcessGroup(proc);
  liveProcesses.clear();
  for (const hook of liveHooks) hook();
  liveHooks.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    removeEverything();
    process.exit(code);
  });
}
process.once('exit', removeEverything);

/**
 * Kills a process with everything it spawned: puppeteer starts each browser as the leader of its
 * own process group, and Firefox's content processes outlive a killed parent otherwise, so the
 * group is killed even when its leader has exited already (the kernel keeps its id while any
 * member lives; with none left, the kill finds nothing).
 */
export function killProcessGroup(proc: ChildProcess): void {
  if (proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    proc.kill('SIGKILL');
  }
}

/** Kills `proc`'s group if the run ends before `forgetProcess(proc)`. */
export function trackProcess(proc: ChildProcess): void {
  liveProcesses.add(proc);
}

export function forgetProcess(proc: ChildProcess): void {
  liveProcesses.delete(proc);
}

/** Runs `hook` (synchronous) if the run ends before `forgetCleanup(hook)`: network namespaces. */
export function trackCleanup(hook: () => void): void {
  liveHooks.add(hook);
}

export function forgetCleanup(hook: () => void): void {
  liveHooks.delete(hook);
}

/** A new directory under the system's temp dir, removed by `removeTempDir` or at exit. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}
