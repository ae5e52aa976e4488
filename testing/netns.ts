/**
 * A network for fault tests: the sharer's and the recipient's browsers each in a network
 * namespace of their own, joined only through a third "path" namespace that routes between them,
 * where a test cuts the link or adds loss and delay (path-shaper.py). The browsers reach
 * the service and the host page, which stay on the root namespace's 127.0.0.1, through a forwarder
 * per namespace that listens on the namespace's own 127.0.0.1 (so origins stay loopback and secure)
 * and crosses into the root namespace over a Unix socket, never over a network: the only network
 * path between the two browsers is the path namespace. Names are unique per run; everything is
 * removed on close and at exit (cleanup.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  forgetCleanup,
  forgetProcess,
  killProcessGroup,
  trackCleanup,
  trackProcess,
} from './cleanup.js';
import { withTimeout } from './wait.js';

export const IP_PATH = process.env.IP_PATH ?? '/usr/sbin/ip';
export const IPTABLES_PATH = process.env.IPTABLES_PATH ?? '/usr/sbin/iptables';
export const PYTHON_PATH = process.env.PYTHON_PATH ?? '/usr/bin/python3';
const SHAPER = fileURLToPath(new URL('./path-shaper.py', import.meta.url));

/** Runs a command and throws with its output when it fails. */
function run(cmd: string, args: string[]): string {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
  }
  return result.stdout;
}

/**
 * Throws, saying why and what to do, where this machine cannot make namespaces: fault tests need
 * root (CI runs as root) and iproute2's `ip` and `tc`.
 */
export function requireNetns(): void {
  const fix =
    'the outage tests need root, iproute2 (`ip netns`), iptables and python3 (the path shaper): ' +
    'run them as root (CI does), after `apt-get update && apt-get install -y iproute2 iptables ' +
    'python3`';
  if (process.getuid?.() !== 0) throw new Error(`not root: ${fix}`);
  const probe = `p2p-probe-${randomBytes(4).toString('hex')}`;
  const add = spawnSync(IP_PATH, ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) {
    throw new Error(`\`ip netns add\` failed (${add.stderr || add.error?.message}): ${fix}`);
  }
  spawnSync(IP_PATH, ['netns', 'del', probe]);
  for (const tool of [IPTABLES_PATH, PYTHON_PATH]) {
    if (spawnSync(tool, ['--version']).status !== 0) throw new Error(`no ${tool}: ${fix}`);
  }
}

/**
 * Runs `argv` inside namespace `ns` in a process group of its own (killed at exit too), and
 * resolves once its first output is `ready`. Its standard input stays open while this process
 * lives, so a helper that waits on it ends with the test. `what` names it in errors; a helper
 * that fails to get ready is stopped.
 */
async function startReady(ns: string, argv: string[], what: string): Promise<ChildProcess> {
  const proc = spawn(IP_PATH, ['netns', 'exec', ns, ...argv], {
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  trackProcess(proc);
  proc.stdout!.setEncoding('utf8');
  try {
    const [line] = (await withTimeout(
      Promise.race([
        once(proc.stdout!, 'data'),
        once(proc, 'exit').then(([code]) => [`exited (${String(code)})`]),
      ]),
      10_000,
      `${what} in ${ns} never got ready`,
    )) as [string];
    if (!line.startsWith('ready')) throw new Error(`${what} in ${ns} ${line}`);
    return proc;
  } catch (err) {
    stopProcess(proc);
    throw err;
  }
}

function stopProcess(proc: ChildProcess): void {
  killProcessGroup(proc);
  forgetProcess(proc);
}

/** The in-namespace half of a forwarder: 127.0.0.1:<port> to the Unix socket of that port. */
const FORWARDER = `
const net = require('node:net');
const [prefix, ...ports] = process.argv.slice(1);
let left = ports.length;
for (const port of ports) {
  net.createServer((c) => {
    const u = net.connect(prefix + '-' + port + '.sock');
    c.pipe(u).pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  }).listen(Number(port), '127.0.0.1', () => { if (--left === 0) console.log('ready'); });
}
`;

/** One side of the lab: a namespace with a browser's link to the path. */
class Side {
  private forwarder: ChildProcess | null = null;
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  /** While true, the service and the host page are unreachable from this namespace. */
  private severed = false;

  constructor(
    readonly ns: string,
    private readonly dir: string,
  ) {}

  /**
   * Makes `ports` of the root namespace's 127.0.0.1 reachable at the same ports of this
   * namespace's 127.0.0.1.
   */
  async forward(ports: number[]): Promise<void> {
    for (const port of ports) {
      const server = net.createServer((c) => {
        if (this.severed) {
          c.destroy();
          return;
        }
        const t = net.connect(port, '127.0.0.1');
        for (const s of [c, t]) {
          this.sockets.add(s);
          s.on('close', () => this.sockets.delete(s));
          s.on('error', () => (s === c ? t : c).destroy());
        }
        c.pipe(t).pipe(c);
      });
      server.listen(`${path.join(this.dir, this.ns)}-${port}.sock`);
      await once(server, 'listening');
      this.servers.push(server);
    }
    this.forwarder = await startReady(
      this.ns,
      [process.execPath, '-e', FORWARDER, path.join(this.dir, this.ns), ...ports.map(String)],
      'the forwarder',
    );
  }

  /** Cuts (or restores) this namespace's way to the service and the host page. */
  sever(on: boolean): void {
    this.severed = on;
    if (on) for (const s of this.sockets) s.destroy();
  }

  /**
   * A Chromium executable that runs in this namespace: a wrapper for puppeteer's
   * `executablePath` (DevTools over a pipe, which crosses namespaces).
   */
  wrapper(executable: string): string {
    const file = path.join(this.dir, `${this.ns}-browser.sh`);
    writeFileSync(file, `#!/bin/sh\nexec ${IP_PATH} netns exec ${this.ns} ${executable} "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  }

  close(): void {
    if (this.forwarder) stopProcess(this.forwarder);
    for (const s of this.sockets) s.destroy();
    for (const server of this.servers) server.close();
  }
}

/** Conditions on the path, the same in both directions. */
export interface PathConditions {
  /** Packets lost, in percent, each direction. */
  loss?: number;
  /** Delay each packet waits, in ms, each direction (the round trip grows by twice this). */
  delayMs?: number;
}

/**
 * Sharer (`a`), recipient (`b`) and the path between them (`p`):
 *
 *   ns a: va 10.99.1.2/24 ── pa 10.99.1.1/24 [ns p, forwarding] pb 10.99.2.1/24 ── vb 10.99.2.2/24: ns b
 */
export class NetLab {
  readonly a: Side;
  readonly b: Side;
  readonly p: string;
  private readonly hook = () => this.removeNamespaces();
  private shaper?: ChildProcess;
  /** The packets the shaper let through and dropped, as of its last report (every second). */
  shaped = { accepted: 0, dropped: 0 };

  private constructor(id: string, dir: string) {
    this.a = new Side(`p2p-${id}-a`, dir);
    this.b = new Side(`p2p-${id}-b`, dir);
    this.p = `p2p-${id}-p`;
  }

  /** Makes the namespaces and links; `dir` holds the forwarders' sockets and wrappers. */
  static async create(dir: string, forwardPorts: number[]): Promise<NetLab> {
    const lab = new NetLab(randomBytes(3).toString('hex'), dir);
    trackCleanup(lab.hook);
    try {
      lab.build();
      await Promise.all([lab.a.forward(forwardPorts), lab.b.forward(forwardPorts)]);
    } catch (err) {
      lab.close();
      throw err;
    }
    return lab;
  }

  private build(): void {
    const { p } = this;
    const a = this.a.ns;
    const b = this.b.ns;
    for (const ns of [a, b, p]) {
      run(IP_PATH, ['netns', 'add', ns]);
      run(IP_PATH, ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    run(IP_PATH, [
      'link',
      'add',
      'va',
      'netns',
      a,
      'type',
      'veth',
      'peer',
      'name',
      'pa',
      'netns',
      p,
    ]);
    run(IP_PATH, [
      'link',
      'add',
      'vb',
      'netns',
      b,
      'type',
      'veth',
      'peer',
      'name',
      'pb',
      'netns',
      p,
    ]);
    const addr = (ns: string, dev: string, cidr: string) => {
      run(IP_PATH, ['-n', ns, 'addr', 'add', cidr, 'dev', dev]);
      run(IP_PATH, ['-n', ns, 'link', 'set', dev, 'up']);
    };
    addr(a, 'va', '10.99.1.2/24');
    addr(b, 'vb', '10.99.2.2/24');
    addr(p, 'pa', '10.99.1.1/24');
    addr(p, 'pb', '10.99.2.1/24');
    run(IP_PATH, ['-n', a, 'route', 'add', 'default', 'via', '10.99.1.1']);
    run(IP_PATH, ['-n', b, 'route', 'add', 'default', 'via', '10.99.2.1']);
    run(IP_PATH, ['netns', 'exec', p, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }

  /** Cuts the path (both links in the path namespace down) or brings it back. */
  cut(on: boolean): void {
    for (const dev of ['pa', 'pb'])
      run(IP_PATH, ['-n', this.p, 'link', 'set', dev, on ? 'down' : 'up']);
  }

  /**
   * Loss and delay on the path, both directions: every packet the path namespace forwards goes to
   * a netfilter queue whose verdicts testing/path-shaper.py takes (this kernel has no netem
   * qdisc). Resolves once the shaper is bound and the rule is in; at most once per lab.
   */
  async shape(conditions: PathConditions): Promise<void> {
    if (this.shaper) throw new Error('the path is shaped already');
    const { loss = 0, delayMs = 0 } = conditions;
    const seed = String(randomBytes(4).readUInt32BE());
    const proc = await startReady(
      this.p,
      [PYTHON_PATH, SHAPER, '0', String(loss), String(delayMs), seed],
      'the path shaper',
    );
    this.shaper = proc;
    proc.stdout!.on('data', (chunk: string) => {
      const last = chunk.trim().split('\n').pop()!.split(' ').map(Number);
      if (last.length === 2) this.shaped = { accepted: last[0]!, dropped: last[1]! };
    });
    run(IP_PATH, ['netns', 'exec', this.p, IPTABLES_PATH, '-A', 'FORWARD', '-j', 'NFQUEUE']);
  }

  /** Cuts (or restores) both browsers' way to the service and the host page. */
  severService(on: boolean): void {
    this.a.sever(on);
    this.b.sever(on);
  }

  private removeNamespaces(): void {
    for (const ns of [this.a.ns, this.b.ns, this.p]) spawnSync(IP_PATH, ['netns', 'del', ns]);
  }

  close(): void {
    this.a.close();
    this.b.close();
    if (this.shaper) stopProcess(this.shaper);
    this.removeNamespaces();
    forgetCleanup(this.hook);
  }
}
