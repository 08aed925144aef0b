import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './harness.ts';
import { closedPort, eventsOf, requestIdOf, storedRows, type StoredRow } from './events-support.ts';

/**
 * Every kind of call, through the real gateway into embedded chDB: one row each, carrying the id
 * the client got. (events-restart.test.ts reopens such a folder in a new gateway.)
 */

const LIMITED_KEY = 'wl_limited_0123456789abcdefghij';
const BYOK = 'sk-byok-openai-secret-0123456789';
const BYOK_ANTHROPIC = 'sk-ant-byok-secret-0123456789';
const HELD = 'sk-held-by-gateway-secret-0123456789';
const SECRETS = [BYOK, BYOK_ANTHROPIC, HELD, LIMITED_KEY, 'wl_not_a_real_key_0123456789'];

interface Expected {
  status: number;
  outcome: string;
  model: string;
  provider: string;
  prompt: number;
  completion: number;
  /** exact USD, null = unpriced */
  cost: number | null;
  usage: string;
  stream: boolean;
}

const KINDS = [
  'success JSON',
  'success stream',
  'anthropic SDK message',
  'unpriced model',
  'invalid: bad JSON',
  'invalid: missing model',
  'invalid: unknown provider',
  'invalid: body over WATCHLLM_MAX_BODY_MB',
  'upstream 500',
  'timeout',
  'unreachable provider',
  'client disconnect mid-stream',
  'unauthorized',
  'gateway key, within its limit',
  'denied by rate limit',
  'cache miss',
  'cache hit',
] as const;

/** kind -> the id the client got and what its row must say */
const calls = new Map<string, { id: string; want: Expected }>();
let s: Stack;
let rows: StoredRow[];

const none = { prompt: 0, completion: 0, cost: 0, usage: 'none', stream: false } as const;
/** gpt-4o-mini: $0.15 in, $0.60 out per 1M tokens (providers/src/pricing/prices.ts) */
const mini = (p: number, c: number) => (p * 0.15 + c * 0.6) / 1e6;

async function rejected(p: Promise<unknown>): Promise<{ status: number; headers: Headers }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof OpenAI.APIError || e instanceof Anthropic.APIError) return { status: e.status ?? 0, headers: e.headers as Headers };
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** x-watchllm-cost-usd as the client got it, for some of the calls */
const costHeaders = new Map<string, string | null>();

const dataDir = mkdtempSync(join(tmpdir(), 'watchllm-events-outcomes-'));

beforeAll(async () => {
  const port = await closedPort();
  s = await startStack({
    clickhouse: true,
    yaml: `keys:\n  - name: limited\n    project: acme\n    key: ${LIMITED_KEY}\n    limits: { rpm: 1 }\n`,
    env: (fake) => ({
      WATCHLLM_DATA_DIR: dataDir,
      WATCHLLM_OPENAI_API_KEY: HELD,
      WATCHLLM_MAX_BODY_MB: '1',
      WATCHLLM_UPSTREAM_TIMEOUT_MS: '300',
      WATCHLLM_GROQ_BASE_URL: `http://127.0.0.1:${port}/v1`,
      WATCHLLM_MISTRAL_BASE_URL: `${fake}/v1`,
    }),
  });
  const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: BYOK, maxRetries: 0 });
  const anthropic = new Anthropic({ baseURL: s.url, apiKey: BYOK_ANTHROPIC, maxRetries: 0 });
  const post = (body: string | Uint8Array, key = BYOK) =>
    fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body as BodyInit,
    });
  const ask = (model: string, content: string) => ({ model, messages: [{ role: 'user' as const, content }] });

  {
    const { response } = await openai.chat.completions
      .create(ask('gpt-4o-mini', 'Say hello to me'), { headers: { 'x-watchllm-user': 'alice', 'x-watchllm-property-team': 'search' } })
      .withResponse();
    costHeaders.set('success JSON', response.headers.get('x-watchllm-cost-usd'));
    calls.set('success JSON', { id: requestIdOf(response.headers), want: { status: 200, outcome: 'success', model: 'gpt-4o-mini', provider: 'openai', prompt: 4, completion: 4, cost: mini(4, 4), usage: 'provider', stream: false } });
  }
  {
    s.fake.next({ text: 'one two three four', chunks: 4 });
    const { data: stream, response } = await openai.chat.completions.create({ ...ask('gpt-4o-mini', 'count to four'), stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('one two three four');
    costHeaders.set('success stream', response.headers.get('x-watchllm-cost-usd'));
    calls.set('success stream', { id: requestIdOf(response.headers), want: { status: 200, outcome: 'success', model: 'gpt-4o-mini', provider: 'openai', prompt: 3, completion: 4, cost: mini(3, 4), usage: 'provider', stream: true } });
  }
  {
    const { response } = await anthropic.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] })
      .withResponse();
    // claude-sonnet-4-5: $3 in, $15 out per 1M tokens
    costHeaders.set('anthropic SDK message', response.headers.get('x-watchllm-cost-usd'));
    calls.set('anthropic SDK message', { id: requestIdOf(response.headers), want: { status: 200, outcome: 'success', model: 'claude-sonnet-4-5', provider: 'anthropic', prompt: 2, completion: 4, cost: (2 * 3 + 4 * 15) / 1e6, usage: 'provider', stream: false } });
  }
  {
    const { response } = await openai.chat.completions.create(ask('mistral/some-unpriced-model', 'hello unpriced')).withResponse();
    costHeaders.set('unpriced model', response.headers.get('x-watchllm-cost-usd'));
    calls.set('unpriced model', { id: requestIdOf(response.headers), want: { status: 200, outcome: 'success', model: 'mistral/some-unpriced-model', provider: 'mistral', prompt: 2, completion: 4, cost: null, usage: 'provider', stream: false } });
  }
  const invalid: Array<[string, string | Uint8Array, number, string]> = [
    ['invalid: bad JSON', '{"model": "gpt-4o", ', 400, ''],
    ['invalid: missing model', '{"messages":[{"role":"user","content":"x"}]}', 400, ''],
    ['invalid: unknown provider', '{"model":"nope/gpt-4o","messages":[{"role":"user","content":"x"}]}', 400, 'nope/gpt-4o'],
    ['invalid: body over WATCHLLM_MAX_BODY_MB', Buffer.alloc(2 * 1024 * 1024, 'a'), 413, ''],
  ];
  for (const [kind, body, status, model] of invalid) {
    const r = await post(body);
    expect(r.status).toBe(status);
    await r.arrayBuffer();
    calls.set(kind, { id: requestIdOf(r.headers), want: { ...none, status, outcome: 'invalid', model, provider: '' } });
  }
  {
    s.fake.next({ status: 500, errorMessage: 'boom' });
    const r = await rejected(openai.chat.completions.create(ask('gpt-4o-mini', 'x')));
    expect(r.status).toBe(500);
    costHeaders.set('upstream 500', r.headers.get('x-watchllm-cost-usd'));
    calls.set('upstream 500', { id: requestIdOf(r.headers), want: { ...none, status: 500, outcome: 'upstream_error', model: 'gpt-4o-mini', provider: 'openai' } });
  }
  {
    s.fake.next({ hangMs: 1500 });
    const r = await rejected(openai.chat.completions.create(ask('gpt-4o-mini', 'x')));
    expect(r.status).toBe(504);
    calls.set('timeout', { id: requestIdOf(r.headers), want: { ...none, status: 504, outcome: 'timeout', model: 'gpt-4o-mini', provider: 'openai' } });
  }
  {
    const r = await rejected(openai.chat.completions.create(ask('groq/llama-3.1-8b-instant', 'x')));
    expect(r.status).toBe(502);
    calls.set('unreachable provider', { id: requestIdOf(r.headers), want: { ...none, status: 502, outcome: 'upstream_unreachable', model: 'groq/llama-3.1-8b-instant', provider: 'groq' } });
  }
  {
    s.fake.next({ text: 'a b c d e f g h i j', chunks: 10, chunkDelayMs: 100 });
    const ac = new AbortController();
    const { data: stream, response } = await openai.chat.completions
      .create({ ...ask('gpt-4o-mini', 'x'), stream: true }, { signal: ac.signal })
      .withResponse();
    let n = 0;
    try {
      for await (const _ of stream) if (++n === 2) ac.abort();
    } catch {
      /* the SDK may raise APIUserAbortError */
    }
    // The client got 200 headers before leaving, so that is its status; the outcome says it left.
    // Usage of what was streamed is estimated (the provider's usage chunk never came).
    calls.set('client disconnect mid-stream', { id: requestIdOf(response.headers), want: { status: 200, outcome: 'client_closed', model: 'gpt-4o-mini', provider: 'openai', prompt: -1, completion: -1, cost: -1, usage: 'estimate', stream: true } });
  }
  {
    const bad = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'wl_not_a_real_key_0123456789', maxRetries: 0 });
    const r = await rejected(bad.chat.completions.create(ask('gpt-4o-mini', 'x')));
    expect(r.status).toBe(401);
    calls.set('unauthorized', { id: requestIdOf(r.headers), want: { ...none, status: 401, outcome: 'unauthorized', model: 'gpt-4o-mini', provider: 'openai' } });
  }
  {
    const limited = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: LIMITED_KEY, maxRetries: 0 });
    const { response } = await limited.chat.completions.create(ask('gpt-4o-mini', 'first one')).withResponse();
    calls.set('gateway key, within its limit', { id: requestIdOf(response.headers), want: { status: 200, outcome: 'success', model: 'gpt-4o-mini', provider: 'openai', prompt: 2, completion: 4, cost: mini(2, 4), usage: 'provider', stream: false } });
    const r = await rejected(limited.chat.completions.create(ask('gpt-4o-mini', 'second one')));
    expect(r.status).toBe(429);
    calls.set('denied by rate limit', { id: requestIdOf(r.headers), want: { ...none, status: 429, outcome: 'denied_limit', model: 'gpt-4o-mini', provider: 'openai' } });
  }
  {
    const cached = { headers: { 'x-watchllm-cache': 'on' } };
    const first = await openai.chat.completions.create(ask('gpt-4o-mini', 'cache me please'), cached).withResponse();
    expect(first.response.headers.get('x-watchllm-cache')).toBe('miss');
    calls.set('cache miss', { id: requestIdOf(first.response.headers), want: { status: 200, outcome: 'success', model: 'gpt-4o-mini', provider: 'openai', prompt: 3, completion: 4, cost: mini(3, 4), usage: 'provider', stream: false } });
    const second = await openai.chat.completions.create(ask('gpt-4o-mini', 'cache me please'), cached).withResponse();
    expect(second.response.headers.get('x-watchllm-cache')).toBe('hit');
    // a hit costs nothing; the provider's usage is kept and the avoided cost is in cost_saved_usd
    costHeaders.set('cache hit', second.response.headers.get('x-watchllm-cost-usd'));
    calls.set('cache hit', { id: requestIdOf(second.response.headers), want: { status: 200, outcome: 'cache_hit', model: 'gpt-4o-mini', provider: 'openai', prompt: 3, completion: 4, cost: 0, usage: 'provider', stream: false } });
  }
  rows = await storedRows(s.gateway);
}, 60_000);

afterAll(async () => {
  await s?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const row = (kind: string): StoredRow => {
  const c = calls.get(kind);
  const r = c && rows.find((x) => x.request_id === c.id);
  if (!r) throw new Error(`no row for ${kind}`);
  return r;
};

describe('watchllm.requests after one call of every kind', () => {
  test('holds exactly one row per call, each under the id the client got', () => {
    expect([...calls.keys()].sort()).toEqual([...KINDS].sort());
    expect(rows.map((r) => r.request_id).sort()).toEqual([...calls.values()].map((c) => c.id).sort());
  });

  test.each(KINDS)('%s: status, outcome, model, tokens, cost and usage source', (kind) => {
    const { want } = calls.get(kind)!;
    const r = row(kind);
    expect(r).toMatchObject({ status_code: want.status, outcome: want.outcome, model: want.model, provider: want.provider, stream: want.stream, usage_source: want.usage });
    if (want.prompt >= 0) expect([r.prompt_tokens, r.completion_tokens]).toEqual([want.prompt, want.completion]);
    if (want.cost === null) expect([r.cost_usd, r.priced]).toEqual([null, false]);
    else if (want.cost >= 0) {
      expect(r.priced).toBe(true);
      expect(r.cost_usd).toBeCloseTo(want.cost, 12);
    }
    expect(r.latency_ms).toBeGreaterThanOrEqual(0);
  });
});

describe('x-watchllm-cost-usd', () => {
  test('a complete priced answer tells its cost, as the row records it; streams, unpriced models and failures do not', () => {
    for (const kind of ['success JSON', 'anthropic SDK message']) {
      const header = costHeaders.get(kind);
      expect(header, kind).toMatch(/^0\.\d+$/);
      expect(Number(header)).toBeCloseTo(row(kind).cost_usd!, 10);
      expect(Number(header)).toBeCloseTo(calls.get(kind)!.want.cost!, 10);
    }
    expect(costHeaders.get('cache hit')).toBe('0');
    for (const kind of ['success stream', 'unpriced model', 'upstream 500']) expect(costHeaders.get(kind), kind).toBeNull();
  });
});

describe('what the rows say beyond the outcome', () => {
  test('a stream records its time to first token, within its latency', () => {
    const r = row('success stream');
    expect(r.ttft_ms).not.toBeNull();
    expect(r.ttft_ms!).toBeGreaterThan(0);
    expect(r.ttft_ms!).toBeLessThanOrEqual(r.latency_ms);
    expect(r.upstream_ms).not.toBeNull();
    expect(r).toMatchObject({ finish_reason: 'stop', response_body: 'one two three four' });
  });

  test('a client that leaves mid-stream: what was streamed is kept, estimated and priced', () => {
    const r = row('client disconnect mid-stream');
    expect(r.response_body.length).toBeGreaterThan(0);
    expect('a b c d e f g h i j'.startsWith(r.response_body)).toBe(true);
    expect(r.completion_tokens).toBeGreaterThan(0);
    expect(r.cost_usd).toBeGreaterThan(0);
    expect(r.ttft_ms).not.toBeNull();
  });

  test('a cache hit costs nothing and records what it saved; the first call was the miss', () => {
    expect(row('cache miss').cache_status).toBe('miss');
    const hit = row('cache hit');
    expect(hit.cache_status).toBe('hit');
    expect(hit.cost_saved_usd).toBeCloseTo(mini(3, 4), 12);
    expect(hit.upstream_ms).toBeNull();
  });

  test('refusals name their reason', () => {
    const limited = row('denied by rate limit');
    // the key's id and, beside it, the name it was declared with
    expect(limited).toMatchObject({ limit_decision: 'denied', project: 'acme', key_id: expect.stringMatching(/^cfg_/), key_name: 'limited' });
    expect(row('success JSON').key_name).toBe('');
    expect(JSON.parse(limited.limit_refused)).toEqual({ scope: 'key', id: limited.key_id, kind: 'requests', window: 'minute' });
    expect(row('success JSON').limit_refused).toBe('');
    expect(row('invalid: bad JSON').error_type).toBe('invalid_json');
    expect(row('invalid: unknown provider').error_type).toBe('unknown_provider');
    expect(row('invalid: body over WATCHLLM_MAX_BODY_MB').error_type).toBe('request_too_large');
    expect(row('timeout').error_type).toBe('upstream_timeout');
    expect(row('unreachable provider').error_type).toBe('upstream_unreachable');
    expect(row('unauthorized').error_type).toBe('invalid_gateway_key');
  });

  test('caller metadata is stored: user, properties, endpoint and surface', () => {
    expect(row('success JSON')).toMatchObject({ user: 'alice', properties: { team: 'search' }, surface: 'openai', endpoint: 'chat' });
    expect(row('anthropic SDK message')).toMatchObject({ surface: 'anthropic', endpoint: 'messages' });
  });
});

describe('secrets', () => {
  test('no provider or gateway key appears in any stored row; BYOK rows carry only the fingerprint', () => {
    const text = JSON.stringify(rows);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(row('success JSON').key_fingerprint).toBe(createHash('sha256').update(BYOK).digest('hex').slice(0, 12));
    expect(row('anthropic SDK message').key_fingerprint).toBe(createHash('sha256').update(BYOK_ANTHROPIC).digest('hex').slice(0, 12));
  });

  test('the same holds searched in ClickHouse, over every String column', async () => {
    const { client } = eventsOf(s.gateway);
    const cols = await client.query({
      query: `SELECT name FROM system.columns WHERE database = 'watchllm' AND table = 'requests' AND type IN ('String', 'LowCardinality(String)')`,
      format: 'JSONEachRow',
    });
    const names = (await cols.json<{ name: string }>()).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['request_body', 'response_body', 'error_message', 'key_fingerprint']));
    const where = [...names.map((n) => `position(\`${n}\`, {k:String}) > 0`), 'position(toString(properties), {k:String}) > 0'].join(' OR ');
    const hits = async (k: string) => {
      const rs = await client.query({ query: `SELECT count() AS n FROM watchllm.requests WHERE ${where}`, query_params: { k }, format: 'JSONEachRow' });
      return ((await rs.json<{ n: number }>())[0]?.n ?? -1);
    };
    // the search does find text that was stored (a prompt, a property value)
    expect(await hits('Say hello to me')).toBe(1);
    expect(await hits('search')).toBeGreaterThanOrEqual(1);
    for (const k of SECRETS) expect(await hits(k)).toBe(0);
  });
});
