import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from '../e2e/harness.ts';
import { eventsOf, requestIdOf } from '../e2e/events-support.ts';
import { decode, get, linkedRequestIds, signIn, tableRows, testId } from './support.ts';

/**
 * Calls made with a gateway key show the key's name beside its id in the console; a budget past its
 * soft threshold shows on the overview.
 */

const TOKEN = 'key-names-admin-token-0123456789';
const KEY = 'wl_console_key_names_0123456789ab';
const BUDGETED = 'wl_console_budgeted_0123456789ab';
let s: Stack;
let cookie: string;
let id: string;

beforeAll(async () => {
  s = await startStack({
    clickhouse: true,
    yaml: [
      'budgets:',
      '  soft_threshold: 0.5',
      'keys:',
      '  - name: billing-bot',
      '    project: acme',
      `    key: ${KEY}`,
      '  - name: budgeted',
      '    project: acme',
      `    key: ${BUDGETED}`,
      // gpt-4o-mini: a call of 2 words in, 4 out with max_tokens 5 reserves ~$0.0000035 and costs ~$0.0000027
      '    budget: { usd: 0.00002, period: month }',
    ].join('\n'),
    env: { WATCHLLM_ADMIN_TOKEN: TOKEN, WATCHLLM_OPENAI_API_KEY: 'sk-held-key-names' },
  });
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'invoice summary' }] }),
  });
  await res.arrayBuffer();
  id = requestIdOf(res.headers);
  // spend the budgeted key past half of its budget: the calls after that record it
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BUDGETED}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'short please' }] }),
    });
    expect(r.status).toBe(200);
    await r.arrayBuffer();
  }
  await eventsOf(s.gateway).writer.flush();
  cookie = await signIn(s.url, TOKEN);
});

afterAll(async () => {
  await s?.close();
});

test('usage per key and the call page name the key', async () => {
  const rows = tableRows((await get(`${s.url}/console/usage?group=key_id&range=24h`, cookie)).html, 'usage');
  expect(rows).toHaveLength(2);
  // the id, then the name (set apart by style)
  expect(rows.find((r) => r[0]!.endsWith('billing-bot'))![0]).toMatch(/^cfg_[0-9a-f]{12}billing-bot$/);
  expect(rows.find((r) => r[0]!.endsWith('billing-bot'))![1]).toBe('1');
  const csv = await (await fetch(`${s.url}/console/usage.csv?group=key_id&range=24h`, { headers: { cookie } })).text();
  expect(csv.split('\r\n')[0]).toMatch(/^key_id,key_name,from,to,/);
  expect(csv).toMatch(/\r\ncfg_[0-9a-f]+,billing-bot,/);
  const page = await get(`${s.url}/console/requests/${id}`, cookie);
  const key = /<dt[^>]*>key<\/dt>\s*<dd[^>]*>([\s\S]*?)<\/dd>/.exec(page.html)?.[1]?.replace(/<[^>]*>/g, '');
  expect(key).toMatch(/^billing-botcfg_[0-9a-f]{12}/);
  expect(testId(page.html, 'outcome')).toBe('success');
});

test("the overview lists the budget past its soft threshold, with the share spent, linked to the key's calls", async () => {
  const page = await get(`${s.url}/console/?range=24h`, cookie);
  const rows = tableRows(page.html, 'budgets');
  expect(rows).toHaveLength(1);
  const [scope, of, period, spent, calls] = rows[0]!;
  expect([scope, period]).toEqual(['key', 'month']);
  expect(of).toMatch(/^cfg_[0-9a-f]{12}$/);
  expect(Number(spent!.replace('%', ''))).toBeGreaterThanOrEqual(50);
  expect(Number(calls)).toBeGreaterThanOrEqual(1);
  const link = new RegExp(`href="(/console/requests\\?[^"]*key_id=${of}[^"]*)"`).exec(page.html)![1]!;
  expect(linkedRequestIds((await get(`${s.url}${decode(link)}`, cookie)).html)).toHaveLength(5);
});
