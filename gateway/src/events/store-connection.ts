import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseError } from '@clickhouse/client';
import { DATA_FD, type StoreQueryParams, type StoreBatch, type StoreReply, type StoreRequest, type StoreResult } from './store-protocol.ts';
import type { Writable } from 'node:stream';

const ENTRY = fileURLToPath(new URL('./store-process.ts', import.meta.url));
/**
 * The store process runs TypeScript as the gateway does: through tsx, from the gateway's own
 * dependencies. Resolved when a store starts, so a gateway writing to a ClickHouse server never needs it.
 */
let tsx: string | undefined;
const tsxLoader = (): string => (tsx ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href);
/**
 * V8 flags of the store process. `--no-memory-reducer`: the store's JavaScript is a small loop that
 * waits for the next batch, and in every wait V8's memory reducer took it for idle and ran full
 * collections to shrink a heap of a few MB: measured at ~10 µs of the store's CPU per request row
 * under load (a fifth of it), on the CPUs the proxy shares. Its heap stays a few MB without them.
 */
const STORE_V8_FLAGS = ['--no-memory-reducer'];
/** Environment the store process gets: what chDB and Node need, none of the gateway's secrets. */
const PASSED_ENV = ['PATH', 'HOME', 'TMPDIR', 'TZ', 'LANG', 'LC_ALL'];
/** Restart delays after the store process died: doubled per failure, reset once one is ready. */
const RESTART_MS = { first: 500, max: 30_000 };
/** How long `close` waits for the store to finish its last statement and exit before killing it. */
const CLOSE_WAIT_MS = 30_000;

/**
 * The store is not running (starting again after it died, or closed): what a refused connection is
 * to a ClickHouse server. The code reads as a network error (`isUnreachable`), so the writer keeps
 * the rows and retries, and migrations wait.
 */
export class StoreDownError extends Error {
  override name = 'StoreDownError';
  readonly code = 'ESTOREDOWN';
}

type QueryIn = StoreQueryParams & { abort_signal?: AbortSignal; [other: string]: unknown };

interface Pending {
  resolve: (r: StoreResult) => void;
  reject: (e: Error) => void;
}

export interface StoreConnectionOptions {
  /** the chDB data folder */
  path: string;
  /** nice value of the store process's threads (0 = the gateway's priority) */
  nice: number;
  /** told when the store process exits unexpectedly, with its exit code or signal */
  onExit?: (how: string) => void;
}

/** An insert's values (a string, a Buffer, or a stream of either) as bytes. */
function toBuffer(values: unknown): Promise<Buffer> | Buffer {
  if (values === undefined) return Buffer.alloc(0);
  if (typeof values === 'string') return Buffer.from(values);
  if (Buffer.isBuffer(values)) return values;
  return buffer(values as AsyncIterable<unknown>);
}

function resultStream(bytes: Uint8Array | undefined): Readable {
  const b = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.alloc(0);
  return Readable.from([b], { objectMode: false });
}

function rebuildError(error: { message: string; code?: string; type?: string }): Error {
  const parsed = parseError(error.message);
  if (error.code !== undefined && (parsed as { code?: unknown }).code === undefined) Object.assign(parsed, { code: error.code });
  return parsed;
}

/** ClickHouse's base result fields, which the embedded engine has no real values for (as chdb/connection). */
const base = (query_id: string | undefined) => ({ query_id: query_id ?? '', response_headers: {}, http_status_code: 200 });

/**
 * A `@clickhouse/client` connection to the embedded engine running in a child process
 * (store-process.ts): the same calls chdb/connection answers in-process, sent over IPC. The client
 * code, SQL and results are those of the in-process connection; only the engine's threads live
 * elsewhere. The process is started at once, started again (with backoff) if it dies, and closed
 * by `close` after its running statements end.
 */
export class StoreConnection {
  readonly #opts: StoreConnectionOptions;
  #child: ChildProcess | null = null;
  #ready = false;
  /** calls made while the process starts */
  #waiting: Array<{ req: StoreRequest; data?: Uint8Array | undefined }> = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  #exited: Promise<void> = Promise.resolve();
  #restartMs = RESTART_MS.first;
  /** the store has opened its folder once: a later exit is a crash to recover from */
  #opened = false;
  /** why the first start failed (the folder could not be opened): not retried */
  #broken: Error | null = null;
  #failure: string | null = null;
  #restartTimer: NodeJS.Timeout | null = null;
  #crashes = 0;

  constructor(opts: StoreConnectionOptions) {
    this.#opts = opts;
    this.#start();
  }

  /** How many times the store process exited unexpectedly after it had opened its folder. */
  get crashes(): number {
    return this.#crashes;
  }

  /** The store process's pid while it runs (for measuring its CPU). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #start(): void {
    const env: NodeJS.ProcessEnv = { WATCHLLM_STORE_PATH: this.#opts.path, WATCHLLM_STORE_NICE: String(this.#opts.nice) };
    for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
    const child = fork(ENTRY, [], {
      execArgv: [...STORE_V8_FLAGS, '--import', tsxLoader()],
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
      serialization: 'advanced',
    });
    this.#child = child;
    this.#ready = false;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (m: StoreReply) => this.#onReply(m));
    child.once('exit', (code, signal) => this.#onExit(child, code, signal));
    child.on('error', (e) => {
      // a failed send is followed by 'exit', which says the rest; a failed spawn is not
      if (child.pid === undefined) this.#onExit(child, null, null, e.message);
    });
    // a write cut by the store's exit: the call is refused by #onExit
    (child.stdio[DATA_FD] as Writable | null)?.on('error', () => {});
    this.#refresh();
  }

  #onReply(m: StoreReply): void {
    if ('failed' in m) {
      this.#failure = m.failed;
      return;
    }
    if ('ready' in m) {
      this.#ready = true;
      this.#opened = true;
      // closed while it started: the close message could not be sent before it listened
      if (this.#closed) return void this.#child?.send({ op: 'close' } satisfies StoreRequest);
      this.#restartMs = RESTART_MS.first;
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const w of waiting) this.#send(w.req, w.data);
      return;
    }
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    this.#refresh();
    if (m.ok) p.resolve(m.result);
    else p.reject(rebuildError(m.error));
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    if (this.#child !== child) return;
    this.#child = null;
    this.#ready = false;
    this.#waiting = [];
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    const how = spawnError ?? signal ?? `code ${code}`;
    if (!this.#opened && !this.#closed) {
      // It never opened the folder: starting it again would fail the same way (another process
      // holds the folder, or it cannot be read). Not an outage: every call says why.
      this.#broken = new Error(`the embedded events store could not open ${this.#opts.path}: ${this.#failure ?? `its process exited (${how})`}`);
      for (const p of pending) p.reject(this.#broken);
      return;
    }
    for (const p of pending) p.reject(new StoreDownError(`the embedded events store exited (${how})`));
    if (this.#closed) return;
    this.#crashes++;
    this.#opts.onExit?.(how);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      if (!this.#closed) this.#start();
    }, this.#restartMs);
    this.#restartTimer.unref();
    this.#restartMs = Math.min(this.#restartMs * 2, RESTART_MS.max);
  }

  /** The process and its channel keep this process alive only while a call waits for its answer. */
  #refresh(): void {
    const child = this.#child;
    if (!child) return;
    const busy = this.#pending.size > 0;
    type Handle = { ref?: () => void; unref?: () => void } | null | undefined;
    const handles = [child.channel as Handle, child.stdio[DATA_FD] as Handle];
    if (busy) {
      child.ref();
      for (const h of handles) h?.ref?.();
    } else {
      child.unref();
      for (const h of handles) h?.unref?.();
    }
  }

  #call(make: (id: number) => StoreRequest, signal?: AbortSignal, data?: Uint8Array): Promise<StoreResult> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#closed) return Promise.reject(new StoreDownError('the embedded events store is closed'));
    if (!this.#child) return Promise.reject(new StoreDownError('the embedded events store is starting again after it exited'));
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    const id = this.#nextId++;
    const req = make(id);
    return new Promise<StoreResult>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.#pending.delete(id)) return;
        this.#refresh();
        this.#child?.send({ op: 'abort', target: id } satisfies StoreRequest);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.#pending.set(id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      this.#refresh();
      if (this.#ready) this.#send(req, data);
      else this.#waiting.push({ req, data });
    });
  }

  /** The message, then its bytes on the data pipe: the store pairs them by order. */
  #send(req: StoreRequest, data?: Uint8Array): void {
    const child = this.#child;
    if (!child) return;
    child.send(req);
    if (data) (child.stdio[DATA_FD] as Writable | null)?.write(data);
  }

  async ping(_params?: unknown): Promise<{ success: true } | { success: false; error: Error }> {
    try {
      await this.#call((id) => ({ id, op: 'ping' }));
      return { success: true };
    } catch (e) {
      return { success: false, error: e instanceof Error ? e : new Error(String(e)) };
    }
  }

  async query(params: QueryIn) {
    const r = await this.#call((id) => ({ id, op: 'query', params: pick(params) }), params.abort_signal);
    return { stream: resultStream(r.bytes), ...base(r.query_id) };
  }

  async exec(params: QueryIn & { values?: unknown }) {
    const values = params.values === undefined ? undefined : await toBuffer(params.values);
    const r = await this.#call(
      (id) => ({ id, op: 'exec', params: { ...pick(params), ...(values === undefined ? {} : { values }) } }),
      params.abort_signal,
    );
    return { stream: resultStream(r.bytes), ...base(r.query_id), summary: r.summary as never };
  }

  async command(params: QueryIn) {
    const r = await this.#call((id) => ({ id, op: 'command', params: pick(params) }), params.abort_signal);
    return { ...base(r.query_id), summary: r.summary as never };
  }

  async insert(params: QueryIn & { values: unknown }) {
    const values = await toBuffer(params.values);
    const r = await this.#call((id) => ({ id, op: 'insert', params: { ...pick(params), values } }), params.abort_signal);
    return { ...base(r.query_id), summary: r.summary as never };
  }

  /** A batch of encoded rows (client.ts `insertRows`): the bytes go on the data pipe, the store inserts them (store-insert.ts). */
  async insertBatch(params: StoreBatch): Promise<void> {
    const { values, ...head } = params;
    await this.#call((id) => ({ id, op: 'insertBatch', params: { ...head, bytes: values.byteLength } }), undefined, values);
  }

  /** Lets the running statements end, closes the engine and waits for the process to exit. */
  async close(): Promise<void> {
    if (this.#closed) return this.#exited;
    this.#closed = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    child.ref();
    // answers still due arrive before the exit; calls never sent are refused
    for (const { req } of this.#waiting) {
      if (!('id' in req)) continue;
      const p = this.#pending.get(req.id);
      this.#pending.delete(req.id);
      p?.reject(new StoreDownError('the embedded events store is closed'));
    }
    this.#waiting = [];
    // before it is ready the process may not hear it: it is told when it says it is ready
    if (!child.connected) child.kill('SIGKILL');
    else if (this.#ready) child.send({ op: 'close' } satisfies StoreRequest);
    const killer = setTimeout(() => child.kill('SIGKILL'), CLOSE_WAIT_MS);
    await this.#exited;
    clearTimeout(killer);
  }
}

function pick(params: QueryIn): StoreQueryParams {
  return {
    query: params.query,
    ...(params.clickhouse_settings ? { clickhouse_settings: params.clickhouse_settings } : {}),
    ...(params.query_params ? { query_params: params.query_params } : {}),
    ...(params.query_id ? { query_id: params.query_id } : {}),
  };
}
