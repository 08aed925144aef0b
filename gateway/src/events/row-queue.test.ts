import { describe, expect, test } from 'vitest';
import { RowQueue, type RowBatch } from './row-queue.ts';

const push = (q: RowQueue, line: string): void => q.push(line, RowQueue.size(line));
const lines = (b: RowBatch | null): string[] => (b ? b.body.toString('utf8').split('\n').slice(0, -1) : []);

describe('RowQueue', () => {
  test('hands out the oldest batch first, each line ending with a newline', () => {
    const q = new RowQueue({ maxRows: 2, chunkBytes: 1024 });
    for (const l of ['["a"]', '["b"]', '["c"]']) push(q, l);
    expect({ rows: q.rows, batches: q.batches, full: q.full }).toEqual({ rows: 3, batches: 2, full: true });
    const first = q.shift();
    expect(first?.body.toString()).toBe('["a"]\n["b"]\n');
    expect(first?.rows).toBe(2);
    expect(lines(q.shift())).toEqual(['["c"]']);
    expect(q.shift()).toBeNull();
    expect({ rows: q.rows, bytes: q.bytes }).toEqual({ rows: 0, bytes: 0 });
  });

  test('a batch is cut by bytes too, and a line longer than a chunk is a batch of its own', () => {
    const q = new RowQueue({ maxRows: 100, chunkBytes: 12 });
    for (const l of ['"aaaa"', '"bbbb"', '"cccccccccccccccccccc"', '"d"']) push(q, l);
    expect([q.shift(), q.shift(), q.shift(), q.shift()].map(lines)).toEqual([['"aaaa"'], ['"bbbb"'], ['"cccccccccccccccccccc"'], ['"d"']]);
  });

  test('full says a batch is ready, by rows or by bytes', () => {
    const byRows = new RowQueue({ maxRows: 2, chunkBytes: 1024 });
    push(byRows, '1');
    expect(byRows.full).toBe(false);
    push(byRows, '2');
    expect(byRows.full).toBe(true);
    const byBytes = new RowQueue({ maxRows: 100, chunkBytes: 4 });
    push(byBytes, '12');
    expect(byBytes.full).toBe(false);
    push(byBytes, '3');
    expect(byBytes.full).toBe(true);
  });

  test('sizes are UTF-8 bytes: non-ASCII text is written whole', () => {
    const q = new RowQueue({ maxRows: 10, chunkBytes: 64 });
    const line = JSON.stringify(['héllo', '日本語', '🙂']);
    push(q, line);
    expect(q.bytes).toBe(Buffer.byteLength(line) + 1);
    expect(lines(q.shift())).toEqual([line]);
  });

  test('a released chunk holds the next lines, and only them', () => {
    const q = new RowQueue({ maxRows: 3, chunkBytes: 64 });
    for (const l of ['"one"', '"two"', '"three"']) push(q, l);
    const first = q.shift() as RowBatch;
    const memory = first.body.buffer;
    q.release(first);
    push(q, '"four"');
    const second = q.shift() as RowBatch;
    expect(second.body.buffer).toBe(memory);
    expect(lines(second)).toEqual(['"four"']);
  });

  test('a batch not yet released is never overwritten by new lines', () => {
    const q = new RowQueue({ maxRows: 1, chunkBytes: 64 });
    push(q, '"held"');
    const held = q.shift() as RowBatch;
    for (let i = 0; i < 5; i++) {
      push(q, `"new ${i}"`);
      q.release(q.shift() as RowBatch);
    }
    expect(lines(held)).toEqual(['"held"']);
  });

  test('reserve allocates the spare chunks up front: lines go into them, and nothing is queued by it', () => {
    const q = new RowQueue({ maxRows: 2, chunkBytes: 64 });
    q.reserve();
    expect({ rows: q.rows, bytes: q.bytes, batches: q.batches, spare: q.spare }).toEqual({ rows: 0, bytes: 0, batches: 0, spare: 2 });
    for (const l of ['"a"', '"b"', '"c"']) push(q, l);
    // both batches were written into reserved memory: no spare left, none allocated beyond them
    expect(q.spare).toBe(0);
    const first = q.shift() as RowBatch;
    const second = q.shift() as RowBatch;
    expect([lines(first), lines(second)]).toEqual([['"a"', '"b"'], ['"c"']]);
    expect(first.body.buffer).not.toBe(second.body.buffer);
    // reserving again tops the spares up to two, never more
    q.release(first);
    q.reserve();
    q.reserve();
    expect(q.spare).toBe(2);
  });
});
