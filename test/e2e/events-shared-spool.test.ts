import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startClickHouseFront, type ClickHouseFront } from '../clickhouse-front/index.ts';
import { startStack, type Stack } from './harness.ts';
import { eventsOf, requestIdOf } from './events-support.ts';

/**
 * Two replicas on one data volume, as `docker compose up --scale gateway=N` runs them: they share
 * the spool folder. Through a ClickHouse outage, every call either of them served is stored
 * exactly once, and neither stops recording because the other replayed its batches.
 */

const root = mkdtempSync(join(tmpdir(), 'watchllm-events-shared-'));
const volume = join(root, 'gateway');
let front: ClickHouseFront;
const stacks: Stack[] = [];
const sent: string[] = [];

beforeAll(async () => {
  front = await startClickHouseFront({ dataDir: join(root, 'clickhouse') });
}, 30_000);

afterAll(async () => {
  for (const s of stacks) await s.close();
  await front?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function replica(): Promise<Stack> {
  const s = await startStack({ clickhouse: true, env: { WATCHLLM_DATA_DIR: volume, WATCHLLM_CLICKHOUSE_URL: front.url } });
  stacks.push(s);
  return s;
}

async function calls(s: Stack, n: number, tag: string): Promise<void> {
  const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-shared-spool', maxRetries: 0 });
  for (let i = 0; i < n; i++) {
    const { response } = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${tag} ${i}` }] })
      .withResponse();
    sent.push(requestIdOf(response.headers));
  }
}

/** Rows per request_id as ClickHouse has them now (no flush: what the writers did on their own). */
async function stored(s: Stack): Promise<Map<string, number>> {
  const rs = await eventsOf(s.gateway).client.query({
    query: 'SELECT request_id, count() AS n FROM watchllm.requests GROUP BY request_id',
    format: 'JSONEachRow',
  });
  return new Map((await rs.json<{ request_id: string; n: number }>()).map((r) => [r.request_id, r.n]));
}

describe('replicas sharing one spool folder', () => {
  test('every call is stored once after an outage, and both replicas keep recording', async () => {
    const a = await replica();
    await calls(a, 1, 'before');
    await eventsOf(a.gateway).writer.flush();

    await front.stop();
    await calls(a, 3, 'outage-a');
    await eventsOf(a.gateway).writer.flush();
    // the second replica starts during the outage and finds the first one's batches
    const b = await replica();
    expect(eventsOf(b.gateway).writer.stats().spooledRows).toBe(3);
    await calls(b, 3, 'outage-b');
    await eventsOf(b.gateway).writer.flush();

    await front.start();
    await calls(a, 2, 'after-a');
    await calls(b, 2, 'after-b');
    await expect.poll(async () => (await stored(a)).size, { timeout: 30_000, interval: 250 }).toBe(sent.length);
    const rows = await stored(a);
    expect([...rows.keys()].sort()).toEqual([...sent].sort());
    expect([...rows.values()].every((n) => n === 1)).toBe(true);
    // each has forgotten the batches the other replayed (by its next probe or rescan)
    for (const s of [a, b]) {
      await expect.poll(() => eventsOf(s.gateway).writer.stats(), { timeout: 15_000 }).toMatchObject({ queued: 0, spooledRows: 0, dropped: 0 });
    }
    expect(readdirSync(join(volume, 'spool')).filter((f) => f !== 'rejected')).toEqual([]);
  }, 60_000);
});
