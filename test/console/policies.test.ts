import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from '../e2e/harness.ts';
import { eventsOf, requestIdOf } from '../e2e/events-support.ts';
import { decode, get, linkedRequestIds, signIn, tableRows, testId } from './support.ts';

/** The policies page: what each rule matched and did, from the calls' policy_matches, linked to them. */

const TOKEN = 'policies-admin-token-0123456789';
let s: Stack;
let cookie: string;
const ids: string[] = [];

beforeAll(async () => {
  s = await startStack({
    clickhouse: true,
    env: { WATCHLLM_ADMIN_TOKEN: TOKEN },
    yaml: [
      'policies:',
      '  - name: redact-emails',
      '    detect: [email]',
      '    action: redact',
      '  - name: watch-phones',
      '    mode: shadow',
      '    detect: [phone]',
      '    action: deny',
    ].join('\n'),
  });
  for (const content of ['mail jane@example.com and joe@example.org', 'call +1 415 555 0100 please', 'nothing to see']) {
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-policies-test', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    ids.push(requestIdOf(res.headers));
  }
  await eventsOf(s.gateway).writer.flush();
  cookie = await signIn(s.url, TOKEN);
});

afterAll(async () => {
  await s?.close();
});

test('each rule with its calls, matches and whether it acted; never the matched text', async () => {
  const page = await get(`${s.url}/console/policies?range=1h`, cookie);
  expect(page.status).toBe(200);
  const rows = tableRows(page.html, 'policies');
  const byPolicy = new Map(rows.map((r) => [r[0], r]));
  // policy, rule, detector, action, mode, calls, matches, acted on
  expect(byPolicy.get('redact-emails')?.slice(2)).toEqual(['email', 'redact', 'enforce', '1', '2', '1']);
  expect(byPolicy.get('watch-phones')?.slice(2)).toEqual(['phone', 'deny', 'shadow', '1', '1', '0']);
  expect(page.html).not.toContain('jane@example.com');
  expect(testId(page.html, 'policy-outcomes')).toContain('1 redacted');
});

test("a policy's link lists exactly the calls it matched", async () => {
  const page = await get(`${s.url}/console/policies?range=1h`, cookie);
  const link = /href="(\/console\/requests\?[^"]*policy=redact-emails[^"]*)"/.exec(page.html)![1]!;
  expect(linkedRequestIds((await get(`${s.url}${decode(link)}`, cookie)).html)).toEqual([ids[0]]);
  expect(linkedRequestIds((await get(`${s.url}/console/requests?range=1h&policy=watch-phones`, cookie)).html)).toEqual([ids[1]]);
});
