/**
 * Body storage per gateway key: a key with `storeBodies: false` (admin API) or `store_bodies: false`
 * (watchllm.yaml) has its calls recorded in ClickHouse without request or response bodies, while
 * every other column is kept and the client's answers are unchanged. Other keys keep their bodies.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';
import { requestIdOf, storedRows } from './events-support.ts';

const ADMIN = 'admin-token-bodies-0123456789';
const HELD = 'sk-held-by-gateway-bodies-0123456789';
const QUIET_KEY = 'wl_quiet_yaml_0123456789abcdefghij';
const LOUD_KEY = 'wl_loud_yaml_0123456789abcdefghijk';
const PROMPT = 'Tell me about the confidential merger plan';

let s: Stack;

beforeAll(async () => {
  s = await startStack({
    clickhouse: true,
    yaml: [
      'keys:',
      `  - { name: quiet, project: acme, key: ${QUIET_KEY}, store_bodies: false }`,
      `  - { name: loud, project: acme, key: ${LOUD_KEY} }`,
    ].join('\n'),
    env: { WATCHLLM_OPENAI_API_KEY: HELD, WATCHLLM_ADMIN_TOKEN: ADMIN },
  });
});
afterAll(() => s.close());

const clientFor = (key: string) => new OpenAI({ baseURL: `${s.url}/v1`, apiKey: key, maxRetries: 0 });

/** One JSON and one streamed call with `key`; the ids the client got and the answers it read. */
async function callsWith(key: string): Promise<{ ids: string[]; answers: string[] }> {
  const client = clientFor(key);
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] })
    .withResponse();
  s.fake.next({ text: 'the merger is secret', chunks: 4 });
  const { data: stream, response: streamed } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }], stream: true })
    .withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return { ids: [requestIdOf(response.headers), requestIdOf(streamed.headers)], answers: [data.choices[0]?.message.content ?? '', text] };
}

describe('body storage per gateway key', () => {
  test('a key declared with store_bodies: false is recorded without bodies; the answers and the other columns are whole', async () => {
    const quiet = await callsWith(QUIET_KEY);
    const loud = await callsWith(LOUD_KEY);
    expect(quiet.answers).toEqual(loud.answers);
    expect(quiet.answers[1]).toBe('the merger is secret');

    const rows = await storedRows(s.gateway);
    const byId = new Map(rows.map((r) => [r.request_id, r]));
    for (const id of quiet.ids) {
      const row = byId.get(id);
      expect(row, `row ${id}`).toMatchObject({ request_body: '', response_body: '', outcome: 'success', project: 'acme', model: 'gpt-4o-mini' });
      expect(row!.completion_tokens).toBeGreaterThan(0);
      expect(row!.request_bytes).toBeGreaterThan(PROMPT.length);
    }
    for (const id of loud.ids) {
      const row = byId.get(id)!;
      expect(row.request_body).toContain(PROMPT);
      expect(row.response_body).toContain(id === loud.ids[1] ? 'the merger is secret' : 'Hello from fake');
    }
  });

  test('POST /admin/keys with storeBodies: false creates such a key; it is listed with the setting', async () => {
    const r = await fetch(`${s.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ project: 'acme', name: 'no-bodies', storeBodies: false }),
    });
    expect(r.status).toBe(201);
    const created = (await r.json()) as { id: string; key: string; storeBodies?: boolean };
    expect(created.storeBodies).toBe(false);
    const list = (await (await fetch(`${s.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
      data: Array<{ id: string; storeBodies?: boolean }>;
    };
    expect(list.data.find((k) => k.id === created.id)?.storeBodies).toBe(false);

    const { ids } = await callsWith(created.key);
    const rows = await storedRows(s.gateway);
    for (const id of ids) expect(rows.find((row) => row.request_id === id)).toMatchObject({ request_body: '', response_body: '', key_id: created.id });
  });

  test('storeBodies must be a boolean', async () => {
    const r = await fetch(`${s.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ project: 'acme', storeBodies: 'no' }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/storeBodies/);
  });
});
