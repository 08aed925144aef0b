import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A batch waiting on disk: one NDJSON file (the rows as the writer encoded them), named so that
 * replay order and counts need no read.
 */
export interface SpooledBatch {
  file: string;
  table: string;
  /** The batch id, used as `insert_deduplication_token` on every attempt. */
  token: string;
  rows: number;
  bytes: number;
}

const NAME = /^(\d{15})-(\d{6})\.([a-z_0-9]+)\.(\d+)\.([A-Za-z0-9_-]+)\.ndjson$/;

/**
 * Batches ClickHouse did not take, kept under `dir` in arrival order until they can be replayed.
 * Files are written whole to a temp name and renamed, so a crash leaves either a complete batch or
 * a `.tmp` that the next start deletes (no fsync: a power cut may lose the newest batches, a
 * process crash does not). Survives restarts: the constructor indexes what a previous process left.
 */
export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  #batches: SpooledBatch[] = [];
  #bytes = 0;
  #rows = 0;
  #seq = 0;

  constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    mkdirSync(join(dir, 'rejected'), { recursive: true });
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith('.tmp')) {
        rmSync(join(dir, name), { force: true });
        continue;
      }
      const m = NAME.exec(name);
      if (!m) continue;
      const bytes = statSync(join(dir, name)).size;
      this.#push({ file: name, table: m[3] ?? '', rows: Number(m[4]), token: m[5] ?? '', bytes });
    }
  }

  get rows(): number {
    return this.#rows;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get empty(): boolean {
    return this.#batches.length === 0;
  }

  /** The oldest batch, next to replay. */
  peek(): SpooledBatch | undefined {
    return this.#batches[0];
  }

  /**
   * Append a batch of `rows` encoded rows (NDJSON, each line ending with a newline); false (nothing
   * written) when it would exceed the disk budget.
   */
  async write(table: string, token: string, body: Uint8Array, rows: number): Promise<boolean> {
    const bytes = body.byteLength;
    if (this.#bytes + bytes > this.maxBytes) return false;
    const seq = String(this.#seq++ % 1_000_000).padStart(6, '0');
    const file = `${String(Date.now()).padStart(15, '0')}-${seq}.${table}.${rows}.${token}.ndjson`;
    // Reserve the budget before the await so concurrent writers cannot both pass the check.
    const batch: SpooledBatch = { file, table, token, rows, bytes };
    this.#push(batch);
    try {
      await writeFile(join(this.dir, `${file}.tmp`), body);
      await rename(join(this.dir, `${file}.tmp`), join(this.dir, file));
    } catch (err) {
      this.#drop(batch);
      throw err;
    }
    return true;
  }

  /** The batch's NDJSON, as written. */
  async read(batch: SpooledBatch): Promise<Buffer> {
    return readFile(join(this.dir, batch.file));
  }

  /** Forget a batch once ClickHouse has it. */
  async remove(batch: SpooledBatch): Promise<void> {
    await rm(join(this.dir, batch.file), { force: true });
    this.#drop(batch);
  }

  /** Keep a batch ClickHouse refuses for good (bad data) for a human, out of the replay queue. */
  async reject(batch: SpooledBatch): Promise<void> {
    await rename(join(this.dir, batch.file), join(this.dir, 'rejected', batch.file));
    this.#drop(batch);
  }

  #push(batch: SpooledBatch): void {
    this.#batches.push(batch);
    this.#bytes += batch.bytes;
    this.#rows += batch.rows;
  }

  #drop(batch: SpooledBatch): void {
    const i = this.#batches.indexOf(batch);
    if (i < 0) return;
    this.#batches.splice(i, 1);
    this.#bytes -= batch.bytes;
    this.#rows -= batch.rows;
  }
}
