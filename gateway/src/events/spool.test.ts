import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CLAIM_STALE_MS, Spool } from './spool.ts';

/**
 * The spool folder shared by gateways on one data volume (docker-compose replicas): two Spool
 * instances on one folder stand for two gateways.
 */

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'watchllm-spool-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const body = (n: number) => Buffer.from(`{"n":${n}}\n`);
const files = (dir: string) => readdirSync(dir).filter((f) => f !== 'rejected').sort();
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '-');

async function spoolWith(dir: string, n: number): Promise<Spool> {
  const s = new Spool(dir, 1 << 20);
  for (let i = 1; i <= n; i++) await s.write('events', `token-${i}`, body(i), 1);
  return s;
}

describe('Spool shared by several gateways', () => {
  test('a batch is replayed by one gateway: the other finds it gone and forgets it, without an error', async () => {
    const dir = tempDir();
    const a = await spoolWith(dir, 2);
    const b = new Spool(dir, 1 << 20); // started later: lists a's batches
    expect(b.rows).toBe(2);

    const head = b.peek()!;
    expect(await b.claim(head)).toEqual(body(1));
    // claimed by b: a cannot take it too
    expect(await a.claim(a.peek()!)).toBeNull();
    await b.remove(head);
    // replayed by b: a forgot it and moves on to the next one
    expect(a.rows).toBe(1);
    expect(await a.claim(a.peek()!)).toEqual(body(2));
    await a.remove(a.peek()!);
    expect(await b.claim(b.peek()!)).toBeNull();
    expect([a.empty, b.empty]).toEqual([true, true]);
    expect(files(dir)).toEqual([]);
  });

  test('a failed attempt gives the batch back, for any gateway to retry', async () => {
    const dir = tempDir();
    const a = await spoolWith(dir, 1);
    const b = new Spool(dir, 1 << 20);
    const batch = a.peek()!;
    await a.claim(batch);
    expect(await b.claim(b.peek()!)).toBeNull();
    await a.release(batch);
    expect(a.rows).toBe(1);
    await b.rescan();
    expect(await b.claim(b.peek()!)).toEqual(body(1));
  });

  test('a rescan adopts batches written after start and forgets those replayed elsewhere', async () => {
    const dir = tempDir();
    const a = new Spool(dir, 1 << 20);
    const b = await spoolWith(dir, 3);
    expect(a.empty).toBe(true);
    await a.rescan();
    expect([a.rows, a.bytes]).toEqual([3, b.bytes]);
    const first = b.peek()!;
    await b.claim(first);
    await b.remove(first);
    await a.rescan();
    expect(a.rows).toBe(2);
    expect(await a.claim(a.peek()!)).toEqual(body(2));
  });

  test('a claim left by a gateway that died is taken back; a live one is left alone', async () => {
    const dir = tempDir();
    const batch = (i: number) => `00000170000000${i}-000000.events.1.token-${i}.ndjson`;
    const stale = `${batch(1)}.claim.${Date.now() - CLAIM_STALE_MS - 1000}.otherhost_1_0abc`;
    const fresh = `${batch(2)}.claim.${Date.now()}.otherhost_1_0abc`;
    // died on this host: our pid, a nonce no live spool has (an earlier life of this container)
    const dead = `${batch(3)}.claim.${Date.now()}.${HOST}_${process.pid}_dead`;
    for (const [i, f] of [stale, fresh, dead].entries()) writeFileSync(join(dir, f), body(i + 1));

    const s = new Spool(dir, 1 << 20);
    expect(s.rows).toBe(2);
    expect(files(dir)).toEqual([batch(1), fresh, batch(3)]);
    expect(await s.claim(s.peek()!)).toEqual(body(1));
  });

  test('a starting gateway deletes only the .tmp files nobody will finish', async () => {
    const dir = tempDir();
    const name = '000001700000000-000000.events.1.tok.ndjson';
    const writing = `${name}.otherhost_7_0abc.tmp`; // another gateway, writing now
    const writingHere = `${name}.${new Spool(dir, 1).owner}.tmp`; // a live spool of this process
    const old = `${name}.otherhost_1_0abc.tmp`;
    const dead = `${name}.${HOST}_${process.pid}_dead.tmp`; // this pid, no such spool: an earlier life
    const legacy = `${name}.tmp`;
    for (const f of [writing, writingHere, old, dead, legacy]) writeFileSync(join(dir, f), '{}\n');
    const hoursAgo = Date.now() / 1000 - 2 * 3600;
    utimesSync(join(dir, old), hoursAgo, hoursAgo);
    new Spool(dir, 1 << 20);
    expect(files(dir)).toEqual([legacy, writing, writingHere].sort());
  });
});

test('the data dir and spool it creates are readable by the gateway user only (they hold prompts and answers)', () => {
  const data = join(tempDir(), 'data');
  new Spool(join(data, 'spool'), 1 << 20);
  for (const d of [data, join(data, 'spool'), join(data, 'spool', 'rejected')]) expect(statSync(d).mode & 0o777).toBe(0o700);
});
