/**
 * A load-generating child process of the signalling benchmark (worker.ts), and how the parent
 * talks to it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker, WorkerJob } from './protocol.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.ts', import.meta.url));

/**
 * A load-generating child process (bench/signalling/worker.ts). Each holds its share of the
 * sockets, so the file limit binds per process, not for the whole load.
 */
export class LoadProcess {
  readonly child: ChildProcess;
  constructor(job: WorkerJob) {
    this.child = fork(WORKER_SCRIPT, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, P2P_BENCH_JOB: JSON.stringify(job) },
      // Typed arrays of latencies cross as they are.
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  }
  postMessage(msg: ToWorker): void {
    if (this.child.connected) this.child.send(msg);
  }
  on(event: 'message', f: (msg: FromWorker) => void): void {
    this.child.on(event, f);
  }
  off(event: 'message', f: (msg: FromWorker) => void): void {
    this.child.off(event, f);
  }
  /** Rejects `reject` if the process ends before it answered. */
  onExit(reject: (err: Error) => void): void {
    this.child.once('exit', (code, signal) =>
      reject(new Error(`a load process exited (${signal ?? code})`)),
    );
  }
  async terminate(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}
