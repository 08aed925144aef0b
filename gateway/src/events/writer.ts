import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { EventSink } from '../exchange.ts';
import { createLogger, type Logger } from '../log.ts';
import { insertRows, isEmbedded, table as qualified } from './client.ts';
import { clickhouseCode, isPermanent, isUnreachable, UnreadableLine } from './errors.ts';
import { RowQueue, type RowBatch } from './row-queue.ts';
import { REQUEST_COLUMNS, toRow, wellFormedLine, type RowOptions } from './row.ts';
import { encodeRequestRowBinary, RowBinaryEncoder, rowBinaryToLines } from './row-binary.ts';
import { Spool, type SpooledBatch } from './spool.ts';

export { registerWriterMetrics } from './metrics.ts';

export interface WriterStats {
  /** rows waiting in memory */
  queued: number;
  /** rows waiting on disk for ClickHouse to come back */
  spooledRows: number;
  /** rows ClickHouse accepted (including replays: the lines of a spooled batch that went in) */
  inserted: number;
  /** rows whose insert failed after retries (then spooled, or rejected as bad data) */
  failed: number;
  /** rows lost: queue full, spool budget exhausted, or recorded after close */
  dropped: number;
}

/** The gateway's structured logger (log.ts); `info` says when a spool that could not be replayed went in. */
export type WriterLogger = Pick<Logger, 'warn' | 'error'> & Partial<Pick<Logger, 'info'>>;

export interface EventWriterOptions {
  client: ClickHouseClient;
  /** Spool goes to `${dataDir}/spool/`. */
  dataDir: string;
  /** Rows per insert; a full batch is flushed at once. Default 1000. */
  batchSize?: number;
  /** Flush at least this often. Default 1000 ms. */
  flushMs?: number;
  /** Rows held in memory before new ones are dropped. Default 100 000. */
  maxQueue?: number;
  /**
   * Bytes of encoded rows held in memory before new rows are dropped (bodies make rows from 0.5 to
   * 64 KB). Default 256 MiB.
   */
  maxQueueBytes?: number;
  /** A batch is flushed at once when its encoded rows reach this many bytes. Default 16 MiB. */
  batchBytes?: number;
  /** Disk budget for the spool. Default 1 GiB. */
  spoolMaxBytes?: number;
  /** Insert attempts per batch before spooling. Default 3. */
  attempts?: number;
  /** First retry delay, doubled each time; also the first wait before probing a spool. Default 200 ms. */
  retryDelayMs?: number;
  /**
   * How often the spool folder is listed again for batches other gateways sharing the data dir
   * spooled, gave back, or left when they died. Default 10 s.
   */
  spoolRescanMs?: number;
  /** Body storage and cap for request rows. */
  rows?: RowOptions;
  /** Extra ClickHouse settings for every insert (e.g. a lower thread priority for an embedded engine). */
  insertSettings?: Record<string, string | number>;
  /**
   * Whether this process's schema migrations have succeeded (`migrateAtStart`). Until then nothing
   * is inserted: the rows of a version newer than the schema would be refused (a column missing)
   * and set aside for good, so batches go to the spool and are replayed once it says yes.
   * Default: always (the caller migrated first).
   */
  schemaReady?: () => boolean;
  /**
   * Closing, against a ClickHouse server: the time inserts still get, in all, from `close()` on —
   * one attempt each, no replay — before what is left is spooled. A server that does not answer
   * (a network partition) cannot then hold a stop past the orchestrator's grace period. An
   * embedded engine runs in the process, where nothing hangs: its inserts run to the end.
   * Default 3000 ms.
   */
  closeTimeoutMs?: number;
  logger?: WriterLogger;
}

/** The tables the writer feeds. */
export type WriterTable = 'requests' | 'events';

export interface EventWriter extends EventSink {
  /** Queue rows for the `events` table (the ingest API). Returns how many were accepted. */
  recordEvents(rows: readonly object[]): number;
  /** Insert or spool everything queued, and try to replay the spool. Never rejects. */
  flush(): Promise<void>;
  stats(): WriterStats;
}

const MAX_PROBE_DELAY_MS = 30_000;

/**
 * A spooled request batch whose lines have more values than this version has columns: written by
 * a newer version sharing the spool (a rolling upgrade). Not bad data: a newer replica replays it.
 */
class SpooledByNewer extends Error {
  constructor(readonly columns: number) {
    super(`spooled by a newer version: ${columns} columns, this version knows ${REQUEST_COLUMNS.length}`);
  }
}

/** The values in a batch's first line (a JSONCompactEachRow array); a line that is not JSON is bad data. */
function columnsOf(body: Buffer): number {
  const end = body.indexOf(0x0a);
  const first = body.toString('utf8', 0, end < 0 ? body.length : end);
  let row: unknown;
  try {
    row = JSON.parse(first);
  } catch (err) {
    // a file cut short (a power cut: the spool does not fsync), or written over by something else
    throw new UnreadableLine(`a spooled line is not JSON (${String(err)}): ${first.slice(0, 80)}`);
  }
  if (!Array.isArray(row)) throw new UnreadableLine(`a spooled line is not a JSON array: ${first.slice(0, 80)}`);
  return row.length;
}

/** The lines of an NDJSON body that hold something, each with its newline (the last may have none). */
function linesOf(body: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  for (let start = 0; start < body.length; ) {
    const end = body.indexOf(0x0a, start);
    const stop = end < 0 ? body.length : end + 1;
    if ((end < 0 ? stop : end) > start) lines.push(body.subarray(start, stop));
    start = stop;
  }
  return lines;
}

/** Rows in an NDJSON body. */
function lineCount(body: Buffer): number {
  return linesOf(body).length;
}

/** The `events:` section of watchllm.yaml that shapes the writer. */
export interface WriterSettings {
  clickhouse_url?: string | undefined;
  store_bodies: boolean;
  max_body_kb: number;
  flush_ms: number;
  batch_size: number;
}

/**
 * The writer's options as the gateway sets them from its config (server.ts; the writer bench uses
 * the same, so it measures what runs).
 *
 * Embedded, ClickHouse shares the gateway's CPUs: an insert runs on one thread (one of Node's
 * libuv workers, where chDB runs its queries), as parallel parsing would briefly take every core
 * for less total work saved. (`os_thread_priority` is not set: the embedded engine ignores it,
 * checked by watching the inserting thread's nice value.) Without
 * optimize_on_insert a batch is not collapsed by the table engine as it is written (rows of one
 * batch never share a request id; the rollup view's GROUP BY already aggregates it): measured,
 * ~25 instead of ~30 µs of chDB CPU per row.
 */
export function writerOptionsFor(
  settings: WriterSettings,
): Pick<EventWriterOptions, 'rows' | 'flushMs' | 'batchSize' | 'insertSettings'> {
  return {
    rows: { storeBodies: settings.store_bodies, maxBodyBytes: settings.max_body_kb * 1024 },
    flushMs: settings.flush_ms,
    batchSize: settings.batch_size,
    ...(settings.clickhouse_url
      ? {}
      : { insertSettings: { input_format_parallel_parsing: 0, max_insert_threads: 1, optimize_on_insert: 0 } }),
  };
}

/**
 * The event writer: `record` encodes the exchange's row at once, in RowBinary (row-binary.ts says
 * why), into a bounded queue outside the JavaScript heap (row-queue.ts); rows of the ingest API's
 * `events` table are queued as JSON lines. A timer or a full batch drains the queues with one
 * insert per batch and table. Encoding at once (after the client has its answer) lets the
 * exchange, with its bodies and headers, die young, and nothing the queue holds is ever moved by
 * the garbage collector. A batch that cannot be inserted after retries is spooled to disk as
 * NDJSON (request rows turned into JSONCompactEachRow lines); while the spool holds anything, new
 * batches go behind it so rows reach ClickHouse in order, and the spool head is retried with
 * growing delays. Each batch keeps one id from first attempt to last replay, sent as
 * `insert_deduplication_token`, so a batch that did land before its acknowledgement was lost is
 * not stored twice. Gateways sharing a data dir (replicas on one volume) share the spool: each
 * claims a batch before replaying it and lists the folder again every `spoolRescanMs` for batches
 * the others spooled or left (spool.ts). Nothing is inserted before `schemaReady` says this
 * process's migrations ran (batches wait in the spool), and a closing writer gives inserts to a
 * server `closeTimeoutMs` in all before it spools the rest.
 *
 * @example
 * const writer = createEventWriter({ client, dataDir: '.watchllm' });
 * registerWriterMetrics(registry, writer);
 * process.on('SIGTERM', () => void writer.close());
 */
export function createEventWriter(opts: EventWriterOptions): EventWriter {
  const {
    client,
    batchSize = 1000,
    flushMs = 1000,
    maxQueue = 100_000,
    maxQueueBytes = 256 * 1024 ** 2,
    batchBytes = 16 * 1024 ** 2,
    spoolMaxBytes = 1024 ** 3,
    attempts = 3,
    retryDelayMs = 200,
    spoolRescanMs = 10_000,
    rows: rowOptions = { storeBodies: true },
    insertSettings = {},
    schemaReady = () => true,
    closeTimeoutMs = 3000,
    logger = createLogger(),
  } = opts;
  // inserts that go over a network, which a closing writer bounds in time
  const remote = !isEmbedded(client);
  const spool = new Spool(join(opts.dataDir, 'spool'), spoolMaxBytes);
  // Encoded rows per table, oldest first, in batches (see row-queue.ts).
  const queues: Record<WriterTable, RowQueue> = {
    requests: new RowQueue({ maxRows: batchSize, chunkBytes: batchBytes }),
    events: new RowQueue({ maxRows: batchSize, chunkBytes: batchBytes }),
  };
  // (the events table's queue, for the ingest API, allocates its chunks when first used)
  queues.requests.reserve();
  // where `record` writes each request row before it is copied into the queue
  const encoder = new RowBinaryEncoder();
  const counts = { inserted: 0, failed: 0, dropped: 0 };
  const warned = { queue: false, spool: false, closed: false };
  /** a replay failed (said once until one succeeds) */
  let replayFailing = false;
  /** batches spooled by a newer version (more columns than this one knows), left for it */
  const newer = new Set<string>();
  const replayable = (b: SpooledBatch) => !newer.has(b.file);
  /** close() has begun; against a server, inserts must then end by `closeBy` */
  let closing = false;
  let closeBy = Infinity;
  /** inserts in flight, which close() cuts short at `closeBy` */
  const inFlight = new Set<AbortController>();
  let closed = false;
  let running: Promise<void> | null = null;
  let again = false;
  let probeDelay = retryDelayMs;
  let nextProbeAt = 0;
  let nextRescanAt = Date.now() + spoolRescanMs; // the constructor has just listed it
  let warnedRescan = false;

  function drop(n: number, why: keyof typeof warned, message: string): void {
    counts.dropped += n;
    if (!warned[why]) {
      warned[why] = true;
      logger.error({ component: 'events', dropped: n }, `${message}; dropping event rows until it recovers (see watchllm_events_dropped_total)`);
    }
  }

  /** Whether a row of `size` bytes may be queued; if not (closed, or the queue full) it is dropped, counted and said once. */
  function admit(size: number): boolean {
    if (closed) {
      drop(1, 'closed', 'event recorded after the writer was closed');
      return false;
    }
    if (queued() >= maxQueue || queuedBytes() + size > maxQueueBytes) {
      drop(1, 'queue', `event queue is full (${maxQueue} rows or ${maxQueueBytes} bytes)`);
      return false;
    }
    warned.queue = false;
    return true;
  }

  /** Queue an `events` row's JSON line, or drop it (see `admit`). */
  function enqueueLine(line: string): boolean {
    const size = RowQueue.size(line);
    if (!admit(size)) return false;
    queues.events.push(line, size);
    return true;
  }

  function queued(): number {
    return queues.requests.rows + queues.events.rows;
  }

  function queuedBytes(): number {
    return queues.requests.bytes + queues.events.bytes;
  }

  let kicked = false;
  /** A full batch drains on the next turn of the event loop, never inside `record`. */
  function kick(): void {
    if (kicked || !(queues.requests.full || queues.events.full)) return;
    kicked = true;
    setImmediate(() => {
      kicked = false;
      void pump(false);
    });
  }

  /** Insert `body`: RowBinary request rows from the queue when `binary`, else NDJSON (the events queue, the spool). */
  async function insert(name: WriterTable, token: string, body: Buffer, binary = false): Promise<void> {
    // Always the batch's own token: ClickHouse drops a replay of a batch that already landed (its
    // acknowledgement lost), and no insert can reuse another batch's token. The rollup view's
    // block is dropped too (migration 8), with this setting, which not every server version has on.
    const settings = { insert_deduplication_token: token, deduplicate_blocks_in_dependent_materialized_views: 1, ...insertSettings };
    // Request rows are arrays in REQUEST_COLUMNS order; event rows, and request rows spooled by
    // an older version, are objects. A spooled array line from before a column was appended has
    // fewer values: it names only the columns it has.
    const compact = !binary && name === 'requests' && body[0] === 0x5b; // '['
    const width = compact ? columnsOf(body) : 0;
    if (width > REQUEST_COLUMNS.length) throw new SpooledByNewer(width);
    const ac = new AbortController();
    inFlight.add(ac);
    const cut = closing && remote ? cutAt(ac) : undefined;
    try {
      await insertRows(client, {
        table: qualified(client, name),
        format: binary ? 'RowBinary' : compact ? 'JSONCompactEachRow' : 'JSONEachRow',
        columns: binary ? REQUEST_COLUMNS : compact ? REQUEST_COLUMNS.slice(0, width) : undefined,
        body,
        settings,
        signal: ac.signal,
      });
    } finally {
      inFlight.delete(ac);
      clearTimeout(cut);
    }
  }

  /** Abort `ac`'s insert when the closing writer's time is up (at once when it is up already). */
  function cutAt(ac: AbortController): NodeJS.Timeout {
    const t = setTimeout(() => ac.abort(new Error('the gateway is stopping: insert cut short, batch spooled')), Math.max(0, closeBy - Date.now()));
    t.unref();
    return t;
  }

  /**
   * A batch ClickHouse refused as bad data, inserted again in halves, and those in halves, down to
   * single rows, so one bad row does not keep the others out. Each part's deduplication token is the
   * batch's with the part's line range: the parts are the same on every try, so a salvage cut short
   * (an outage, a restart) and done again stores no row twice. Resolves with the rows refused alone;
   * rejects on anything but a refusal of the data (the caller retries later).
   */
  async function salvage(name: WriterTable, token: string, body: Buffer): Promise<{ rows: number; inserted: number; body: Buffer }> {
    const lines = linesOf(body);
    const bad: Buffer[] = [];
    const part = async (from: number, to: number): Promise<void> => {
      try {
        await insert(name, `${token}:${from}-${to}`, Buffer.concat(lines.slice(from, to)));
      } catch (err) {
        if (!isPermanent(err, schemaReady())) throw err;
        if (to - from === 1) return void bad.push(lines[from]!);
        const mid = (from + to) >>> 1;
        await part(from, mid);
        await part(mid, to);
      }
    };
    // the whole batch was refused already
    if (lines.length === 1) bad.push(lines[0]!);
    else {
      const mid = lines.length >>> 1;
      await part(0, mid);
      await part(mid, lines.length);
    }
    return { rows: bad.length, inserted: lines.length - bad.length, body: Buffer.concat(bad) };
  }

  async function withRetries(fn: () => Promise<void>): Promise<unknown> {
    let delay = retryDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await fn();
        return null;
      } catch (err) {
        // closing against a server: one attempt, then the spool (see closeTimeoutMs)
        if (attempt >= attempts || (closing && remote) || isPermanent(err, schemaReady())) return err;
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  }

  /** A batch from the queue: the requests queue holds RowBinary rows, the events queue JSON lines. */
  async function deliver(name: WriterTable, batch: RowBatch): Promise<void> {
    const { body, rows } = batch;
    const binary = name === 'requests';
    const token = randomUUID();
    // Behind a spool with batches to replay, go to disk: replay keeps arrival order. So too
    // before this process's migrations ran, and when a closing writer's time is up.
    if (!waiting() && schemaReady() && Date.now() < closeBy) {
      const err = await withRetries(() => insert(name, token, body, binary));
      if (err === null) {
        counts.inserted += rows;
        return;
      }
      counts.failed += rows;
      if (isPermanent(err, schemaReady())) {
        logger.error({ component: 'events', err, table: name, rows }, 'ClickHouse refused a batch');
        // still spooled, then moved aside by replay so a human can look at it
      } else {
        logger.warn({ component: 'events', err, table: name, rows }, 'ClickHouse unreachable, spooling to disk');
      }
    }
    await toSpool(name, token, batch, binary);
  }

  /** Spool a batch as NDJSON (RowBinary rows turned into their JSON lines), keeping its token. */
  async function toSpool(name: WriterTable, token: string, { body, rows }: RowBatch, binary: boolean): Promise<void> {
    try {
      if (await spool.write(name, token, binary ? rowBinaryToLines(body) : body, rows)) return;
      drop(rows, 'spool', `event spool is full (${spoolMaxBytes} bytes in ${spool.dir})`);
    } catch (err) {
      drop(rows, 'spool', `cannot write the event spool in ${spool.dir}: ${String(err)}`);
    }
  }

  /**
   * Look at the spool folder again when due (or forced): other gateways sharing the data dir
   * write, replay and give back batches there (spool.ts). Never rejects; a failure is said once.
   */
  async function rescan(force: boolean): Promise<void> {
    if (!force && Date.now() < nextRescanAt) return;
    nextRescanAt = Date.now() + spoolRescanMs;
    try {
      await spool.rescan();
      warnedRescan = false;
    } catch (err) {
      if (!warnedRescan) logger.warn({ component: 'events', err, dir: spool.dir }, 'cannot read the event spool folder');
      warnedRescan = true;
    }
  }

  /** Whether the spool holds batches this process can replay (not only a newer version's). */
  function waiting(): boolean {
    return spool.peek(replayable) !== undefined;
  }

  /** A replay that did not go in: give the batch back, wait longer, and say so once per outage. */
  async function postpone(head: SpooledBatch, err: unknown): Promise<void> {
    await spool.release(head);
    nextProbeAt = Date.now() + probeDelay;
    probeDelay = Math.min(MAX_PROBE_DELAY_MS, probeDelay * 2);
    if (replayFailing) return;
    replayFailing = true;
    // an answer from ClickHouse or a network failure is an outage; anything else is ours to fix
    const outage = isUnreachable(err) || clickhouseCode(err) !== null;
    logger[outage ? 'warn' : 'error'](
      { component: 'events', err, file: head.file, spooledRows: spool.rows },
      'cannot replay the event spool; retrying with growing delays (said once until a replay succeeds)',
    );
  }

  /**
   * Replay spooled batches oldest first; stop at the first that still fails. Not before this
   * process's migrations ran, nor while closing against a server (the next start replays).
   */
  async function replay(force: boolean): Promise<void> {
    await rescan(force);
    if (!schemaReady() || (closing && remote)) return;
    if (!waiting() || (!force && Date.now() < nextProbeAt)) return;
    for (let batch = spool.peek(replayable); batch; batch = spool.peek(replayable)) {
      const name = batch.table as WriterTable;
      const head = batch;
      let body: Buffer | null = null;
      try {
        // null: another gateway on this spool replayed it or is replaying it (now forgotten)
        body = await spool.claim(head);
        if (body === null) continue;
        // an empty file (a power cut before its data reached the disk) holds nothing to insert
        if (lineCount(body) > 0) await insert(name, head.token, body);
      } catch (err) {
        if (err instanceof SpooledByNewer) {
          // a replica of the next version spooled it on the shared volume (a rolling upgrade):
          // left for such a replica to replay, not refused as bad data
          newer.add(head.file);
          await spool.release(head);
          logger.warn(
            { component: 'events', file: head.file, columns: err.columns, known: REQUEST_COLUMNS.length },
            'a spooled batch was written by a newer gateway version; leaving it for one to replay',
          );
          continue;
        }
        if (body !== null && isPermanent(err, schemaReady())) {
          // bad data: the rows ClickHouse takes go in, the rows it refuses alone are set aside
          let bad: Awaited<ReturnType<typeof salvage>>;
          try {
            bad = await salvage(name, head.token, body);
          } catch (again) {
            await postpone(head, again);
            return;
          }
          counts.inserted += bad.inserted;
          logger.error(
            { component: 'events', err, file: head.file, refused: bad.rows, inserted: bad.inserted },
            'ClickHouse refused rows of a spooled batch; those rows moved to spool/rejected/, the rest stored',
          );
          await spool.reject(head, bad.body);
          continue;
        }
        await postpone(head, err);
        return;
      }
      // the rows that went in: the name's count is what was written, which a cut file may not hold
      counts.inserted += lineCount(body);
      await spool.remove(head);
      probeDelay = retryDelayMs;
      warned.spool = false;
      if (replayFailing) logger.info?.({ component: 'events', spooledRows: spool.rows }, 'event spool replaying again');
      replayFailing = false;
    }
    for (const file of newer) if (!spool.has(file)) newer.delete(file);
  }

  async function drain(force: boolean): Promise<void> {
    await replay(force);
    // The batches queued now. Rows recorded meanwhile wait for the next tick or a full batch:
    // draining until the queue is empty turned steady traffic into a stream of tiny inserts (each
    // one a part for ClickHouse to merge; measured: 60+ merge levels and ~500 µs of chDB CPU per
    // row at 2,000 rows/s, against ~40 with whole batches).
    for (const name of ['requests', 'events'] as const) {
      const q = queues[name];
      for (let left = q.batches; left > 0; left--) {
        const batch = q.shift();
        if (!batch) break;
        try {
          await deliver(name, batch);
        } finally {
          q.release(batch);
        }
        await replay(false);
      }
    }
  }

  /** One drain at a time; a request during a drain runs another right after. */
  function pump(force: boolean): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await drain(force);
        } while (again);
      } catch (err) {
        logger.error({ component: 'events', err }, 'event writer failure');
      } finally {
        running = null;
      }
    })();
    return running;
  }

  async function flush(): Promise<void> {
    // wait for a drain in progress, then run one that also forces a spool replay
    if (running) await running;
    await pump(true);
  }

  const timer = setInterval(() => void pump(false), flushMs);
  timer.unref();
  // a spool left by a previous process is replayed at once
  if (!spool.empty) void pump(true);

  return {
    record(x) {
      encoder.reset();
      try {
        encodeRequestRowBinary(toRow(x, rowOptions), x.ts, encoder);
      } catch (err) {
        drop(1, 'queue', `an exchange could not be mapped to a row: ${String(err)}`);
        return;
      }
      if (admit(encoder.length)) queues.requests.append(encoder.buffer, 0, encoder.length);
      kick();
    },
    recordEvents(rows) {
      let n = 0;
      for (const row of rows) {
        if (!enqueueLine(wellFormedLine(JSON.stringify(row)))) break;
        n++;
      }
      // the rest of the batch is refused too: a caller retrying it keeps the rows in order
      if (n < rows.length - 1) drop(rows.length - n - 1, closed ? 'closed' : 'queue', 'event queue is full');
      kick();
      return n;
    },
    flush,
    async close() {
      clearInterval(timer);
      closing = true;
      if (remote) {
        closeBy = Date.now() + closeTimeoutMs;
        for (const ac of inFlight) cutAt(ac);
      }
      // rows recorded during the last flush are flushed too
      do await flush();
      while (queued() > 0);
      closed = true;
    },
    stats() {
      return { queued: queued(), spooledRows: spool.rows, ...counts };
    },
  };
}
