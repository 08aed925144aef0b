import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { databaseOf } from '../../gateway/src/events/index.ts';
import { listRequests as consoleList } from '../../console/src/lib/server/queries.ts';
import { startStack, type Stack } from './harness.ts';
import { eventsOf, requestIdOf } from './events-support.ts';

/**
 * `q=` finds text in bodies as clients really send them: JSON text in which quotes, backslashes and
 * newlines are escaped, and where Python's json.dumps (ensure_ascii, its default) escapes every
 * character beyond ASCII (`Crème` is `Cr\u00e8me`). The gateway's query API and the console's
 * requests page search alike.
 */

const TOKEN = 'admintoken-faults-search-0123456789';
let s: Stack;
const ids: Record<string, string> = {};

async function send(name: string, raw: string): Promise<void> {
  const r = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-search' },
    body: raw,
  });
  expect(r.status).toBe(200);
  await r.text();
  ids[name] = requestIdOf(r.headers);
}

beforeAll(async () => {
  s = await startStack({ clickhouse: true, env: { WATCHLLM_ADMIN_TOKEN: TOKEN, WATCHLLM_CONSOLE: 'off' } });
  // what Python's json.dumps writes for {"content": "Crème brûlée please"}
  await send('python', '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Cr\\u00e8me br\\u00fbl\\u00e9e please"}]}');
  await send('quotes', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'she said "hello world" then\nnewline in C:\\temp' }] }));
  await eventsOf(s.gateway).writer.flush();
}, 60_000);

afterAll(async () => {
  await s?.close();
});

const cases = [
  ['Crème brûlée', 'python'],
  ['crème', 'python'],
  ['BRÛLÉE', 'python'],
  ['said "hello world"', 'quotes'],
  ['then\nnewline', 'quotes'],
  ['C:\\temp', 'quotes'],
] as const;

describe('full-text search over JSON-escaped bodies', () => {
  test.each(cases)('/admin/requests?q=%j finds the %s call', async (q, which) => {
    const r = await fetch(`${s.url}/admin/requests?q=${encodeURIComponent(q)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { rows: { request_id: string }[] }).rows.map((x) => x.request_id)).toEqual([ids[which]]);
  });

  test.each(cases)("the console's requests page, q=%j, finds the %s call", async (q, which) => {
    const { client } = eventsOf(s.gateway);
    const page = await consoleList({ client, database: databaseOf(client), adminToken: TOKEN }, { range: 'all', q }, null);
    expect(page.rows.map((x) => x.request_id)).toEqual([ids[which]]);
  });

  test('an empty cursor is a 400 naming it, like any other empty parameter', async () => {
    const r = await fetch(`${s.url}/admin/requests?cursor=`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'cursor' } });
  });
});
