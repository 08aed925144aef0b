/**
 * The embedded events store in a process of its own: chDB over one data folder, answering the
 * gateway's ClickHouse calls that store-connection.ts sends over the IPC channel. Started by
 * store-connection.ts, never by hand.
 *
 * Why a process: chDB's insert, merge and materialized-view threads took their CPU inside the
 * gateway process, next to the thread that serves requests, and a native fault in the engine
 * would take the proxy down with it. Here the engine runs at a lower CPU priority than the proxy
 * (`WATCHLLM_STORE_NICE`, set by the parent), so under load the proxy is served first and events
 * catch up as CPU frees; if it dies, the gateway starts another and its writer spools meanwhile.
 *
 * It closes its engine and exits when the gateway says `close` or when the IPC channel goes (the
 * gateway exited, however abruptly); SIGINT and SIGTERM, which a terminal or a container runtime
 * may send the whole process group, are left to the gateway, which closes its store after the
 * last events are written.
 */
import { createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { createChdbConnection as CreateChdbConnection } from 'chdb/connection';
import { batchFile, fileInsertQuery, INSERT_FOLDER, readStructure } from './store-insert.ts';
import { DATA_FD, type StoreCall, type StoreReply, type StoreRequest } from './store-protocol.ts';

type ChdbConnection = ReturnType<typeof CreateChdbConnection>;
/** The calls' parameters as chdb/connection types them (its copy of clickhouse-js's settings type). */
type Params = Parameters<ChdbConnection['query']>[0];

/** Lowers every thread's priority: Linux keeps a nice value per thread, and new ones inherit it. */
function lowerPriority(nice: number): void {
  if (!Number.isInteger(nice) || nice <= 0) return;
  let tids: number[] = [0];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    // not Linux: the process's priority
  }
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
    } catch {
      // a thread that has just ended, or a system that refuses: the store still works
    }
  }
}

/**
 * The data pipe's bytes, handed out in the order they are asked for: each batch insert message asks
 * for its length when it arrives, and the gateway writes the batches in the order of its messages.
 * A batch comes as the pipe's own chunks (the last one cut where the batch ends), never copied: it
 * is written to a file as it is (store-insert.ts).
 */
class ByteReader {
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  readonly #wants: Array<{ size: number; resolve: (b: Buffer[]) => void; reject: (e: Error) => void }> = [];
  #ended: Error | null = null;

  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (c: Buffer) => {
      this.#chunks.push(c);
      this.#buffered += c.length;
      this.#serve();
    });
    const end = (): void => {
      this.#ended = new Error('the data pipe closed');
      for (const w of this.#wants.splice(0)) w.reject(this.#ended);
    };
    stream.on('end', end);
    stream.on('error', end);
  }

  take(size: number): Promise<Buffer[]> {
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      this.#wants.push({ size, resolve, reject });
      this.#serve();
    });
  }

  #serve(): void {
    while (this.#wants.length > 0 && this.#buffered >= this.#wants[0]!.size) {
      const { size, resolve } = this.#wants.shift()!;
      const out: Buffer[] = [];
      let at = 0;
      while (at < size) {
        const c = this.#chunks[0]!;
        const n = Math.min(c.length, size - at);
        out.push(n === c.length ? c : c.subarray(0, n));
        at += n;
        if (n === c.length) this.#chunks.shift();
        else this.#chunks[0] = c.subarray(n);
      }
      this.#buffered -= size;
      resolve(out);
    }
  }
}

/**
 * Writes `chunks` to a new `file` as one vectored write: corked, a write stream hands them all to
 * fs.writev (and writes again what a short write left).
 */
async function writeChunks(file: string, chunks: Buffer[]): Promise<void> {
  const out = createWriteStream(file);
  out.cork();
  for (const c of chunks) out.write(c);
  out.uncork();
  out.end();
  await finished(out);
}

function send(reply: StoreReply): void {
  process.send?.(reply);
}

function errorReply(id: number, err: unknown): StoreReply {
  const e = err as { message?: unknown; code?: unknown; type?: unknown };
  return {
    id,
    ok: false,
    error: {
      message: typeof e?.message === 'string' ? e.message : String(err),
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
      ...(typeof e?.type === 'string' ? { type: e.type } : {}),
    },
  };
}

/** Bytes from the channel (a Buffer or a plain Uint8Array, by Node version) as text. */
const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

/**
 * Column types per table, read from `system.columns` when an insert first needs them and read again
 * when an insert names a column not among them (a migration added it) or an insert failed.
 */
class ColumnTypes {
  readonly #tables = new Map<string, ReadonlyMap<string, string>>();
  readonly #conn: ChdbConnection;

  constructor(conn: ChdbConnection) {
    this.#conn = conn;
  }

  /** The structure to read an insert's file with (store-insert.ts `readStructure`), or null. */
  async structure(table: string, columns: readonly string[] | undefined): Promise<string | null> {
    if (!columns || columns.length === 0) return null;
    const known = this.#tables.get(table);
    const structure = known ? readStructure(columns, known) : null;
    if (structure !== null) return structure;
    const types = await this.#read(table);
    if (types.size > 0) this.#tables.set(table, types);
    return readStructure(columns, types);
  }

  forget(table: string): void {
    this.#tables.delete(table);
  }

  async #read(table: string): Promise<ReadonlyMap<string, string>> {
    const dot = table.indexOf('.');
    try {
      const r = await this.#conn.query({
        query:
          dot === -1
            ? 'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} FORMAT JSONEachRow'
            : 'SELECT name, type FROM system.columns WHERE database = {database:String} AND table = {table:String} FORMAT JSONEachRow',
        query_params: dot === -1 ? { table } : { database: table.slice(0, dot), table: table.slice(dot + 1) },
      });
      const text = (await buffer(r.stream)).toString('utf8');
      const rows = text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as { name: string; type: string });
      return new Map(rows.map((c) => [c.name, c.type]));
    } catch {
      // not known now: the insert reads the file with the table's own structure
      return new Map();
    }
  }
}

/** What a call needs besides its request: the engine and the folder batches are inserted from. */
interface Store {
  conn: ChdbConnection;
  inserts: string;
  types: ColumnTypes;
}

async function run({ conn, inserts, types }: Store, req: StoreCall, signal: AbortSignal, data: Promise<Buffer[]> | null): Promise<StoreReply> {
  const id = req.id;
  switch (req.op) {
    case 'ping': {
      const r = await conn.ping({ select: true });
      if (!r.success) throw r.error;
      return { id, ok: true, result: {} };
    }
    case 'query': {
      const r = await conn.query({ ...(req.params as Params), abort_signal: signal });
      return { id, ok: true, result: { query_id: r.query_id, bytes: await buffer(r.stream) } };
    }
    case 'exec': {
      const { values, ...params } = req.params;
      const r = await conn.exec({
        ...(params as Params),
        abort_signal: signal,
        // chDB's connection reads a string body as it is (it joins stream chunks into one anyway)
        ...(values === undefined ? {} : { values: text(values) as never }),
      });
      return { id, ok: true, result: { query_id: r.query_id, summary: r.summary, bytes: await buffer(r.stream) } };
    }
    case 'command': {
      const r = await conn.command({ ...(req.params as Params), abort_signal: signal });
      return { id, ok: true, result: { query_id: r.query_id, summary: r.summary } };
    }
    case 'insert': {
      const { values, ...params } = req.params;
      const r = await conn.insert({ ...(params as Params), abort_signal: signal, values: text(values) });
      return { id, ok: true, result: { query_id: r.query_id, summary: r.summary } };
    }
    case 'insertBatch': {
      // the batch goes to the engine as a file (store-insert.ts says why)
      const file = batchFile(inserts, id, req.params.format);
      try {
        await writeChunks(file, await data!);
        const structure = await types.structure(req.params.table, req.params.columns);
        await conn.command({ query: fileInsertQuery(req.params, file, structure), clickhouse_settings: req.params.settings, abort_signal: signal });
        return { id, ok: true, result: {} };
      } catch (e) {
        types.forget(req.params.table);
        throw e;
      } finally {
        await rm(file, { force: true });
      }
    }
  }
}

function main(): void {
  const path = process.env['WATCHLLM_STORE_PATH'];
  if (!path || !process.send) {
    process.stderr.write('store-process: started without WATCHLLM_STORE_PATH or an IPC channel (the gateway starts it)\n');
    process.exit(2);
  }
  const nice = Number(process.env['WATCHLLM_STORE_NICE'] ?? 0);
  lowerPriority(nice);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});

  const { createChdbConnection } = createRequire(import.meta.url)('chdb/connection') as {
    createChdbConnection: typeof CreateChdbConnection;
  };
  let conn: ChdbConnection;
  try {
    conn = createChdbConnection({ path });
    // Again, now that the engine runs: its MemoryWorker thread raises itself to nice -20 when it may
    // (as root), and woke 20 times a second to read memory statistics ahead of anything else on
    // its CPU, the proxy's main thread included. Lowered, it stays lowered.
    lowerPriority(nice);
  } catch (e) {
    // said once to the gateway, which stops the start with it instead of starting the store again
    process.send({ failed: e instanceof Error ? e.message : String(e) } satisfies StoreReply, () => process.exit(1));
    return;
  }
  // Batches a store killed mid-insert left: the gateway still holds their rows (its insert failed,
  // so it inserts them again or spools them). Cleared only once this process holds the folder.
  const inserts = join(path, INSERT_FOLDER);
  rmSync(inserts, { recursive: true, force: true });
  mkdirSync(inserts, { recursive: true });
  const running = new Map<number, AbortController>();
  const pipe = new ByteReader(new Socket({ fd: DATA_FD, readable: true, writable: false }));
  const store: Store = { conn, inserts, types: new ColumnTypes(conn) };
  let closing = false;
  const close = (code: number): void => {
    if (closing) return;
    closing = true;
    // the engine ends the running statements' writes before it closes
    void conn.close().finally(() => process.exit(code));
  };

  process.on('message', (req: StoreRequest) => {
    if (req.op === 'close') return close(0);
    if (req.op === 'abort') {
      running.get(req.target)?.abort();
      return;
    }
    const ac = new AbortController();
    running.set(req.id, ac);
    // asked for now, in message order, even while an earlier insert still runs
    const data = req.op === 'insertBatch' ? pipe.take(req.params.bytes) : null;
    run(store, req, ac.signal, data).then(
      (reply) => send(reply),
      (err: unknown) => send(errorReply(req.id, err)),
    ).finally(() => running.delete(req.id));
  });
  process.on('disconnect', () => close(0));
  send({ ready: true });
}

main();
