/**
 * What the kernel says about processes: the tree under a pid, its CPU seconds and its resident
 * memory, read from /proc (Linux only). Browsers run many processes (renderer, GPU, network
 * service), so every figure here is over a whole tree, not the pid puppeteer hands back.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

interface StatLine {
  ppid: number;
  /** utime + stime + cutime + cstime in ticks. */
  ticks: number;
}

function readStat(pid: number): StatLine | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses; the rest follows the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (i: number) => Number(fields[i] ?? 0);
  // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
  return { ppid: num(1), ticks: num(11) + num(12) + num(13) + num(14) };
}

function allStats(): Map<number, StatLine> {
  const out = new Map<number, StatLine>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) out.set(Number(name), stat);
  }
  return out;
}

/** `root` and every live descendant. */
export function processTree(root: number): number[] {
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = stats.has(root) ? [root] : [];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU seconds used so far by the tree under `root`. Children's reaped time (cutime/cstime) is
 * included, so a process that exits between two readings still counts.
 */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) ticks += readStat(pid)?.ticks ?? 0;
  return ticks / CLK_TCK;
}

/** CPU seconds of one process (its own threads plus reaped children). */
export function cpuSeconds(pid: number): number {
  return (readStat(pid)?.ticks ?? 0) / CLK_TCK;
}

/** Resident set size of one process in bytes (0 if it is gone). */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Chromium's renderer processes under a browser pid (their command line says so). */
export function rendererPids(browserPid: number): number[] {
  return processTree(browserPid).filter((pid) => cmdline(pid).includes('--type=renderer'));
}
