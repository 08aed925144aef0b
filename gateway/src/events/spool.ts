import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
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

/** A batch waiting for replay: `<ms>-<seq>.<table>.<rows>.<token>.ndjson`. */
const NAME = /^(\d{15})-(\d{6})\.([a-z_0-9]+)\.(\d+)\.([A-Za-z0-9_-]+)\.ndjson$/;
/** A batch taken for replay by one process: `<batch>.claim.<ms>.<owner>`. */
const CLAIM = /^(.+\.ndjson)\.claim\.(\d+)\.([A-Za-z0-9_-]+)$/;
/** A batch being written: `<batch>.<owner>.tmp` (`<batch>.tmp` before spools were shared). */
const TMP = /^.+\.ndjson(?:\.([A-Za-z0-9_-]+))?\.tmp$/;

/**
 * A claim older than this is taken back, whoever holds it: a claim lasts one insert attempt
 * (30 s at most against a server), so its holder died. Should it still be alive, both insert the
 * batch and its deduplication token keeps one.
 */
export const CLAIM_STALE_MS = 10 * 60_000;
/** A `.tmp` older than this is a write that crashed (a write takes milliseconds). */
export const TMP_STALE_MS = 60 * 60_000;

const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '-') || 'host';

/**
 * Who holds a claim or writes a `.tmp`: host (the container id under Docker), pid, and a nonce
 * telling this process from an earlier one with the same pid (pid 1 in a restarted container).
 */
export function spoolOwner(): string {
  return `${HOST}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Owners of the spools open in this process (tests open several on one folder). */
const liveHere = new Set<string>();

/** Whether `owner` (of a claim or `.tmp` found on disk) is a process of this host that has exited. */
function deadOnThisHost(owner: string): boolean {
  const [host, pid, nonce] = owner.split('_');
  if (host !== HOST || nonce === undefined || liveHere.has(owner)) return false;
  if (Number(pid) === process.pid) return true; // our pid, but no spool of ours: an earlier life
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/**
 * Batches ClickHouse did not take, kept under `dir` in arrival order until they can be replayed.
 * Files are written whole to a temp name and renamed, so a crash leaves either a complete batch or
 * a `.tmp` (no fsync: a power cut may lose the newest batches, a process crash does not).
 * Survives restarts: the constructor indexes what a previous process left.
 *
 * The folder may be shared by several gateways (replicas on one data volume, as in
 * docker-compose.yml), so nothing here assumes it is the only one at work:
 * - a batch is claimed before it is replayed, by renaming it to a name carrying this process's
 *   id: the rename is atomic, so one process replays it; the others find it gone and forget it,
 *   as they forget a batch another process already replayed (a missing file is not an error);
 * - a claim lasts one insert attempt: a failed attempt renames the batch back for anyone to
 *   retry, and a claim left by a dead process is taken back by `rescan` (at once when it died on
 *   this host, after CLAIM_STALE_MS otherwise);
 * - `rescan` (the writer calls it every few seconds) picks up batches other processes wrote;
 * - a `.tmp` is deleted only when its writer is known dead or it is older than TMP_STALE_MS.
 * One shared folder (rather than one per replica) needs no owner to be alive for its batches to
 * be replayed, and keeps the disk budget for the volume as a whole.
 */
export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly owner: string;
  #batches: SpooledBatch[] = [];
  /** batches being written by this process, not on disk under their name yet */
  #writing = new Set<SpooledBatch>();
  /** batches this process has claimed, with the claim's file name */
  #claims = new Map<SpooledBatch, string>();
  #bytes = 0;
  #rows = 0;
  #seq = 0;

  constructor(dir: string, maxBytes: number, owner = spoolOwner()) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.owner = owner;
    liveHere.add(owner);
    // the data dir and the spool (prompts and answers) are the gateway user's alone
    mkdirSync(join(dir, 'rejected'), { recursive: true, mode: 0o700 });
    const now = Date.now();
    for (const name of readdirSync(dir).sort()) {
      try {
        if (NAME.test(name)) this.#adopt(name, statSync(join(dir, name)).size);
        else if (this.#abandonedTmp(name, now, () => statSync(join(dir, name)).mtimeMs)) rmSync(join(dir, name), { force: true });
        else {
          const batch = this.#abandonedClaim(name, now);
          if (batch === null) continue;
          renameSync(join(dir, name), join(dir, batch));
          this.#adopt(batch, statSync(join(dir, batch)).size);
        }
      } catch (err) {
        if (!missing(err)) throw err; // taken by another process meanwhile
      }
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

  /** The oldest batch, next to replay; the oldest that `wanted` accepts, when given. */
  peek(wanted?: (batch: SpooledBatch) => boolean): SpooledBatch | undefined {
    return wanted ? this.#batches.find(wanted) : this.#batches[0];
  }

  /** Whether the batch written as `file` is still waiting (or claimed by this process). */
  has(file: string): boolean {
    return this.#batches.some((b) => b.file === file);
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
    const tmp = join(this.dir, `${file}.${this.owner}.tmp`);
    // Reserve the budget before the await so concurrent writers cannot both pass the check.
    const batch: SpooledBatch = { file, table, token, rows, bytes };
    this.#push(batch);
    this.#writing.add(batch);
    try {
      await writeFile(tmp, body);
      await rename(tmp, join(this.dir, file));
    } catch (err) {
      this.#drop(batch);
      await rm(tmp, { force: true }).catch(() => {});
      throw err;
    } finally {
      this.#writing.delete(batch);
    }
    return true;
  }

  /**
   * Take a batch for replay and read it; null when it is gone (another process replayed it or is
   * replaying it), and then forgotten. Follow with `remove`, `release` or `reject`.
   */
  async claim(batch: SpooledBatch): Promise<Buffer | null> {
    const claimed = `${batch.file}.claim.${Date.now()}.${this.owner}`;
    try {
      await rename(join(this.dir, batch.file), join(this.dir, claimed));
    } catch (err) {
      if (!missing(err)) throw err;
      this.#drop(batch);
      return null;
    }
    this.#claims.set(batch, claimed);
    try {
      return await readFile(join(this.dir, claimed));
    } catch (err) {
      if (missing(err)) {
        this.#drop(batch);
        return null;
      }
      await this.release(batch);
      throw err;
    }
  }

  /** Forget a batch once ClickHouse has it. */
  async remove(batch: SpooledBatch): Promise<void> {
    await rm(join(this.dir, this.#claims.get(batch) ?? batch.file), { force: true });
    this.#drop(batch);
  }

  /** Give a claimed batch back after a failed attempt, for this or another process to retry. */
  async release(batch: SpooledBatch): Promise<void> {
    const claimed = this.#claims.get(batch);
    if (claimed === undefined) return;
    this.#claims.delete(batch);
    try {
      await rename(join(this.dir, claimed), join(this.dir, batch.file));
    } catch (err) {
      // taken back as stale meanwhile: the next scan finds it wherever it went
      if (!missing(err)) throw err;
      this.#drop(batch);
    }
  }

  /**
   * Keep a batch ClickHouse refuses for good (bad data) for a human, out of the replay queue: whole,
   * or only `lines`, those refused when the rest went in.
   */
  async reject(batch: SpooledBatch, lines?: Buffer): Promise<void> {
    const from = join(this.dir, this.#claims.get(batch) ?? batch.file);
    const to = join(this.dir, 'rejected', batch.file);
    try {
      if (lines === undefined) {
        await rename(from, to);
      } else {
        // only the lines ClickHouse refused (the rest of the batch went in)
        await writeFile(`${to}.tmp`, lines);
        await rename(`${to}.tmp`, to);
        await rm(from, { force: true });
      }
    } catch (err) {
      if (!missing(err)) throw err;
    }
    this.#drop(batch);
  }

  /**
   * Bring the index in line with the folder: adopt batches other processes wrote or gave back,
   * take back claims and delete `.tmp` files their dead owners left, and forget batches that
   * are no longer waiting (replayed, or being replayed, by another process).
   */
  async rescan(): Promise<void> {
    const now = Date.now();
    const known = new Map(this.#batches.map((b) => [b.file, b]));
    const waiting = new Map<string, number>();
    for (const name of await readdir(this.dir)) {
      try {
        if (NAME.test(name)) {
          waiting.set(name, known.get(name)?.bytes ?? (await stat(join(this.dir, name))).size);
        } else if (await this.#abandonedTmpAsync(name, now)) {
          await rm(join(this.dir, name), { force: true });
        } else {
          const batch = this.#abandonedClaim(name, now);
          if (batch === null) continue;
          await rename(join(this.dir, name), join(this.dir, batch));
          waiting.set(batch, (await stat(join(this.dir, batch))).size);
        }
      } catch (err) {
        if (!missing(err)) throw err;
      }
    }
    for (const b of [...this.#batches]) {
      if (!waiting.has(b.file) && !this.#writing.has(b) && !this.#claims.has(b)) this.#drop(b);
    }
    for (const b of this.#batches) waiting.delete(b.file);
    for (const [name, bytes] of waiting) this.#adopt(name, bytes);
    this.#batches.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }

  /** The batch file name to restore, when `name` is a claim its holder will never finish. */
  #abandonedClaim(name: string, now: number): string | null {
    const m = CLAIM.exec(name);
    if (!m) return null;
    const [, batch = '', at, owner = ''] = m;
    if (owner === this.owner) return [...this.#claims.values()].includes(name) ? null : batch;
    return now - Number(at) > CLAIM_STALE_MS || deadOnThisHost(owner) ? batch : null;
  }

  /** Whether `name` is a `.tmp` nobody will finish writing (never one this process is writing). */
  #abandonedTmp(name: string, now: number, mtimeMs: () => number): boolean {
    const m = TMP.exec(name);
    if (!m) return false;
    const owner = m[1];
    if (owner === this.owner) return false;
    if (owner !== undefined && deadOnThisHost(owner)) return true;
    return now - mtimeMs() > TMP_STALE_MS;
  }

  async #abandonedTmpAsync(name: string, now: number): Promise<boolean> {
    if (!TMP.test(name)) return false;
    const { mtimeMs } = await stat(join(this.dir, name));
    return this.#abandonedTmp(name, now, () => mtimeMs);
  }

  #adopt(name: string, bytes: number): void {
    const m = NAME.exec(name);
    if (!m) return;
    this.#push({ file: name, table: m[3] ?? '', rows: Number(m[4]), token: m[5] ?? '', bytes });
  }

  #push(batch: SpooledBatch): void {
    this.#batches.push(batch);
    this.#bytes += batch.bytes;
    this.#rows += batch.rows;
  }

  #drop(batch: SpooledBatch): void {
    this.#claims.delete(batch);
    const i = this.#batches.indexOf(batch);
    if (i < 0) return;
    this.#batches.splice(i, 1);
    this.#bytes -= batch.bytes;
    this.#rows -= batch.rows;
  }
}
