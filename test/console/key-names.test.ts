import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from '../e2e/harness.ts';
import { eventsOf, requestIdOf } from '../e2e/events-support.ts';
import { get, signIn, tableRows, testId } from './support.ts';

/** Calls made with a gateway key show the key's name beside its id in the console. */

const TOKEN = 'key-names-admin-token-0123456789';
const KEY = 'wl_console_key_names_0123456789ab';
let s: Stack;
let cookie: string;
let id: string;

beforeAll(async () => {
  s = await startStack({
    clickhouse: true,
    yaml: `keys:\n  - name: billing-bot\n    project: acme\n    key: ${KEY}\n`,
    env: { WATCHLLM_ADMIN_TOKEN: TOKEN, WATCHLLM_OPENAI_API_KEY: 'sk-held-key-names' },
  });
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'invoice summary' }] }),
  });
  await res.arrayBuffer();
  id = requestIdOf(res.headers);
  await eventsOf(s.gateway).writer.flush();
  cookie = await signIn(s.url, TOKEN);
});

afterAll(async () => {
  await s?.close();
});

test('usage per key and the call page name the key', async () => {
  const rows = tableRows((await get(`${s.url}/console/usage?group=key_id&range=24h`, cookie)).html, 'usage');
  expect(rows).toHaveLength(1);
  // the id, then the name (set apart by style)
  expect(rows[0]![0]).toMatch(/^cfg_[0-9a-f]{12}billing-bot$/);
  expect(rows[0]![1]).toBe('1');
  const csv = await (await fetch(`${s.url}/console/usage.csv?group=key_id&range=24h`, { headers: { cookie } })).text();
  expect(csv.split('\r\n')[0]).toMatch(/^key_id,key_name,from,to,/);
  expect(csv.split('\r\n')[1]).toMatch(/^cfg_[0-9a-f]+,billing-bot,/);
  const page = await get(`${s.url}/console/requests/${id}`, cookie);
  const key = /<dt[^>]*>key<\/dt>\s*<dd[^>]*>([\s\S]*?)<\/dd>/.exec(page.html)?.[1]?.replace(/<[^>]*>/g, '');
  expect(key).toMatch(/^billing-botcfg_[0-9a-f]{12}/);
  expect(testId(page.html, 'outcome')).toBe('success');
});
