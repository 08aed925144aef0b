import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';
import { eventsOf } from './events-support.ts';
import { readFileSync } from 'node:fs';
import { COST_PER_MODEL_PER_DAY, PROVIDER_HEALTH_LAST_HOUR, README_QUERIES, TOP_USERS_THIS_MONTH } from './readme-sql.ts';

/**
 * The SQL the README shows, run verbatim against what the real gateway stored in chDB. If a
 * column is renamed or the rollup changes shape, this fails before a user's dashboard does.
 */

let s: Stack;

async function run<T>(sql: string): Promise<T[]> {
  const { client, writer } = eventsOf(s.gateway);
  await writer.flush();
  const rs = await client.query({ query: sql, format: 'JSONEachRow' });
  return rs.json<T>();
}

beforeAll(async () => {
  s = await startStack({ clickhouse: true, env: (fake) => ({ WATCHLLM_MISTRAL_BASE_URL: `${fake}/v1` }) });
  const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-sql-test', maxRetries: 0 });
  const anthropic = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-sql-test', maxRetries: 0 });
  const as = (user: string) => ({ headers: { 'x-watchllm-user': user } });
  const hello = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Say hello to me' }] };
  // alice: two gpt-4o-mini calls, 4 + 4 tokens each
  await openai.chat.completions.create(hello, as('alice'));
  await openai.chat.completions.create(hello, as('alice'));
  // bob: one Claude call (2 + 4 tokens) and one gpt-4o-mini call the provider fails
  await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] }, as('bob'));
  s.fake.next({ status: 500 });
  await expect(openai.chat.completions.create(hello, as('bob'))).rejects.toMatchObject({ status: 500 });
  // carol: a model with no known price
  await openai.chat.completions.create({ ...hello, model: 'mistral/some-unpriced-model' }, as('carol'));
  // a refused call: no provider, no user, so it stays out of all three answers
  const r = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-sql-test' }, body: '{' });
  expect(r.status).toBe(400);
  await r.arrayBuffer();
});
afterAll(() => s?.close());

const today = () => new Date().toISOString().slice(0, 10);

test('the README shows each of these queries verbatim', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const sql of README_QUERIES) expect(readme).toContain(`\`\`\`sql\n${sql}\n\`\`\``);
});

describe('the README queries, against what the gateway stored', () => {
  test('cost per model per day: priced models summed, unpriced shown as NULL and counted', async () => {
    const rows = await run<Record<string, unknown>>(COST_PER_MODEL_PER_DAY);
    expect(rows).toEqual([
      { day: today(), provider: 'anthropic', model: 'claude-sonnet-4-5', requests: 1, prompt_tokens: 2, completion_tokens: 4, cost_usd: 0.000066, unpriced_calls: 0 },
      { day: today(), provider: 'openai', model: 'gpt-4o-mini', requests: 3, prompt_tokens: 8, completion_tokens: 8, cost_usd: 0.000006, unpriced_calls: 0 },
      { day: today(), provider: 'mistral', model: 'mistral/some-unpriced-model', requests: 1, prompt_tokens: 4, completion_tokens: 4, cost_usd: null, unpriced_calls: 1 },
    ]);
  });

  test('p95 latency and error rate per provider over the last hour, from the minute rollup', async () => {
    const rows = await run<{ provider: string; requests: number; error_rate: number; p95_latency_ms: number }>(PROVIDER_HEALTH_LAST_HOUR);
    expect(rows.map(({ provider, requests, error_rate }) => ({ provider, requests, error_rate }))).toEqual([
      { provider: 'openai', requests: 3, error_rate: 0.3333 },
      { provider: 'anthropic', requests: 1, error_rate: 0 },
      { provider: 'mistral', requests: 1, error_rate: 0 },
    ]);
    const [max] = await run<{ m: number }>(`SELECT max(latency_ms) AS m FROM watchllm.requests WHERE provider = 'openai'`);
    for (const r of rows) expect(r.p95_latency_ms).toBeGreaterThan(0);
    expect(rows[0]!.p95_latency_ms).toBeLessThanOrEqual(Math.round(max!.m * 10) / 10 + 0.1);
  });

  test('top users by spend this month', async () => {
    const rows = await run<Record<string, unknown>>(TOP_USERS_THIS_MONTH);
    expect(rows).toEqual([
      { user: 'bob', requests: 2, tokens: 6, cost_usd: 0.000066, unpriced_calls: 0 },
      { user: 'alice', requests: 2, tokens: 16, cost_usd: 0.000006, unpriced_calls: 0 },
      { user: 'carol', requests: 1, tokens: 8, cost_usd: null, unpriced_calls: 1 },
    ]);
  });
});
