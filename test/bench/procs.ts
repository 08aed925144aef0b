/**
 * Child processes for the benchmark: each server under test runs in its own process so that the
 * load generator (this process) and the servers never share an event loop. Every child is tracked
 * and killed at the end, on error, on SIGINT/SIGTERM and on exit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

export interface Child {
  name: string;
  /** base URL, `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  proc: ChildProcess;
  /** the last few KB of the child's stdout and stderr, for error messages */
  output(): string;
}

export interface StartSpec {
  name: string;
  /** arguments after `node` (e.g. `['--import', 'tsx', 'gateway/src/main.ts']`) */
  args: string[];
  env?: Record<string, string>;
  port: number;
  /** GET this path until any HTTP answer comes back */
  readyPath?: string;
  readyTimeoutMs?: number;
  cwd?: string;
}

export { freePort } from '../support/ports.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Owns every process the benchmark starts. */
export class Processes {
  private readonly children = new Set<Child>();
  /** set by stopAll: a measurement still running after SIGINT must not start new children */
  private closing = false;

  /** Whether stopAll has begun: work outside this class (a redis-server) must not start either. */
  get stopping(): boolean {
    return this.closing;
  }

  private refuseWhenClosing(name: string): void {
    if (this.closing) throw new Error(`stopping: not starting ${name}`);
  }

  async start(spec: StartSpec): Promise<Child> {
    this.refuseWhenClosing(spec.name);
    const proc = spawn(process.execPath, spec.args, {
      cwd: spec.cwd ?? process.cwd(),
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const keep = (b: Buffer): void => {
      tail = (tail + b.toString('utf8')).slice(-4096);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const child: Child = { name: spec.name, url: `http://127.0.0.1:${spec.port}`, port: spec.port, proc, output: () => tail };
    this.children.add(child);
    proc.once('exit', () => this.children.delete(child));
    await this.waitReady(child, spec.readyPath ?? '/', spec.readyTimeoutMs ?? 30_000);
    return child;
  }

  /**
   * Runs a child that is not a server (a measurement in a process of its own) to completion and
   * resolves with its stdout; rejects on a non-zero exit or after `timeoutMs` (then kills it).
   * Tracked like the servers, so SIGINT and errors stop it too.
   */
  async run(spec: { name: string; args: string[]; env?: Record<string, string>; timeoutMs: number }): Promise<string> {
    this.refuseWhenClosing(spec.name);
    const proc = spawn(process.execPath, spec.args, {
      cwd: process.cwd(),
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
    proc.stderr?.on('data', (b: Buffer) => (err = (err + b.toString('utf8')).slice(-4096)));
    const child: Child = { name: spec.name, url: '', port: 0, proc, output: () => err };
    this.children.add(child);
    const timer = setTimeout(() => proc.kill('SIGKILL'), spec.timeoutMs);
    try {
      const code = await new Promise<number | string>((resolve, reject) => {
        proc.once('error', reject);
        proc.once('exit', (c, sig) => resolve(c ?? sig ?? 'unknown'));
      });
      if (code !== 0) throw new Error(`${spec.name} exited (${code}):\n${err}`);
      return out;
    } finally {
      clearTimeout(timer);
      this.children.delete(child);
    }
  }

  private async waitReady(child: Child, path: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
        throw new Error(`${child.name} exited (${child.proc.exitCode ?? child.proc.signalCode}) before it was ready:\n${child.output()}`);
      }
      try {
        const r = await fetch(child.url + path, { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`${child.name} not ready on ${child.url} after ${timeoutMs} ms:\n${child.output()}`);
  }

  /**
   * Freezes a target while another one is measured: on a small machine an idle process's
   * background work (an event writer flushing, a store merging) would otherwise be charged to
   * whichever target runs at that moment.
   */
  pause(child: Child): void {
    signalTree(child, 'SIGSTOP');
  }

  resume(child: Child): void {
    signalTree(child, 'SIGCONT');
  }

  /** SIGTERM, then SIGKILL whatever is still alive after `graceMs`. */
  async stop(child: Child, graceMs = 2000): Promise<void> {
    const { proc } = child;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // A paused process would not act on SIGTERM.
    signalTree(child, 'SIGCONT');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    this.children.delete(child);
  }

  async stopAll(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.children].map((c) => this.stop(c)));
  }

  /** Last resort from a synchronous `exit` handler: no waiting possible, so SIGKILL. */
  killAllNow(): void {
    this.closing = true;
    for (const c of this.children) {
      signalTree(c, 'SIGKILL');
    }
    this.children.clear();
  }
}

/** The processes `pid` started, and theirs (Linux: /proc/<pid>/task/<tid>/children); none elsewhere. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(/\s+/).map(Number) : []) out.push(k, ...descendants(k));
    }
  } catch {
    // gone, or not Linux
  }
  return out;
}

/**
 * Signals a server and the processes it started (the gateway's embedded events store), so that
 * pausing a target pauses its store too. Not as a process group: a group of its own needs a
 * session of its own, and Linux's autogroup scheduling would then share the CPUs between the
 * sessions first, which is not how the gateway runs.
 */
function signalTree(child: Child, signal: NodeJS.Signals): void {
  const { proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  for (const pid of [proc.pid, ...descendants(proc.pid)]) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
}
