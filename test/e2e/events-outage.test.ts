import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startClickHouseFront, type ClickHouseFront } from '../clickhouse-front/index.ts';
import { startStack, type Stack } from './harness.ts';
import { eventsOf, requestIdOf } from './events-support.ts';

/**
 * Server mode (WATCHLLM_CLICKHOUSE_URL) through a ClickHouse HTTP front that the test stops and
 * starts: calls made while ClickHouse is away, across a gateway restart, are all stored exactly
 * once when it is back.
 */

const root = mkdtempSync(join(tmpdir(), 'watchllm-events-outage-'));
const gatewayDir = join(root, 'gateway');
let front: ClickHouseFront;
let s: Stack | null = null;
const sent: string[] = [];

beforeAll(async () => {
  front = await startClickHouseFront({ dataDir: join(root, 'clickhouse') });
}, 30_000);

afterAll(async () => {
  await s?.close();
  await front?.stop();
  rmSync(root, { recursive: true, force: true });
});

const start = () => startStack({ clickhouse: true, env: { WATCHLLM_DATA_DIR: gatewayDir, WATCHLLM_CLICKHOUSE_URL: front.url } });

/** `n` calls, alternating JSON and streamed; returns the ids the client got. */
async function calls(stack: Stack, n: number, tag: string): Promise<string[]> {
  const openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-outage-test', maxRetries: 0 });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: `${tag} call ${i}` }] };
    if (i % 2 === 0) {
      const { response } = await openai.chat.completions.create(body).withResponse();
      ids.push(requestIdOf(response.headers));
    } else {
      const { data, response } = await openai.chat.completions.create({ ...body, stream: true }).withResponse();
      for await (const _ of data) void _;
      ids.push(requestIdOf(response.headers));
    }
  }
  sent.push(...ids);
  return ids;
}

/** Rows per request_id as ClickHouse has them now (no flush: what the writer did on its own). */
async function counts(stack: Stack): Promise<Map<string, number>> {
  const rs = await eventsOf(stack.gateway).client.query({
    query: 'SELECT request_id, count() AS n FROM watchllm.requests GROUP BY request_id',
    format: 'JSONEachRow',
  });
  return new Map((await rs.json<{ request_id: string; n: number }>()).map((r) => [r.request_id, r.n]));
}

const spoolFiles = () => readdirSync(join(gatewayDir, 'spool')).filter((f) => f.endsWith('.ndjson'));

describe('ClickHouse outage with a gateway restart in the middle', () => {
  test('every call is stored exactly once after recovery', async () => {
    const first = await start();
    s = first;
    const before = await calls(first, 3, 'before');
    await eventsOf(first.gateway).writer.flush();
    expect([...(await counts(first)).keys()].sort()).toEqual([...before].sort());

    await front.stop();
    // the proxy keeps serving while its event store is away
    await calls(first, 4, 'outage-1');
    // Still ready (events spool to disk), but the outage shows.
    const r = await fetch(`${first.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'degraded', checks: { clickhouse: expect.not.stringMatching(/^ok$/) } });
    // graceful stop during the outage: what is queued goes to the spool on disk
    await first.close();
    s = null;
    expect(spoolFiles().length).toBeGreaterThan(0);

    // a new gateway starts on the same data dir while ClickHouse is still down, and serves
    const second = await start();
    s = second;
    await calls(second, 3, 'outage-2');
    await eventsOf(second.gateway).writer.flush();
    expect(eventsOf(second.gateway).writer.stats()).toMatchObject({ spooledRows: 7, inserted: 0, dropped: 0 });

    await front.start();
    await calls(second, 2, 'after');
    // the writer replays the spool on its own (no flush here), oldest first
    await expect.poll(async () => (await counts(second)).size, { timeout: 20_000, interval: 250 }).toBe(sent.length);
    const stored = await counts(second);
    expect([...stored.keys()].sort()).toEqual([...sent].sort());
    expect([...stored.values()].every((n) => n === 1)).toBe(true);
    expect(eventsOf(second.gateway).writer.stats()).toMatchObject({ queued: 0, spooledRows: 0, dropped: 0 });
    expect(spoolFiles()).toEqual([]);
  }, 60_000);

  test('a final flush on close replays nothing twice', async () => {
    const second = s!;
    await second.close();
    s = null;
    const third = await start();
    s = third;
    const stored = await counts(third);
    expect(stored.size).toBe(sent.length);
    expect([...stored.values()].every((n) => n === 1)).toBe(true);
  });
});
