import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../e2e/harness.ts';
import { eventsOf, requestIdOf } from '../e2e/events-support.ts';
import { decode, get, linkedRequestIds, olderLink, postToken, signIn, tableRows, testId } from './support.ts';

/**
 * The console as the gateway serves it in the one-process default (`/console`, embedded chDB):
 * signing in with the admin token, and the overview, request list, call and session pages showing
 * exactly what the gateway recorded for real calls through the fake provider.
 */

const TOKEN = 'console-admin-token-0123456789';
/** The fingerprint the gateway gives the provider key these calls bring (identify.ts: sha256, 12 hex digits). */
const BYOK_FP = createHash('sha256').update('sk-console-test').digest('hex').slice(0, 12);
const chat = (content: string, model = 'gpt-4o-mini') => ({ model, messages: [{ role: 'user', content }] });

let s: Stack;
let cookie: string;
const ids = { ok: [] as string[], xss: '', invalid: '', upstream: '', stream: '' };

async function call(body: unknown, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-console-test', 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return requestIdOf(res.headers);
}

beforeAll(async () => {
  s = await startStack({ clickhouse: true, env: { WATCHLLM_ADMIN_TOKEN: TOKEN } });
  for (let i = 0; i < 3; i++) {
    ids.ok.push(await call(chat(`hello number ${i}`), { 'x-watchllm-user': 'alice', 'x-watchllm-session': 'sess-1', 'x-watchllm-property-env': 'prod' }));
  }
  ids.xss = await call(chat('<script>window.__pwned = 1</script> marker-xss', 'gpt-4o'));
  ids.invalid = await call('{"model":');
  s.fake.next({ status: 500, errorMessage: 'the fake fell over' });
  ids.upstream = await call(chat('this one fails'));
  ids.stream = await call({ ...chat('stream me'), stream: true });
  const ingest = await fetch(`${s.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-console-test', 'content-type': 'application/json' },
    body: JSON.stringify({ events: [{ type: 'tool_call', name: 'lookup_weather', session_id: 'sess-1', duration_ms: 12 }] }),
  });
  expect(ingest.status).toBe(202);
  await eventsOf(s.gateway).writer.flush();
  cookie = await signIn(s.url, TOKEN);
});

afterAll(async () => {
  await s?.close();
});

describe('signing in', () => {
  test('every page sends a visitor without a session to the sign-in page, keeping where they were going', async () => {
    const overview = await get(`${s.url}/console/`);
    expect(overview.status).toBe(303);
    expect(overview.headers.get('location')).toBe('/console/login');
    const list = await get(`${s.url}/console/requests?model=gpt-4o`);
    expect(list.status).toBe(303);
    expect(list.headers.get('location')).toBe(`/console/login?next=${encodeURIComponent('/console/requests?model=gpt-4o')}`);
    const detail = await get(`${s.url}/console/requests/${ids.ok[0]}`);
    expect(detail.status).toBe(303);
    expect(detail.html).not.toContain('hello number');
  });

  test('the admin token opens a session cookie that holds no token, scoped to the console and hidden from scripts', async () => {
    const res = await postToken(s.url, TOKEN, { next: '/console/requests?model=gpt-4o' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/requests?model=gpt-4o');
    const set = res.headers.getSetCookie().find((c) => c.startsWith('watchllm_console='))!;
    expect(set).toMatch(/; HttpOnly/i);
    // Lax: a console link followed from a chat or a ticket arrives signed in
    expect(set).toMatch(/; SameSite=Lax/i);
    expect(set).toMatch(/; Path=\/console/i);
    expect(set).not.toContain(TOKEN);
  });

  test('a wrong token is refused with a message and no cookie', async () => {
    const res = await postToken(s.url, 'not-the-token-at-all');
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(decode(await res.text())).toContain('That is not the admin token.');
  });

  test('a sign-in posted from another site is refused (CSRF)', async () => {
    const res = await postToken(s.url, TOKEN, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  test('a forged or tampered session cookie opens nothing', async () => {
    const [name, value] = cookie.split('=') as [string, string];
    const [expires, mac] = value.split('.') as [string, string];
    // one character of the signature changed (the first: every bit of it counts)
    const flipped = `${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    for (const forged of [`${Number(expires) + 3600}.${mac}`, `${expires}.${flipped}`, 'anything']) {
      const page = await get(`${s.url}/console/`, `${name}=${forged}`);
      expect(page.status, forged).toBe(303);
    }
  });

  test('after the sign-in link is followed off-site, it lands inside the console', async () => {
    const res = await postToken(s.url, TOKEN, { next: 'https://evil.example/phish' });
    expect(res.headers.get('location')).toBe('/console/');
    const protocolRelative = await postToken(s.url, TOKEN, { next: '//evil.example/phish' });
    expect(protocolRelative.headers.get('location')).toBe('/console/');
  });

  test('signing out ends the session in the browser', async () => {
    const res = await fetch(`${s.url}/console/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: s.url, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: '',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/login');
    const cleared = res.headers.getSetCookie().find((c) => c.startsWith('watchllm_console='))!;
    expect(cleared).toMatch(/Max-Age=0/i);
    // cleared with the attributes it was set with: over plain http a Secure clearing cookie is
    // ignored by browsers (except on localhost), and the session would live on
    expect(cleared).toMatch(/; Path=\/console/i);
    expect(cleared).toMatch(/; SameSite=Lax/i);
    expect(cleared).not.toMatch(/; Secure/i);
  });

  test('a URL the console cannot decode gets a 400, signed in or not, and the gateway lives on', async () => {
    for (const c of [undefined, cookie]) {
      const res = await fetch(`${s.url}/console/%`, { redirect: 'manual', headers: c ? { cookie: c } : {} });
      expect([303, 400]).toContain(res.status);
      expect(await res.text()).not.toContain('could not read the event store');
    }
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  test('console pages are never cached and never framed, and carry a request id', async () => {
    const page = await get(`${s.url}/console/`, cookie);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('private, no-store');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-watchllm-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('overview', () => {
  test('totals are the calls the gateway recorded: every outcome counted, failures as errors', async () => {
    const page = await get(`${s.url}/console/?range=1h`, cookie);
    expect(page.status).toBe(200);
    expect(testId(page.html, 'total-requests')).toBe('7');
    // the invalid body and the upstream 500
    expect(testId(page.html, 'total-errors')).toBe('2');
    const { client } = eventsOf(s.gateway);
    const rs = await client.query({ query: 'SELECT sum(cost_usd) AS c FROM watchllm.requests', format: 'JSONEachRow' });
    const c = (await rs.json<{ c: number }>())[0]!.c;
    expect(c).toBeGreaterThan(0);
    expect(testId(page.html, 'total-cost')).toBe(`$${c.toFixed(c >= 0.01 ? 4 : 6)}`);
  });

  test('the models table has a row per model with its calls', async () => {
    const rows = tableRows((await get(`${s.url}/console/?range=1h`, cookie)).html, 'models');
    const byModel = new Map(rows.map((r) => [r[0], r]));
    expect(byModel.get('gpt-4o-mini')?.[2]).toBe('5');
    expect(byModel.get('gpt-4o-mini')?.[3]).toBe('1');
    expect(byModel.get('gpt-4o')?.[2]).toBe('1');
  });

  test('outcomes count each kind of result', async () => {
    const rows = tableRows((await get(`${s.url}/console/?range=1h`, cookie)).html, 'outcomes');
    expect(Object.fromEntries(rows.map((r) => [r[0], r[1]]))).toEqual({ success: '5', invalid: '1', upstream_error: '1' });
  });
});

describe('requests', () => {
  test('the list shows every call newest first, linked to its page', async () => {
    const page = await get(`${s.url}/console/requests?range=all`, cookie);
    expect(page.status).toBe(200);
    const listed = linkedRequestIds(page.html);
    expect(listed).toEqual([ids.stream, ids.upstream, ids.invalid, ids.xss, ...[...ids.ok].reverse()]);
  });

  test('filters narrow the list: model, errors, user, text in bodies', async () => {
    const ids_ = async (q: string) => linkedRequestIds((await get(`${s.url}/console/requests?range=all&${q}`, cookie)).html);
    expect(await ids_('model=gpt-4o')).toEqual([ids.xss]);
    expect(await ids_('outcome=errors')).toEqual([ids.upstream, ids.invalid]);
    expect(await ids_('outcome=upstream_error')).toEqual([ids.upstream]);
    expect((await ids_('user=alice')).sort()).toEqual([...ids.ok].sort());
    expect(await ids_('q=MARKER-XSS')).toEqual([ids.xss]);
    expect(await ids_('status_code=500')).toEqual([ids.upstream]);
    expect(await ids_('model=no-such-model')).toEqual([]);
  });

  test('a prompt holding markup is shown as text, never run', async () => {
    const list = await get(`${s.url}/console/requests/${ids.xss}`, cookie);
    expect(list.html).not.toContain('<script>window.__pwned');
    expect(testId(list.html, 'request-body')).toContain('<script>window.__pwned = 1</script> marker-xss');
  });

  test("a call's page shows what was recorded: outcome, tokens, cost, bodies, properties, session", async () => {
    const page = await get(`${s.url}/console/requests/${ids.ok[1]}`, cookie);
    expect(page.status).toBe(200);
    const { client } = eventsOf(s.gateway);
    const rs = await client.query({
      query: 'SELECT * FROM watchllm.requests WHERE request_id = {id:String}',
      query_params: { id: ids.ok[1] },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ prompt_tokens: number; completion_tokens: number; cost_usd: number; response_body: string }>();
    expect(testId(page.html, 'request-id')).toBe(ids.ok[1]);
    expect(testId(page.html, 'outcome')).toBe('success');
    expect(testId(page.html, 'prompt-tokens')).toBe(String(row!.prompt_tokens));
    expect(testId(page.html, 'completion-tokens')).toBe(String(row!.completion_tokens));
    expect(testId(page.html, 'cost')).toBe(`$${row!.cost_usd.toFixed(6)}`);
    expect(testId(page.html, 'request-body')).toContain('hello number 1');
    expect(testId(page.html, 'response-body')).toContain(JSON.parse(row!.response_body).choices[0].message.content);
    expect(tableRows(page.html, 'properties')).toEqual([['env', 'prod']]);
    // the session of the call's project (here none: a BYOK call, so its provider key's), not every project's sess-1
    expect(page.html).toContain(`href="/console/sessions/sess-1?project=&amp;key_id=byok%3A${BYOK_FP}"`);
  });

  test("a failed call's page shows the error the client got", async () => {
    const page = await get(`${s.url}/console/requests/${ids.upstream}`, cookie);
    expect(testId(page.html, 'outcome')).toBe('upstream_error');
    expect(testId(page.html, 'error')).toContain('the fake fell over');
  });

  test('an unknown id is a 404 page', async () => {
    const page = await get(`${s.url}/console/requests/not-a-request`, cookie);
    expect(page.status).toBe(404);
    expect(testId(page.html, 'error-message')).toContain('not-a-request');
  });

  test('the sessions page lists each session with its calls, tokens, cost and users', async () => {
    const page = await get(`${s.url}/console/sessions?range=1h`, cookie);
    expect(page.status).toBe(200);
    const rows = tableRows(page.html, 'sessions');
    expect(rows.map((r) => r[0])).toEqual(['sess-1']);
    const { client } = eventsOf(s.gateway);
    const rs = await client.query({
      query: "SELECT sum(prompt_tokens + completion_tokens) AS t FROM watchllm.requests WHERE session = 'sess-1'",
      format: 'JSONEachRow',
    });
    const tokens = (await rs.json<{ t: number }>())[0]!.t;
    // session, project, last call, first call, calls, errors, tokens, cost, users
    expect(rows[0]![1]).toBe(`byok:${BYOK_FP}`);
    expect(rows[0]![4]).toBe('3');
    expect(rows[0]![6]).toBe(String(tokens));
    expect(rows[0]![8]).toBe('alice');
    expect(tableRows((await get(`${s.url}/console/sessions?range=1h&user=nobody`, cookie)).html, 'sessions')[0]![0]).toContain('No sessions');
  });

  test('a session page shows its calls and the events the app reported, in time order', async () => {
    const page = await get(`${s.url}/console/sessions/sess-1`, cookie);
    expect(page.status).toBe(200);
    expect(testId(page.html, 'session-totals')).toMatch(/^3 calls · \d+ tokens · \$0\.\d+ · 1 reported events$/);
    expect(page.html).not.toContain('data-testid="session-cut"');
    const rows = tableRows(page.html, 'timeline');
    expect(rows).toHaveLength(4);
    expect(linkedRequestIds(page.html)).toEqual(ids.ok);
    expect(rows.at(-1)?.[1]).toBe('tool_call');
    expect(rows.at(-1)?.[2]).toContain('lookup_weather');
  });
});

describe('stored twice, dated ahead, scoped', () => {
  test('a call stored twice (a replay older than the deduplication window) is listed once', async () => {
    const { client } = eventsOf(s.gateway);
    await client.command({
      query: `INSERT INTO watchllm.requests SELECT * FROM watchllm.requests WHERE request_id = {id:String}`,
      query_params: { id: ids.xss },
      clickhouse_settings: { insert_deduplication_token: `replay-${Date.now()}` },
    });
    const listed = linkedRequestIds((await get(`${s.url}/console/requests?range=all&model=gpt-4o`, cookie)).html);
    expect(listed).toEqual([ids.xss]);
  });

  test('an event sent twice is listed once; one dated in the future stays out of "last hour"', async () => {
    const post = (events: unknown[]) =>
      fetch(`${s.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-console-test', 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
      });
    const again = { id: 'evt-twice', type: 'score', name: 'helpfulness', value: 0.9, session_id: 'sess-2' };
    expect((await post([again])).status).toBe(202);
    expect((await post([again])).status).toBe(202);
    expect((await post([{ type: 'custom', name: 'from-the-future', ts: '2099-01-01T00:00:00Z' }])).status).toBe(202);
    await eventsOf(s.gateway).writer.flush();
    const rows = tableRows((await get(`${s.url}/console/events?range=1h&session=sess-2`, cookie)).html, 'events');
    expect(rows.map((r) => r[2])).toEqual(['helpfulness']);
    const lastHour = tableRows((await get(`${s.url}/console/events?range=1h`, cookie)).html, 'events').map((r) => r[2]);
    expect(lastHour).not.toContain('from-the-future');
    const allTime = tableRows((await get(`${s.url}/console/events?range=all`, cookie)).html, 'events').map((r) => r[2]);
    expect(allTime[0]).toBe('from-the-future');
  });

  test("the overview's links list exactly the calls behind its numbers, calls without a project included", async () => {
    const page = await get(`${s.url}/console/?range=24h&project=${encodeURIComponent('(none)')}`, cookie);
    const { client } = eventsOf(s.gateway);
    const stored = await (await client.query({ query: "SELECT count() AS n FROM watchllm.requests WHERE project = ''", format: 'JSONEachRow' })).json<{ n: number }>();
    expect(testId(page.html, 'total-requests')).toBe(String(stored[0]!.n));
    const models = tableRows(page.html, 'models');
    const mini = models.find((r) => r[0] === 'gpt-4o-mini')!;
    const link = /href="(\/console\/requests\?[^"]*model=gpt-4o-mini[^"]*)"/.exec(page.html)![1]!;
    const listed = linkedRequestIds((await get(`${s.url}${decode(link)}`, cookie)).html);
    expect(String(listed.length)).toBe(mini[2]);
    // a project with no calls is shown as chosen, with nothing in it
    const other = await get(`${s.url}/console/?range=24h&project=acme`, cookie);
    expect(testId(other.html, 'total-requests')).toBe('0');
    expect(other.html).toMatch(/<option value="acme" selected/);
  });
});

describe('events', () => {
  test('the events page lists what the app reported, filtered by type', async () => {
    const page = await get(`${s.url}/console/events?range=1h&session=sess-1`, cookie);
    expect(page.status).toBe(200);
    const rows = tableRows(page.html, 'events');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.slice(1, 3)).toEqual(['tool_call', 'lookup_weather']);
    expect(rows[0]![5]).toBe('12 ms');
    expect(rows[0]![6]).toBe('sess-1');
    expect(tableRows((await get(`${s.url}/console/events?range=1h&session=sess-1&type=score`, cookie)).html, 'events')[0]![0]).toBe('No events match.');
  });
});

describe('usage', () => {
  test('per user (read from the calls) and per model (from the rollup), each linked to its calls', async () => {
    const byUser = await get(`${s.url}/console/usage?group=user&range=24h`, cookie);
    expect(byUser.status).toBe(200);
    const users = new Map(tableRows(byUser.html, 'usage').map((r) => [r[0], r]));
    expect(users.get('alice')?.[1]).toBe('3');
    const link = /href="(\/console\/requests\?[^"]*user=alice[^"]*)"/.exec(byUser.html)![1]!;
    expect((await get(`${s.url}${decode(link)}`, cookie)).html).toContain(ids.ok[0]);
    const byModel = new Map(tableRows((await get(`${s.url}/console/usage?group=model&range=24h`, cookie)).html, 'usage').map((r) => [r[0], r]));
    const { client } = eventsOf(s.gateway);
    const [mini] = await (await client.query({ query: "SELECT count() AS n FROM watchllm.requests WHERE model = 'gpt-4o-mini'", format: 'JSONEachRow' })).json<{ n: number }>();
    expect(byModel.get('gpt-4o-mini')?.[1]).toBe(mini!.n.toLocaleString('en-US'));
  });

  test('per key: calls without a gateway key are grouped by the provider key they brought, linked to exactly theirs', async () => {
    const page = await get(`${s.url}/console/usage?group=key_id&range=24h`, cookie);
    const rows = tableRows(page.html, 'usage');
    const { client } = eventsOf(s.gateway);
    const [fp] = await (
      await client.query({ query: "SELECT any(key_fingerprint) AS f, count() AS n FROM watchllm.requests WHERE key_fingerprint != ''", format: 'JSONEachRow' })
    ).json<{ f: string; n: number }>();
    const byok = rows.find((r) => r[0] === `byok:${fp!.f}`);
    expect(byok?.[1]).toBe(fp!.n.toLocaleString('en-US'));
    const listed = linkedRequestIds((await get(`${s.url}/console/requests?range=24h&key_id=byok:${fp!.f}&user=alice`, cookie)).html);
    expect(listed.sort()).toEqual([...ids.ok].sort());
  });

  test('as CSV: a group whose calls are all unpriced has an empty cost, never 0', async () => {
    await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-console-test', 'content-type': 'application/json', 'x-watchllm-user': 'unpriced-user' },
      body: JSON.stringify({ ...chat('no price'), model: 'my-own-unpriced-model' }),
    }).then((r) => r.arrayBuffer());
    await eventsOf(s.gateway).writer.flush();
    const csv = await (await fetch(`${s.url}/console/usage.csv?group=user&range=24h`, { headers: { cookie } })).text();
    const row = csv.split('\r\n').find((l) => l.startsWith('unpriced-user,'))?.split(',');
    expect(row?.[7]).toBe('');
    expect(row?.[8]).toBe('1');
  });

  test('as CSV: one row per group with the window, a user name a spreadsheet would run kept as text', async () => {
    await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-console-test', 'content-type': 'application/json', 'x-watchllm-user': '=cmd|calc' },
      body: JSON.stringify(chat('formula user')),
    }).then((r) => r.arrayBuffer());
    await eventsOf(s.gateway).writer.flush();
    const res = await fetch(`${s.url}/console/usage.csv?group=user&range=24h`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toContain('watchllm-usage-user-24h.csv');
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('user,from,to,requests,errors,prompt_tokens,completion_tokens,cost_usd,unpriced_calls,p50_ms,p95_ms');
    expect(lines.find((l) => l.startsWith('alice,'))?.split(',')[3]).toBe('3');
    expect(lines.some((l) => l.startsWith("'=cmd|calc,"))).toBe(true);
    // behind the sign-in like every page
    expect((await fetch(`${s.url}/console/usage.csv`, { redirect: 'manual' })).status).toBe(303);
  });
});

describe('long sessions', () => {
  test('a session longer than a page says so, and its totals count every call', async () => {
    const { client } = eventsOf(s.gateway);
    await client.command({
      query: `INSERT INTO watchllm.requests (request_id, ts, session, outcome, model, provider, prompt_tokens, completion_tokens, cost_usd, priced)
        SELECT concat('long-', toString(number)), now64(3) - toIntervalSecond(600 - number), 'sess-long', 'success', 'gpt-4o-mini', 'openai', 10, 5, 0.001, true
        FROM numbers(520)`,
      // its own token: the embedded session still holds the last writer batch's, and a block under
      // the same token is dropped as a replay
      clickhouse_settings: { insert_deduplication_token: `long-session-${Date.now()}` },
    });
    const page = await get(`${s.url}/console/sessions/sess-long`, cookie);
    expect(page.status).toBe(200);
    expect(testId(page.html, 'session-totals')).toMatch(/^520 calls · 7,800 tokens · \$0\.5200 · 0 reported events$/);
    expect(testId(page.html, 'session-cut')).toContain('Showing the first 500');
    expect(tableRows(page.html, 'timeline')).toHaveLength(500);
  });
});

describe('pagination', () => {
  test('older pages continue where the last one ended, with no call twice or left out', async () => {
    const more: string[] = [];
    for (let i = 0; i < 6; i++) {
      more.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => call(chat(`page filler ${i}-${j}`), { 'x-watchllm-user': 'pager' })))));
    }
    await eventsOf(s.gateway).writer.flush();
    const seen: string[] = [];
    let url: string | null = `${s.url}/console/requests?range=all&user=pager`;
    let pages = 0;
    while (url) {
      const page = await get(url, cookie);
      const listed = linkedRequestIds(page.html);
      expect(listed.length).toBeLessThanOrEqual(50);
      seen.push(...listed);
      const older = olderLink(page.html);
      url = older ? `${s.url}/console/requests${older}` : null;
      pages++;
    }
    expect(pages).toBe(2);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...more].sort());
  });
});

describe('sessions of two projects under one id', () => {
  test('are two sessions: listed apart, each page with its own calls and events only', async () => {
    const { client, writer } = eventsOf(s.gateway);
    // two tenants' apps both call their conversation `shared-sess`
    await client.command({
      query: `INSERT INTO watchllm.requests (request_id, ts, project, session, outcome, model, provider, prompt_tokens, completion_tokens, cost_usd, priced)
        SELECT concat('shared-', p, '-', toString(number)), now64(3) - toIntervalSecond(30 - number), p, 'shared-sess', 'success', 'gpt-4o-mini', 'openai', 10, 5, 0.001, true
        FROM numbers(2) ARRAY JOIN ['acme', 'globex'] AS p`,
      clickhouse_settings: { insert_deduplication_token: `shared-sessions-${Date.now()}` },
    });
    await client.command({
      query: `INSERT INTO watchllm.events (event_id, ts, project, type, name, session) VALUES ('shared-ev-globex', now64(3), 'globex', 'custom', 'globex-only-step', 'shared-sess')`,
      clickhouse_settings: { insert_deduplication_token: `shared-events-${Date.now()}` },
    });
    await writer.flush();
    const list = await get(`${s.url}/console/sessions?range=1h`, cookie);
    const rows = tableRows(list.html, 'sessions').filter((r) => r[0] === 'shared-sess');
    expect(rows.map((r) => [r[1], r[4]])).toEqual(expect.arrayContaining([['acme', '2'], ['globex', '2']]));
    expect(rows).toHaveLength(2);
    expect(list.html).toContain('href="/console/sessions/shared-sess?project=acme"');

    const acme = await get(`${s.url}/console/sessions/shared-sess?project=acme`, cookie);
    expect(testId(acme.html, 'session-totals')).toMatch(/^2 calls · 30 tokens · .* · 0 reported events$/);
    expect(linkedRequestIds(acme.html).sort()).toEqual(['shared-acme-0', 'shared-acme-1']);
    expect(acme.html).not.toContain('globex-only-step');
    // calls without a project are a session of their own too (of their provider key's: see below)
    expect(testId((await get(`${s.url}/console/sessions/sess-1?project=&key_id=byok:${BYOK_FP}`, cookie)).html, 'session-totals')).toMatch(/^3 calls /);
    expect(testId((await get(`${s.url}/console/sessions/shared-sess?project=`, cookie)).html, 'error-message')).toContain('Nothing recorded');
    const globex = await get(`${s.url}/console/sessions/shared-sess?project=globex`, cookie);
    expect(testId(globex.html, 'session-totals')).toMatch(/ · 1 reported events$/);
    expect(globex.html).toContain('globex-only-step');
  });
});

describe('sessions of two BYOK tenants under one id', () => {
  test('are two sessions: each provider key its own row, page, calls and reported events', async () => {
    const { client, writer } = eventsOf(s.gateway);
    // two teams bringing their own provider keys (no project) both call their conversation `byok-sess`
    await client.command({
      query: `INSERT INTO watchllm.requests (request_id, ts, project, key_fingerprint, session, outcome, model, provider, prompt_tokens, completion_tokens, cost_usd, priced)
        SELECT concat('byok-', fp, '-', toString(number)), now64(3) - toIntervalSecond(30 - number), '', fp, 'byok-sess', 'success', 'gpt-4o-mini', 'openai', 10, 5, 0.001, true
        FROM numbers(2) ARRAY JOIN ['aaaaaaaaaaaa', 'bbbbbbbbbbbb'] AS fp`,
      clickhouse_settings: { insert_deduplication_token: `byok-sessions-${Date.now()}` },
    });
    // and a call that brought no key at all (refused before one was known), in a session of the same name
    await client.command({
      query: `INSERT INTO watchllm.requests (request_id, ts, project, key_fingerprint, session, outcome, status_code, model, provider)
        VALUES ('nokey-0', now64(3) - toIntervalSecond(40), '', '', 'byok-sess', 'invalid', 401, '', '')`,
      clickhouse_settings: { insert_deduplication_token: `nokey-sessions-${Date.now()}` },
    });
    await client.command({
      query: `INSERT INTO watchllm.events (event_id, ts, project, key_id, type, name, session) VALUES ('byok-ev-b', now64(3), '', 'byok:bbbbbbbbbbbb', 'custom', 'team-b-only-step', 'byok-sess')`,
      clickhouse_settings: { insert_deduplication_token: `byok-events-${Date.now()}` },
    });
    await writer.flush();
    const list = await get(`${s.url}/console/sessions?range=1h`, cookie);
    const rows = tableRows(list.html, 'sessions').filter((r) => r[0] === 'byok-sess');
    expect(rows.map((r) => [r[1], r[4]]).sort()).toEqual([
      ['', '1'],
      ['byok:aaaaaaaaaaaa', '2'],
      ['byok:bbbbbbbbbbbb', '2'],
    ]);
    expect(list.html).toContain('href="/console/sessions/byok-sess?project=&amp;key_id=byok%3Aaaaaaaaaaaaa"');

    const a = await get(`${s.url}/console/sessions/byok-sess?project=&key_id=byok:aaaaaaaaaaaa`, cookie);
    expect(testId(a.html, 'session-totals')).toMatch(/^2 calls · 30 tokens · .* · 0 reported events$/);
    expect(testId(a.html, 'session-owner')).toBe('byok:aaaaaaaaaaaa');
    expect(linkedRequestIds(a.html).sort()).toEqual(['byok-aaaaaaaaaaaa-0', 'byok-aaaaaaaaaaaa-1']);
    expect(a.html).not.toContain('team-b-only-step');
    const b = await get(`${s.url}/console/sessions/byok-sess?project=&key_id=byok:bbbbbbbbbbbb`, cookie);
    expect(testId(b.html, 'session-totals')).toMatch(/^2 calls · .* · 1 reported events$/);
    expect(b.html).toContain('team-b-only-step');
    // the calls that brought no key are a session of their own, not every tenant's
    const none = await get(`${s.url}/console/sessions/byok-sess?project=`, cookie);
    expect(testId(none.html, 'session-totals')).toMatch(/^1 calls ?\(1 failed\) · .* · 0 reported events$/);
    expect(linkedRequestIds(none.html)).toEqual(['nokey-0']);
    expect(none.html).not.toContain('team-b-only-step');
    // a call's page links to its own tenant's session
    const call = await get(`${s.url}/console/requests/byok-bbbbbbbbbbbb-0`, cookie);
    expect(call.html).toContain('href="/console/sessions/byok-sess?project=&amp;key_id=byok%3Abbbbbbbbbbbb"');
  });
});
