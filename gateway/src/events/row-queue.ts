/**
 * A batch of encoded rows, ready to insert or spool: NDJSON bytes (each line ends with a newline)
 * for rows pushed as lines, RowBinary bytes for rows appended as bytes.
 */
export interface RowBatch {
  body: Buffer;
  rows: number;
}

/** Spare chunks kept: one filling while one is being inserted is what steady traffic needs. */
const SPARE = 2;

interface Chunk {
  buf: Buffer;
  /** bytes written */
  bytes: number;
  rows: number;
}

/**
 * Encoded rows waiting for ClickHouse, held as bytes outside the JavaScript heap (JSON lines, or
 * RowBinary rows: one queue holds one kind), in chunks that are the batches: a chunk takes rows
 * until it holds `maxRows` rows or `chunkBytes` bytes, and `shift` hands the oldest one out whole,
 * so a batch is inserted without being joined or copied. Chunks are reused once their batch is
 * released.
 *
 * Why not an array of strings: rows wait seconds for their batch, so each line survived two young
 * collections and was copied into the old generation, and every flush joined the lines into a
 * string and encoded that into a fresh buffer: about 20 µs of the gateway's main thread per row,
 * measured with a CPU profile under load (join and encode ~3-5 µs of it on first-touched memory,
 * the rest garbage collection). Writing a line into a chunk costs ~0.1 µs once its memory has been
 * touched (the first write into each 4 KiB page takes a page fault: the first ~20,000 rows after a
 * start pay it). Writing lines into a small staging buffer copied into the chunk when full did not
 * measure better.
 *
 * Why `reserve`: the spare chunks are allocated (not touched: untouched pages take no memory) when
 * the writer is made, before any traffic. Allocating a 16 MiB chunk while the gateway serves
 * requests left V8's young-generation collections much costlier for the rest of the process: with
 * the writer's chunks allocated on first use, ~13 s of load at ~2,500 requests/s spent 596-668 ms
 * in scavenges (three processes), against 358-375 ms with them allocated at start (three
 * processes; events off: 384-416), and the main thread ~10-15 µs more per request. V8's
 * allocation-site pretenuring takes part (with it switched off, lazy allocation showed no such
 * scavenges); the exact trigger was not pinned down.
 */
export class RowQueue {
  readonly #chunks: Chunk[] = [];
  /** Released chunks, at most SPARE of them. */
  readonly #free: Buffer[] = [];
  readonly #maxRows: number;
  readonly #chunkBytes: number;
  #rows = 0;
  #bytes = 0;

  /** Chunks of `chunkBytes` (a longer row gets a chunk of its own size), at most `maxRows` rows each. */
  constructor(opts: { maxRows: number; chunkBytes: number }) {
    this.#maxRows = Math.max(1, opts.maxRows);
    this.#chunkBytes = Math.max(1, opts.chunkBytes);
  }

  get rows(): number {
    return this.#rows;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** How many batches `shift` would give now. */
  get batches(): number {
    return this.#chunks.length;
  }

  /** True when a batch is complete: a chunk took no more rows, or the newest is at its bounds. */
  get full(): boolean {
    const last = this.#chunks.at(-1);
    if (last === undefined) return false;
    return this.#chunks.length > 1 || last.rows >= this.#maxRows || last.bytes >= this.#chunkBytes;
  }

  /** Spare chunks ready for rows (released ones). */
  get spare(): number {
    return this.#free.length;
  }

  /** UTF-8 bytes `line` takes in the queue, newline included. */
  static size(line: string): number {
    return Buffer.byteLength(line) + 1;
  }

  /** Append one line (no newline in it: JSON text has none); `size` is `RowQueue.size(line)`. */
  push(line: string, size: number): void {
    const c = this.#chunkFor(size);
    c.bytes += c.buf.write(line, c.bytes);
    c.buf[c.bytes++] = 0x0a;
    this.#added(c, size);
  }

  /** Append one row already encoded: `src[start, end)` is copied. */
  append(src: Buffer, start: number, end: number): void {
    const size = end - start;
    const c = this.#chunkFor(size);
    c.bytes += src.copy(c.buf, c.bytes, start, end);
    this.#added(c, size);
  }

  /** The chunk the next row of `size` bytes goes into: the newest, or a new one when it is at its bounds. */
  #chunkFor(size: number): Chunk {
    let c = this.#chunks.at(-1);
    if (!c || c.rows >= this.#maxRows || c.bytes + size > c.buf.length) {
      c = { buf: this.#alloc(size), bytes: 0, rows: 0 };
      this.#chunks.push(c);
    }
    return c;
  }

  #added(c: Chunk, size: number): void {
    c.rows++;
    this.#rows++;
    this.#bytes += size;
  }

  /** The oldest batch; rows added after this go to a new one. Give it back with `release`. */
  shift(): RowBatch | null {
    const c = this.#chunks.shift();
    if (!c) return null;
    this.#rows -= c.rows;
    this.#bytes -= c.bytes;
    return { body: c.buf.subarray(0, c.bytes), rows: c.rows };
  }

  /** Allocates the spare chunks now (see above), so that rows never wait for a fresh chunk in steady traffic. */
  reserve(): void {
    while (this.#free.length < SPARE) this.#free.push(Buffer.allocUnsafeSlow(this.#chunkBytes));
  }

  /** The batch is inserted or spooled: its memory may hold the next rows. */
  release(batch: RowBatch): void {
    // only standard chunks are kept, and few: the queue's memory shrinks back after a burst
    const { buffer, byteOffset } = batch.body;
    if (byteOffset === 0 && buffer.byteLength === this.#chunkBytes && this.#free.length < SPARE) {
      this.#free.push(Buffer.from(buffer, 0, this.#chunkBytes));
    }
  }

  #alloc(size: number): Buffer {
    if (size > this.#chunkBytes) return Buffer.allocUnsafeSlow(size);
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#chunkBytes);
  }
}
